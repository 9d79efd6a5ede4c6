// Package snapshots is the Belfry admin API's snapshots of the read models as of a past instant
// (signing name "belfry"), for auditors without shell access:
//
//	POST   /belfry/v1/snapshots         {"AsOf": "<RFC 3339 time | $all position>", "Name": "..."}
//	GET    /belfry/v1/snapshots         every snapshot, with its status and progress
//	GET    /belfry/v1/snapshots/{name}  one snapshot
//	DELETE /belfry/v1/snapshots/{name}  drop it
//
// A ready snapshot is read through the same admin APIs by sending its name in the
// X-Belfry-Snapshot header (see api/awsproto); this slice only manages them.
//
// Invariants: POST answers 202 with the snapshot as registered (status building, or ready when a
// snapshot of that name and instant already was) and builds it in the background; a bad AsOf or
// name is refused with 400 and nothing is registered; a name already used for another instant is
// refused with 409; GET and DELETE of an unknown snapshot answer 404.
package snapshots

import (
	"context"
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/projections"
)

// Registry registers, builds, lists and drops snapshots (cmd/belfry wires projections.Snapshots
// with a background builder).
type Registry interface {
	// Begin registers snapshot name as of asOf and starts building it in the background.
	Begin(ctx context.Context, name, asOf string) (projections.Snapshot, error)
	Get(ctx context.Context, name string) (projections.Snapshot, error)
	List(ctx context.Context) ([]projections.Snapshot, error)
	// Delete stops the snapshot's build, if it runs here, and drops it.
	Delete(ctx context.Context, name string) error
}

// Operations are the snapshot operations of the Belfry admin API.
func Operations(r Registry) []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateSnapshot", Method: http.MethodPost, Path: "/belfry/v1/snapshots", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ AsOf, Name *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.AsOf == nil {
				return 0, nil, awsproto.BadRequest("AsOf is required: an RFC 3339 time (2026-01-02T15:04:05Z) or a $all position")
			}
			sn, err := r.Begin(k.Ctx, awsproto.Deref(in.Name), *in.AsOf)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, map[string]any{"Snapshot": sn}, nil
		}},
		{Name: "ListSnapshots", Method: http.MethodGet, Path: "/belfry/v1/snapshots", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			all, err := r.List(k.Ctx)
			if all == nil {
				all = []projections.Snapshot{}
			}
			return http.StatusOK, map[string]any{"Snapshots": all}, err
		}},
		{Name: "GetSnapshot", Method: http.MethodGet, Path: "/belfry/v1/snapshots/:name", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			sn, err := r.Get(k.Ctx, k.Param("name"))
			return http.StatusOK, map[string]any{"Snapshot": sn}, err
		}},
		{Name: "DeleteSnapshot", Method: http.MethodDelete, Path: "/belfry/v1/snapshots/:name", Fn: func(k *awsproto.Call) (int, any, error) {
			return http.StatusNoContent, nil, r.Delete(k.Ctx, k.Param("name"))
		}},
	}
}
