// Package eventlog is Belfry's embedded event store: a gRPC server that speaks the EventStoreDB
// (KurrentDB) client protocol, so the unmodified EventStore-Client-Go v4 client works against it,
// with the log kept in Postgres (schema "eventlog").
//
// Invariants:
//   - One writer. One goroutine at a time holds the writer's turn: it validates expected revisions,
//     assigns positions and commits each group of requests in one statement, one implicit
//     transaction (group commit: an INSERT for one row, a binary COPY for more). Under load the
//     writer goroutine holds it; a request arriving while the log is idle is committed by the
//     goroutine that submitted it, without a hand-off. Positions are 1, 2, 3, … with no gaps,
//     and commit order equals position order, so a reader that has seen position p has seen every
//     position below p. A Postgres advisory lock (held on a dedicated connection for the life of the
//     Log) makes a second writer on the same database fail at Open with ErrLocked.
//   - An append is acknowledged only after its commit, so a crash loses no acknowledged append.
//     A client that retries with the same event ids gets the original result back and nothing is
//     stored twice (idempotent retry), as KurrentDB does: with an exact or NoStream expected
//     revision when the ids are stored where the revision says; with Any or StreamExists when they
//     are, in order, the last events of the stream.
//   - Every request is validated before it joins a group: stream names, event types and content
//     types are non-empty, at most MaxNameLength bytes, valid UTF-8 and free of NUL (what a
//     PostgreSQL text column stores faithfully); a message the protobuf decoder refuses (invalid
//     UTF-8 in a string field) is answered InvalidArgument for that call alone. Should PostgreSQL
//     still refuse a group's INSERT for its rows (nothing of it is then stored), its members are
//     re-run one by one, so one bad request never fails another.
//   - Every call needs the credentials (HTTP basic authentication in the "authorization" metadata,
//     esdb://user:password@host), except ServerFeatures.GetSupportedMethods, which the client makes
//     without them while connecting; anything else without them, or with wrong ones, is answered
//     Unauthenticated and changes nothing. The client sends credentials only over TLS, so the
//     server always serves TLS: the operator's certificate, or a self-signed one for localhost and
//     the loopback addresses generated into Config.Dir beside the credentials (user "admin", a
//     random password, file mode 0600), both kept across restarts. An address beyond loopback is
//     refused without an operator's certificate.
//   - Each database's log has an identity, a random id generated into eventlog.store by its first
//     migration, which the server reports in the read-only stream StoreStream, so that a client can
//     check it reached the store of the database it opened.
//   - Commit position = prepare position = the event's position in $all.
//   - Soft delete writes {"$tb": last+1} (keeping the other keys) to the metadata stream "$$<name>";
//     reads then answer StreamNotFound until new events arrive, whose revisions continue from last+1.
//     Tombstone writes a "$streamDeleted" event at revision MaxInt64; every later read, append, delete
//     or tombstone of that stream fails with stream-deleted. $all keeps showing deleted events.
//     A metadata stream "$$<name>" is not deleted or tombstoned itself (InvalidArgument).
//   - Stream metadata ($tb, $maxCount, $maxAge) is honoured on stream reads and stream subscriptions'
//     catch-up; $all is unaffected (there is no scavenge).
//   - A forward read from past the end of a stream the writer appended to since the Log opened, and
//     that has no metadata stream and no tombstone, is answered empty without Postgres (heads.go): the
//     writer records a stream's end before it acknowledges an append to it, so a read that starts after
//     an append's answer sees it.
//   - Tamper evidence (package chain): the writer stores with every event its digest and the chain hash
//     linking it to the event before it, in the same statement as the event; rows stored by a version
//     without the chain are chained, in position order and resumably, before the first append after an
//     upgrade. With a signing key (Config.Dir's SigningKeyFile, generated on first start with its
//     public key PublicKeyFile beside it) a checkpoint (position, chain) is signed every
//     LogConfig.CheckpointEvery while the log grows and when it closes. Verify and VerifyExport
//     recompute everything and name each altered, removed or inserted event.
//   - One append request is at most MaxAppendSize bytes (1 MiB, KurrentDB's default) of data,
//     metadata and twice each event type, as KurrentDB counts them; larger requests fail with
//     InvalidArgument and store nothing. A read's filter holds at most 1000 prefixes of
//     at most MaxNameLength bytes and a regex of at most 32 KiB; more is answered InvalidArgument.
package eventlog
