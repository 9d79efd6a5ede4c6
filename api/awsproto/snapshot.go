package awsproto

import (
	"context"
	"net/http"
)

// SnapshotHeader names the snapshot of the read models (as of a past instant) that a read operation
// answers from; the official SDKs send it through a middleware that adds a request header.
const SnapshotHeader = "X-Belfry-Snapshot"

// Snapshots validates the snapshot a request names and returns the context its operation runs
// under, which makes the read models answer from it. An unknown snapshot is a KindNotFound error,
// one still building (or failed) a KindConflict one, each saying what to do.
type Snapshots interface {
	ReadFrom(ctx context.Context, name string) (context.Context, error)
}

// snapshot is ctx for op: unchanged without SnapshotHeader; with it, the snapshot's context for a
// read-only operation, and a refusal for any other (snapshots are read-only) or when the service
// serves none. Unknown operations keep their own answer.
func (s *Service) snapshot(ctx context.Context, r *http.Request, op Operation) (context.Context, error) {
	names := r.Header.Values(SnapshotHeader)
	if len(names) == 0 || op.unauthorized {
		return ctx, nil
	}
	switch {
	case len(names) > 1 || names[0] == "":
		return ctx, BadRequest(SnapshotHeader + " must name one snapshot")
	case !op.ReadOnly:
		return ctx, BadRequest("snapshots are read-only: " + op.Name + " changes state, so it cannot be sent with " + SnapshotHeader +
			"; send it without the header to act on the live state")
	case s.snapshots == nil:
		return ctx, BadRequest("this API serves no snapshots: send the request without " + SnapshotHeader)
	}
	sctx, err := s.snapshots.ReadFrom(ctx, names[0])
	if err != nil {
		return ctx, err
	}
	return sctx, nil
}
