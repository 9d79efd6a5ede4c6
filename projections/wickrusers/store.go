package wickrusers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/projections"
)

// User is one row of rm.wickr_users.
type User struct {
	NetworkID, UserID, Username, FirstName, LastName, GroupID, InviteCode string
	Status, Failures                                                      int
	Suspended, CodeValidation                                             bool
	InviteExpiresAt, LastLogin, LockedUntil                               time.Time // zero: none
	Created, Modified                                                     time.Time
}

// Counts are a network's user counters.
type Counts struct{ Pending, Active, Suspended int }

// Store answers the queries of the users read model.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Counts returns a network's counters (zero for a network without users): one row by its key.
func (s *Store) Counts(ctx context.Context, networkID string) (Counts, error) {
	var c Counts
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT pending, active, suspended FROM rm.wickr_user_counts WHERE network_id = $1`), networkID).
		Scan(&c.Pending, &c.Active, &c.Suspended)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("wickrusers: counts: %w", err)
	}
	return c, nil
}

// GroupMembers returns the number of (not deleted) users of each of a network's groups.
func (s *Store) GroupMembers(ctx context.Context, networkID string, groupIDs []string) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT group_id, members FROM rm.wickr_group_users WHERE network_id = $1 AND group_id = ANY($2)`), networkID, groupIDs)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: group members: %w", err)
	}
	out := map[string]int{}
	var id string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("wickrusers: group members: %w", err)
	}
	return out, nil
}

const userCols = `network_id, user_id, username, first_name, last_name, group_id, invite_code, status, failures, suspended, code_validation,
	invite_expires_at, last_login, locked_until, created_at, modified`

func scanUser(row pgx.CollectableRow) (User, error) {
	var u User
	var inv, last, locked *time.Time
	err := row.Scan(&u.NetworkID, &u.UserID, &u.Username, &u.FirstName, &u.LastName, &u.GroupID, &u.InviteCode, &u.Status, &u.Failures,
		&u.Suspended, &u.CodeValidation, &inv, &last, &locked, &u.Created, &u.Modified)
	for _, p := range []struct {
		src *time.Time
		dst *time.Time
	}{{inv, &u.InviteExpiresAt}, {last, &u.LastLogin}, {locked, &u.LockedUntil}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	return u, err
}

// UserSorts are the users' sort fields (the model's sortFields values) and their columns.
var UserSorts = map[string]string{"username": "username", "firstName": "first_name", "lastName": "last_name",
	"status": "status::text", "groupId": "group_id"}

// UserPage is a page request over users: sort fields (joined by '+' on the wire), direction,
// nextToken, size.
type UserPage struct {
	Sort      []string
	Desc      bool
	NextToken string
	Limit     int
}

// GroupUsers lists the (not deleted) users of a security group.
func (s *Store) GroupUsers(ctx context.Context, networkID, groupID string, p UserPage) ([]User, string, error) {
	var cols []string
	for _, f := range p.Sort {
		c, ok := UserSorts[f]
		if !ok {
			return nil, "", wickr.Invalid("sortFields", "cannot sort by %q", f)
		}
		cols = append(cols, c)
	}
	sort := strings.Join(p.Sort, "+") + map[bool]string{true: " DESC", false: " ASC"}[p.Desc]
	k, err := projections.DecodeKeyset(p.NextToken, sort)
	if err != nil {
		return nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	where, args, order := projections.KeysetQuery(k, cols, "user_id", p.Desc, 4)
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.wickr_users
		WHERE network_id = $1 AND group_id = $2 AND NOT deleted AND `+where+` ORDER BY `+order+` LIMIT $3`),
		append([]any{networkID, groupID, p.Limit + 1}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrusers: group users: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanUser)
	if err != nil {
		return nil, "", fmt.Errorf("wickrusers: group users: %w", err)
	}
	return page(out, p, sort)
}

// page cuts a result read with one row more than p.Limit to the page and the token of the next one
// ("" on the last page).
func page(out []User, p UserPage, sort string) ([]User, string, error) {
	if len(out) <= p.Limit {
		return out, "", nil
	}
	out = out[:p.Limit]
	last := out[p.Limit-1]
	next := projections.Keyset{Sort: sort, ID: last.UserID}
	for _, f := range p.Sort {
		next.Keys = append(next.Keys, sortValue(last, f))
	}
	return out, next.Token(), nil
}

// sortValue is a user's value of a sort field, as its column compares.
func sortValue(u User, field string) string {
	switch field {
	case "firstName":
		return u.FirstName
	case "lastName":
		return u.LastName
	case "status":
		return fmt.Sprint(u.Status)
	case "groupId":
		return u.GroupID
	}
	return u.Username
}

// GroupBlocks returns, for each roster block that holds (not deleted) users of a group, the first
// user id of the block (roster.StreamName names the block's stream from any of its ids).
func (s *Store) GroupBlocks(ctx context.Context, networkID, groupID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT DISTINCT (user_id::bigint / $3) * $3 FROM rm.wickr_users
		WHERE network_id = $1 AND group_id = $2 AND NOT deleted ORDER BY 1`), networkID, groupID, wickr.RosterBlockSize)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: group blocks: %w", err)
	}
	firsts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("wickrusers: group blocks: %w", err)
	}
	out := make([]string, len(firsts))
	for i, f := range firsts {
		out[i] = fmt.Sprint(f)
	}
	return out, nil
}
