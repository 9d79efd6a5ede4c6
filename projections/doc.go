// Package projections builds Postgres read models from filtered $all subscriptions.
//
// Invariants:
//   - A projection is a named handler with a schema version. Generation g of projection p lives in its
//     own Postgres schema "rm_<p>_g<g>"; the stable schema "rm" holds views onto the active generation,
//     and every reader queries "rm". Switching generation replaces the views in one transaction.
//   - Each batch of events is applied in one pgx transaction together with the checkpoint of its
//     generation, so a crash mid-batch replays the whole batch and duplicate delivery changes nothing
//     (a batch at or below the stored checkpoint is skipped).
//   - A runner checks, inside each batch's transaction, that its generation is still the active one;
//     if a rebuild switched generations, the runner stops and resumes on the new one.
//   - Rebuild builds generation g+1 from position 0 while g keeps serving reads, then switches.
//     Rebuilds never fire side effects: projections only write their own tables.
//   - One event never stalls a projection (live or rebuilding). A batch that fails deterministically
//     (Apply's own error, or a Postgres error about the data: SQLSTATE classes 22, 23, 42, …) is
//     applied again with each event in its own savepoint; an event that still fails is parked in
//     projections.parked_events by the transaction that moves the checkpoint past it, and the others
//     apply. Transient failures (lost connection, serialization failure, deadlock, shutdown) are
//     retried from the checkpoint and park nothing. Retry re-applies parked events after a fix.
//   - Every store qualifies its tables as "rm.<table>" and runs its query strings through SQL(ctx, q),
//     which leaves them alone unless ctx names a snapshot (WithSnapshot): then "rm." becomes the
//     snapshot's schema, and the store answers as the read models were at the snapshot's instant.
//     Snapshots (snapshot.go) are built from position 0 up to that instant into schema "snap_<name>",
//     beside the live read models, which they never touch.
package projections
