package wickrusers

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// MaxSignInCandidates bounds the users one sign-in e-mail address is tried against (the same
// address may be a user of several networks).
const MaxSignInCandidates = 10

// ByUsername returns the (not deleted) users whose username is the normalized username, in the
// network networkID or, when it is "", in every network (at most MaxSignInCandidates, oldest first):
// the candidates of a client sign-in.
func (s *Store) ByUsername(ctx context.Context, username, networkID string) ([]User, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.wickr_users
		WHERE username = $1 AND ($2 = '' OR network_id = $2) AND NOT deleted ORDER BY created_at, network_id LIMIT $3`),
		username, networkID, MaxSignInCandidates)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: by username: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: by username: %w", err)
	}
	return out, nil
}
