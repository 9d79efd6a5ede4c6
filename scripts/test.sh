#!/usr/bin/env bash
# Runs every test: gofmt, go vet and staticcheck (staticcheck.conf), then the whole suite with the race detector. Tests start
# their own private PostgreSQL clusters (see infra/pgcluster/pgtest), so nothing needs to run first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go tool staticcheck ./...
go test -race -count=1 -timeout 30m "$@" ./...
