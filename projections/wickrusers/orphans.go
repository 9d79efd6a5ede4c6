package wickrusers

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// GroupRef names a security group of a network.
type GroupRef struct{ NetworkID, GroupID string }

// OrphanGroups lists (at most limit) groups that still have users here but are no longer among the
// networks read model's groups: deleted groups whose users the group reactor has yet to move (or
// groups the networks read model has not applied yet; the reactor checks the network's stream).
// It reads the counters (rm.wickr_group_users), never the users.
func (s *Store) OrphanGroups(ctx context.Context, limit int) ([]GroupRef, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT gu.network_id, gu.group_id FROM rm.wickr_group_users gu
		WHERE gu.members > 0 AND NOT EXISTS (SELECT 1 FROM rm.wickr_security_groups g WHERE g.network_id = gu.network_id AND g.group_id = gu.group_id)
		ORDER BY 1, 2 LIMIT $1`), limit)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: orphan groups: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[GroupRef])
	if err != nil {
		return nil, fmt.Errorf("wickrusers: orphan groups: %w", err)
	}
	return out, nil
}
