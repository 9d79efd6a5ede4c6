package wickrnetworks

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// TrialsEnded returns the live networks still on the Premium free trial whose end is at or before
// now, oldest end first, at most limit of them: the work of the trial-expiry sweep.
func (s *Store) TrialsEnded(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT network_id FROM rm.wickr_networks
		WHERE trial AND status = 'Active' AND trial_expires_at <= $1 ORDER BY trial_expires_at, network_id LIMIT $2`), now, limit)
	if err != nil {
		return nil, fmt.Errorf("wickrnetworks: ended trials: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wickrnetworks: ended trials: %w", err)
	}
	return ids, nil
}
