// Package usecase is what the Chime slices (api/chime/*) share to run their use cases, and nothing
// else: the ports of the command path (Repository, Waiter), the one execute-and-wait sequence (Run),
// the own-account check, the shredding of removed users' keys, and the random tokens the slices hand
// out (only their SHA-256 is ever stored).
//
// Invariant (read-your-writes): a mutating call returns only after the read model that serves its
// reads has applied the appended events, or after ReadModelWait has passed; then the timeout is
// counted in belfry_read_your_writes_timeouts_total and the call still succeeds (the write is
// committed; failing would make SDK retries create duplicates), answering from the decided state — the
// command's resulting state and events — never from a read model that may still show the previous
// version or not yet hold a created item. Run is the only place that decides between the two.
package usecase
