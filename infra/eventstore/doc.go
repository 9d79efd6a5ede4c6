// Package eventstore is Belfry's only door to the event store: EventStore-Client-Go v4 against the
// embedded eventlog server or a KurrentDB cluster.
//
// Invariants:
//   - Commands run on one path: load the stream, fold it with Evolve, Decide, append with the exact
//     expected revision (NoStream for a new stream, never Any), and on WrongExpectedVersion reload and
//     retry up to MaxRetries times; then the command fails with a KindConflict domain error.
//   - Every event carries an Envelope in its metadata (event id, occurred-at, actor, request id, source
//     IP, user agent, correlation and causation ids, schema version).
//   - A Repository caches folded states by stream and revision. Load reads the stream on from the
//     cached revision, and so is every refusal or no-op decided (a stream found deleted is forgotten
//     and folds from nothing). A lone command on a cached stream is decided on
//     the cached state without reading: its append's exact expected revision proves that state
//     current, and WrongExpectedVersion (another writer appended) sends it back to a fresh read.
//     Peek alone answers from the cache without reading, so it may be stale: use it only for facts
//     that never change once set.
//   - The cache assumes that nobody truncates a stream a Repository writes (soft delete, $tb,
//     $maxCount, $maxAge; Belfry never does): revisions continue across a truncation, so a cached
//     state of a stream that was deleted and then appended to again by another client keeps the
//     deleted events' effects for as long as it stays cached — the expected revision cannot tell.
package eventstore
