#!/usr/bin/env bash
# Builds Belfry and runs `belfry serve` with every default: a private PostgreSQL cluster under
# ./.belfry, the embedded event log on 127.0.0.1:2113, the HTTP API on 127.0.0.1:8080, and a first
# admin access key printed once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
go build -o belfry ./cmd/belfry
exec ./belfry serve "$@"
