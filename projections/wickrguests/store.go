package wickrguests

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/projections"
)

// Store answers the queries of the guests read model.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Page is a page request: one sort field, direction, nextToken, size.
type Page struct {
	Sort      string
	Desc      bool
	NextToken string
	Limit     int
}

// Blocked is one blocked guest (the model's BlockedGuestUser); Modified is RFC 3339 in UTC.
type Blocked struct{ Username, UsernameHash, Admin, Modified string }

// Guest is one guest seen in a billing period (the model's GuestUser).
type Guest struct{ Username, UsernameHash, BillingPeriod string }

// Month is a billing period's count of guests (the model's GuestUserHistoryCount); Month is the
// billing period ('YYYY-MM'), which the API writes as the model's 'YYYY_MM'.
type Month struct {
	Month string
	Count int
}

const modifiedText = `to_char(modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`

// blockedSorts and guestSorts map the model's sortFields values to their (text) columns.
var (
	blockedSorts = map[string]string{"username": "username", "admin": "admin", "modified": modifiedText}
	guestSorts   = map[string]string{"username": "username", "billingPeriod": "billing_period"}
)

func likePrefix(v string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(v)) + "%"
}

// query runs one keyset page: cols are the selected text columns (the sort column among them, by
// its index in cols), filters ANDed to the network's rows.
func (s *Store) query(ctx context.Context, table, sortCol string, sortIdx int, cols []string, filters map[string]string, networkID string, p Page) ([][]string, string, error) {
	sort := p.Sort + map[bool]string{true: " DESC", false: " ASC"}[p.Desc]
	k, err := projections.DecodeKeyset(p.NextToken, sort)
	if err != nil {
		return nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	conds, args := []string{"network_id = $1"}, []any{networkID, p.Limit + 1}
	for cond, v := range filters {
		if v != "" {
			args = append(args, v)
			conds = append(conds, fmt.Sprintf(cond, len(args)))
		}
	}
	where, kargs, order := projections.KeysetQuery(k, []string{sortCol}, "username_hash", p.Desc, len(args)+1)
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM rm.`+table+` WHERE `+strings.Join(conds, " AND ")+
		` AND `+where+` ORDER BY `+order+` LIMIT $2`), append(args, kargs...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrguests: %s: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		return vals, r.Scan(ptrs...)
	})
	if err != nil {
		return nil, "", fmt.Errorf("wickrguests: %s: %w", table, err)
	}
	if len(out) <= p.Limit {
		return out, "", nil
	}
	out = out[:p.Limit]
	last := out[p.Limit-1]
	return out, projections.Keyset{Sort: sort, Keys: []string{last[sortIdx]}, ID: last[1]}.Token(), nil
}

// BlockedGuests lists a network's blocked guests; username and admin filter by a case-insensitive
// prefix ("" for any). Sorts: username, admin, modified.
func (s *Store) BlockedGuests(ctx context.Context, networkID, username, admin string, p Page) ([]Blocked, string, error) {
	col, ok := blockedSorts[p.Sort]
	if !ok {
		return nil, "", wickr.Invalid("sortFields", "cannot sort by %q", p.Sort)
	}
	idx := map[string]int{"username": 0, "admin": 2, "modified": 3}[p.Sort]
	rows, next, err := s.query(ctx, "wickr_guest_blocks", col, idx, []string{"username", "username_hash", "admin", modifiedText},
		map[string]string{`lower(username) LIKE $%d`: prefixOrEmpty(username), `lower(admin) LIKE $%d`: prefixOrEmpty(admin)}, networkID, p)
	out := make([]Blocked, len(rows))
	for i, r := range rows {
		out[i] = Blocked{Username: r[0], UsernameHash: r[1], Admin: r[2], Modified: r[3]}
	}
	return out, next, err
}

// Guests lists the guests a network's users communicated with; username filters by a
// case-insensitive prefix, billingPeriod ('YYYY-MM') exactly ("" for any). Sorts: username,
// billingPeriod.
func (s *Store) Guests(ctx context.Context, networkID, username, billingPeriod string, p Page) ([]Guest, string, error) {
	col, ok := guestSorts[p.Sort]
	if !ok {
		return nil, "", wickr.Invalid("sortFields", "cannot sort by %q", p.Sort)
	}
	idx := map[string]int{"username": 0, "billingPeriod": 2}[p.Sort]
	rows, next, err := s.query(ctx, "wickr_guest_sightings", col, idx, []string{"username", "username_hash", "billing_period"},
		map[string]string{`lower(username) LIKE $%d`: prefixOrEmpty(username), `billing_period = $%d`: billingPeriod}, networkID, p)
	out := make([]Guest, len(rows))
	for i, r := range rows {
		out[i] = Guest{Username: r[0], UsernameHash: r[1], BillingPeriod: r[2]}
	}
	return out, next, err
}

func prefixOrEmpty(v string) string {
	if v == "" {
		return ""
	}
	return likePrefix(v)
}

// History counts the guests of each billing period from since ('YYYY-MM') on, oldest first.
func (s *Store) History(ctx context.Context, networkID, since string) ([]Month, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT billing_period, count(*) FROM rm.wickr_guest_sightings
		WHERE network_id = $1 AND billing_period >= $2 GROUP BY billing_period ORDER BY billing_period`), networkID, since)
	if err != nil {
		return nil, fmt.Errorf("wickrguests: history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Month, error) {
		var m Month
		return m, r.Scan(&m.Month, &m.Count)
	})
	if err != nil {
		return nil, fmt.Errorf("wickrguests: history: %w", err)
	}
	return out, nil
}

// Sighting is the username of a guest the network's users communicated with (false: none).
func (s *Store) Sighting(ctx context.Context, networkID, usernameHash string) (string, bool, error) {
	var username string
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT username FROM rm.wickr_guest_sightings WHERE network_id = $1 AND username_hash = $2 LIMIT 1`),
		networkID, usernameHash).Scan(&username)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("wickrguests: sighting: %w", err)
	}
	return username, true, nil
}
