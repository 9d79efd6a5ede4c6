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
//   - Snapshots (WithSnapshots, off unless configured) are a cache of the log, never a source of truth.
//     A load with nothing cached starts from the stream's snapshot only when its codec version is the
//     codec's, it decodes, and the stream still holds the snapshot's last event at its revision (the
//     read starts there and compares event ids, so a deleted, recreated or foreign stream is caught);
//     anything else folds the stream from its first event, and a snapshot store that fails only costs
//     that fold. A snapshot is taken when a stream has moved Every events past its last one (and not
//     more often than once per Interval by one repository): encoded under the stream's lock (Evolve
//     updates states in place) after the group's commands are answered, and written in the
//     background, at most one write per stream and a few per repository in flight.
//   - A client a Repository uses is closed with Close (lifetime.go), never with its own Close: group
//     commits and reads ahead may outlive their callers, and EventStore-Client-Go's Close is not safe
//     with a call in flight. Close waits for them; work that would start later fails with ErrClosing.
package eventstore
