#!/usr/bin/env bash
# Runs every test: gofmt, go vet and staticcheck (staticcheck.conf), then the whole suite with the race detector. Tests start
# their own private PostgreSQL clusters (see infra/pgcluster/pgtest), so nothing needs to run first; PostgreSQL's binaries
# and Chromium (for the browser test of live meetings) are installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go tool staticcheck ./...
go test -race -count=1 -timeout 30m "$@" ./...
