package chimeaccounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// DirectoryEntry is what other Chime users may see of a live user: its name (the display name given
// at registration, else the username, else the e-mail address), e-mail address and Business Calling number. It holds no
// credential and no PIN.
type DirectoryEntry struct {
	UserID, AccountID, Name, Email string
	PhoneNumber                    *string
}

const directoryCols = `u.user_id, u.account_id, COALESCE(NULLIF(u.display_name, ''), NULLIF(u.username, ''), u.email), u.email, u.primary_number`

func scanDirectoryEntry(row pgx.CollectableRow) (DirectoryEntry, error) {
	var d DirectoryEntry
	err := row.Scan(&d.UserID, &d.AccountID, &d.Name, &d.Email, &d.PhoneNumber)
	return d, err
}

// DirectoryByEmail returns the live users of live accounts with that e-mail address (at most one per
// account), in account order.
func (s *Store) DirectoryByEmail(ctx context.Context, email string) ([]DirectoryEntry, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+directoryCols+` FROM rm.chime_users u
		JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.email = lower($1) AND NOT u.removed AND a.deleted_at IS NULL ORDER BY u.account_id`), email)
	list, err := pgx.CollectRows(rows, scanDirectoryEntry)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: directory by e-mail: %w", err)
	}
	return list, nil
}

// DirectoryEntries returns the live users among ids (users removed since, or of deleted accounts, are
// absent from the map).
func (s *Store) DirectoryEntries(ctx context.Context, ids []string) (map[string]DirectoryEntry, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+directoryCols+` FROM rm.chime_users u
		JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.user_id = ANY($1) AND NOT u.removed AND a.deleted_at IS NULL`), ids)
	list, err := pgx.CollectRows(rows, scanDirectoryEntry)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: directory entries: %w", err)
	}
	out := make(map[string]DirectoryEntry, len(list))
	for _, d := range list {
		out[d.UserID] = d
	}
	return out, nil
}

// Callee is the live user a Business Calling number is assigned to, and whether it may take calls.
type Callee struct {
	UserID, AccountID, Email string
	InboundCalling           bool
}

// CalleeByNumber returns the live user whose primary number is e164, and false when there is none.
// The number is found by its key in the numbers read model (rm.chime_phone_numbers) and must agree
// with the user's row.
func (s *Store) CalleeByNumber(ctx context.Context, e164 string) (Callee, bool, error) {
	var c Callee
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT u.user_id, u.account_id, u.email, u.inbound_calling FROM rm.chime_users u
		JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.user_id = (SELECT n.user_id FROM rm.chime_phone_numbers n WHERE n.e164 = $1 AND n.deleted_at IS NULL)
		AND u.primary_number = $1 AND NOT u.removed AND a.deleted_at IS NULL`), e164).Scan(&c.UserID, &c.AccountID, &c.Email, &c.InboundCalling)
	if errors.Is(err, pgx.ErrNoRows) {
		return Callee{}, false, nil
	}
	if err != nil {
		return Callee{}, false, fmt.Errorf("chimeaccounts: callee by number: %w", err)
	}
	return c, true, nil
}

// Index answers which accounts exist and which are Enterprise accounts (the retention purge, the
// legal-hold export), over the active generation's views.
type Index struct{ pool *pgxpool.Pool }

// NewIndex returns an index.
func NewIndex(pool *pgxpool.Pool) *Index { return &Index{pool: pool} }

// EnterpriseAccounts returns the ids of the live Enterprise accounts (every type but Team).
func (s *Index) EnterpriseAccounts(ctx context.Context) (map[string]bool, error) {
	rows, _ := s.pool.Query(ctx, `SELECT account_id FROM rm.chime_accounts WHERE account_type <> 'Team' AND deleted_at IS NULL`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: enterprise accounts: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// AccountKnown reports whether an account exists or existed (deleted ones too: a legal hold outlives
// the account).
func (s *Index) AccountKnown(ctx context.Context, accountID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT EXISTS (SELECT 1 FROM rm.chime_accounts WHERE account_id = $1)`), accountID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("chimeaccounts: account: %w", err)
	}
	return ok, nil
}

// UserKnown reports whether userID is or was a user of account accountID (deleted users too).
func (s *Index) UserKnown(ctx context.Context, accountID, userID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT EXISTS (SELECT 1 FROM rm.chime_users WHERE user_id = $1 AND account_id = $2)`),
		userID, accountID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("chimeaccounts: user: %w", err)
	}
	return ok, nil
}

// Enterprise says which of the accounts ids are live Enterprise accounts.
func (s *Index) Enterprise(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT account_id FROM rm.chime_accounts WHERE account_id = ANY($1) AND account_type <> 'Team'
		AND deleted_at IS NULL`), ids)
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: enterprise accounts: %w", err)
	}
	out := make(map[string]bool, len(list))
	for _, id := range list {
		out[id] = true
	}
	return out, nil
}
