// Package eventstore is Belfry's only door to the event store: EventStore-Client-Go v4 against the
// embedded eventlog server or a KurrentDB cluster.
//
// Invariants:
//   - Commands run on one path: load the stream, fold it with Evolve, Decide, append with the exact
//     expected revision (NoStream for a new stream, never Any), and on WrongExpectedVersion reload and
//     retry up to MaxRetries times; then the command fails with a KindConflict domain error.
//   - Every event carries an Envelope in its metadata (event id, occurred-at, actor, request id, source
//     IP, user agent, correlation and causation ids, schema version).
//   - A Repository caches folded states by stream and revision; a cached state is only a starting
//     point — the stream is still read from the cached revision on, so the cache can never be stale.
package eventstore
