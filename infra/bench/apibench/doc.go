// Package apibench holds the benchmarks that drive Belfry's HTTP API with the official AWS SDK on
// loopback: `belfry bench api` (the Chime user calls, paced and closed loop, beside a plain echo+pgx
// floor server measured in the same run) and `belfry bench audit-flood` (authenticated GetAccount
// while unauthenticated requests flood the audit pipeline). Client-side latencies are measured from
// each call's scheduled time; server-side ones are read from belfry_api_request_seconds.
//
// It is a package of its own, apart from infra/bench's event-store benchmark, because it needs a
// running Belfry server and the AWS SDK, and its drivers, floor server and latency statistics are
// shared by these two benchmarks only; the scratch database, CPU profile and report helpers come from
// infra/bench. The harness never imports package main or api: the server it measures is started by
// a StartFunc that cmd/belfry supplies (in this process), or as the child process ServeCommand names,
// so the arrow points from cmd/belfry to this package and never back.
package apibench
