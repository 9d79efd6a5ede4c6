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
# Race reports go to files and, when the suite fails, the first one is printed last, where a short tail of the output
# (CI's) still shows it; the test that failed is named in the output above all the same.
races=$(mktemp -d)
trap 'rm -rf "$races"' EXIT
status=0
# -parallel 4: the end-to-end tests mostly wait (on sockets, timers, Postgres), so four at a time on two
# cores halves the suite's time (cmd/belfry: 632 s at the default of 2, 348 s at 4); at 8 timing-bound
# tests (browsers, meetings) began to fail on this 2-core machine.
GORACE="${GORACE:-} log_path=$races/race" go test -race -count=1 -timeout 30m -parallel 4 "$@" ./... || status=$?
if [ "$status" -ne 0 ]; then
  reports=$(cat "$races"/race.* 2>/dev/null | grep -c '^WARNING: DATA RACE' || true)
  for f in "$races"/race.*; do
    [ -e "$f" ] || continue
    echo "=== $reports data race report(s); the first, at most 90 lines:"
    head -n 90 "$f"
    break
  done
fi
exit "$status"
