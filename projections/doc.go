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
package projections
