package api

import _ "embed"

// OpenAPI documents the console operations, Belfry's admin API, the client API and the ops endpoints
// (the Chime admin API itself is AWS's); GET /openapi.yaml serves it. A test keeps it in step with the
// routes the server mounts.
//
//go:embed openapi.yaml
var OpenAPI []byte
