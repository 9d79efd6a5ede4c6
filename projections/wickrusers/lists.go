package wickrusers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections"
)

// The queries of the users slice (ListUsers, GetUser, BatchLookupUserUname), the devices slice
// (ListDevicesForUser) and the group reactor (the roster blocks of a group's users).

// UserFilter is ListUsers' filters; an empty member does not filter. FirstName, LastName and
// Username match case-insensitively from the start of the value (a prefix, so the exact value too);
// Status is 1 (pending) or 2 (active), 0 for any.
type UserFilter struct {
	FirstName, LastName, Username, GroupID string
	Status                                 int
}

// User returns one (not deleted) user of a network.
func (s *Store) User(ctx context.Context, networkID, userID string) (User, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.wickr_users WHERE network_id = $1 AND user_id = $2 AND NOT deleted`), networkID, userID)
	if err != nil {
		return User{}, fmt.Errorf("wickrusers: user: %w", err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, domain.Wrapf(roster.ErrNotFound, "User %s not found in network %s", userID, networkID)
	}
	if err != nil {
		return User{}, fmt.Errorf("wickrusers: user: %w", err)
	}
	return u, nil
}

// likePrefix is a LIKE pattern that matches v's lower-case form as a prefix, with LIKE's wildcards
// in v escaped.
func likePrefix(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(v)) + "%"
}

// Users lists the (not deleted) users of a network that pass the filter, a keyset page in the sort
// asked (UserSorts), the user id breaking ties.
func (s *Store) Users(ctx context.Context, networkID string, f UserFilter, p UserPage) ([]User, string, error) {
	var cols []string
	for _, field := range p.Sort {
		c, ok := UserSorts[field]
		if !ok {
			return nil, "", wickr.Invalid("sortFields", "cannot sort by %q", field)
		}
		cols = append(cols, c)
	}
	sort := strings.Join(p.Sort, "+") + map[bool]string{true: " DESC", false: " ASC"}[p.Desc]
	k, err := projections.DecodeKeyset(p.NextToken, sort)
	if err != nil {
		return nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	conds := []string{"network_id = $1", "NOT deleted"}
	args := []any{networkID, p.Limit + 1}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.FirstName != "" {
		add(`lower(first_name) LIKE $%d`, likePrefix(f.FirstName))
	}
	if f.LastName != "" {
		add(`lower(last_name) LIKE $%d`, likePrefix(f.LastName))
	}
	if f.Username != "" {
		add(`username LIKE $%d`, likePrefix(f.Username))
	}
	if f.GroupID != "" {
		add(`group_id = $%d`, f.GroupID)
	}
	if f.Status != 0 {
		add(`status = $%d`, f.Status)
	}
	where, kargs, order := projections.KeysetQuery(k, cols, "user_id", p.Desc, len(args)+1)
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.wickr_users WHERE `+strings.Join(conds, " AND ")+` AND `+where+
		` ORDER BY `+order+` LIMIT $2`), append(args, kargs...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrusers: users: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanUser)
	if err != nil {
		return nil, "", fmt.Errorf("wickrusers: users: %w", err)
	}
	return page(out, p, sort)
}

// Unames resolves username hashes (unames) to the usernames of a network's (not deleted) users; an
// unknown uname is absent from the map.
func (s *Store) Unames(ctx context.Context, networkID string, unames []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT uname, username FROM rm.wickr_users WHERE network_id = $1 AND uname = ANY($2) AND NOT deleted`),
		networkID, unames)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: unames: %w", err)
	}
	out := map[string]string{}
	var uname, username string
	if _, err := pgx.ForEachRow(rows, []any{&uname, &username}, func() error { out[uname] = username; return nil }); err != nil {
		return nil, fmt.Errorf("wickrusers: unames: %w", err)
	}
	return out, nil
}

// Device is one row of rm.wickr_user_devices.
type Device struct {
	AppID, Type, Status string
	Created, LastLogin  time.Time
}

// Devices returns every device of a user (a user has few), by app id.
func (s *Store) Devices(ctx context.Context, networkID, userID string) ([]Device, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT app_id, type, status, created_at, last_login FROM rm.wickr_user_devices
		WHERE network_id = $1 AND user_id = $2 ORDER BY app_id`), networkID, userID)
	if err != nil {
		return nil, fmt.Errorf("wickrusers: devices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Device, error) {
		var d Device
		return d, r.Scan(&d.AppID, &d.Type, &d.Status, &d.Created, &d.LastLogin)
	})
	if err != nil {
		return nil, fmt.Errorf("wickrusers: devices: %w", err)
	}
	return out, nil
}
