// Package eventlog is Belfry's embedded event store: a gRPC server that speaks the EventStoreDB
// (KurrentDB) client protocol, so the unmodified EventStore-Client-Go v4 client works against it,
// with the log kept in Postgres (schema "eventlog").
//
// Invariants:
//   - One writer. A single goroutine validates expected revisions, assigns positions and commits each
//     group of requests in one statement, one implicit transaction (group commit: an INSERT for one
//     row, a binary COPY for more). Positions are 1, 2, 3, … with no gaps,
//     and commit order equals position order, so a reader that has seen position p has seen every
//     position below p. A Postgres advisory lock (held on a dedicated connection for the life of the
//     Log) makes a second writer on the same database fail at Open with ErrLocked.
//   - An append is acknowledged only after its commit, so a crash loses no acknowledged append.
//     A client that retries with the same event ids and an expected revision other than Any gets
//     the original result back (idempotent retry), as KurrentDB does.
//   - Commit position = prepare position = the event's position in $all.
//   - Soft delete writes {"$tb": last+1} (keeping the other keys) to the metadata stream "$$<name>";
//     reads then answer StreamNotFound until new events arrive, whose revisions continue from last+1.
//     Tombstone writes a "$streamDeleted" event at revision MaxInt64; every later read, append, delete
//     or tombstone of that stream fails with stream-deleted. $all keeps showing deleted events.
//   - Stream metadata ($tb, $maxCount, $maxAge) is honoured on stream reads and stream subscriptions'
//     catch-up; $all is unaffected (there is no scavenge).
//   - One append request is at most MaxAppendSize bytes of data plus metadata (1 MiB, KurrentDB's
//     default); larger requests fail with InvalidArgument and store nothing.
package eventlog
