#!/usr/bin/env bash
# Runs the event store benchmarks (figures as a table and as JSON under bench-results/).
# Extra flags go to `belfry bench eventstore` (e.g. --duration 10s --catchup-events 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
go build -o belfry ./cmd/belfry
exec ./belfry bench eventstore "$@"
