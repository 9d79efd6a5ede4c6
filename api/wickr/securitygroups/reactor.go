package securitygroups

import (
	"context"
	"time"

	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Orphans finds the groups that still have users in the users read model but are gone from the
// networks read model (wickrusers.Store implements it).
type Orphans interface {
	OrphanGroups(ctx context.Context, limit int) ([]wickrusers.GroupRef, error)
}

// orphanBatch bounds the groups one sweep handles.
const orphanBatch = 100

// MoveOrphans is the reactor that moves the users of deleted security groups to their network's
// default group (guide §3.2), as UserMoved events on their roster blocks. Delete moves them at once;
// this catches what that could miss — a crash between the deletion and the moves, users invited
// into the group while it was being deleted, a users read model that had not applied them yet — so
// it runs on every sweep. The network's stream decides whether a group is really gone (the read
// models may lag); MoveGroup is idempotent. It returns how many users it moved.
func (s *Service) MoveOrphans(ctx context.Context) (int, error) {
	refs, err := s.d.Orphans.OrphanGroups(ctx, orphanBatch)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, r := range refs {
		to, gone, err := s.deletedGroup(ctx, r.NetworkID, r.GroupID)
		if err != nil {
			return moved, err
		}
		if !gone {
			continue
		}
		n, err := s.moveUsers(ctx, r.NetworkID, r.GroupID, to)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// deletedGroup reads the network's stream: whether groupID is gone from a live network, and its
// default group.
func (s *Service) deletedGroup(ctx context.Context, networkID, groupID string) (string, bool, error) {
	var def string
	var gone bool
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(networkID), func(st network.State, _ time.Time) ([]network.Event, error) {
		_, exists := st.Groups[groupID]
		def, gone = st.DefaultGroupID, st.Live() && !exists
		return nil, nil
	})
	return def, gone, err
}

// moveUsers moves the users of a deleted group on each roster block that holds some.
func (s *Service) moveUsers(ctx context.Context, networkID, from, to string) (int, error) {
	blocks, err := s.d.Users.GroupBlocks(ctx, networkID, from)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, first := range blocks {
		d, _, err := s.d.Rosters.Command(roster.StreamName(networkID, first), roster.MoveGroup{NetworkID: networkID, From: from, To: to}).Do(ctx)
		if err != nil {
			return moved, err
		}
		moved += len(d.Events)
	}
	return moved, nil
}
