// Package bench measures the event store and the projection path, side by side with a plain pgx
// baseline measured in the same run against the same PostgreSQL (`belfry bench eventstore`), and
// holds what every Belfry benchmark shares: the scratch database, the CPU profile, the report's
// checks, tables and JSON file.
//
// The benchmarks that drive the HTTP API through the official SDK (`belfry bench api` and
// `belfry bench audit-flood`) live in the sub-package apibench: they need a running Belfry server,
// the AWS SDK and a floor server, none of which the event-store benchmark uses, and they share their
// drivers and latency statistics with each other only. Both packages are harnesses, not wiring:
// cmd/belfry parses the flags and supplies what only it can build (the migrations it runs, a server
// started in its own process), so the arrows point cmd/belfry -> infra/bench/apibench ->
// infra/bench and never back into package main or api.
package bench
