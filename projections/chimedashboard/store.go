package chimedashboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// Store answers the dashboard queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrNoAccount is an account the read model does not know.
var ErrNoAccount = errors.New("chimedashboard: unknown account")

// Owner returns an account's AWS account and whether it was deleted (ErrNoAccount when unknown).
func (s *Store) Owner(ctx context.Context, accountID string) (awsAccountID string, deleted bool, err error) {
	err = s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT aws_account_id, deleted FROM rm.chime_dash_accounts WHERE account_id = $1`),
		accountID).Scan(&awsAccountID, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, ErrNoAccount
	}
	if err != nil {
		return "", false, fmt.Errorf("chimedashboard: owner: %w", err)
	}
	return awsAccountID, deleted, nil
}

// Day is one day of the dashboard.
type Day struct {
	Date                                                 time.Time
	RegisteredUsers, ActiveUsers, MeetingsHeld, ChatSent int
}

// Dashboard is an account's figures over a range of days: each day's, and the range's (registered
// users at its end, distinct active users over it, the sums of the flows).
type Dashboard struct {
	Days  []Day
	Range Day
}

// Dashboard returns an account's figures for the UTC days from..to (the caller bounds their number).
func (s *Store) Dashboard(ctx context.Context, accountID string, from, to time.Time) (Dashboard, error) {
	var out Dashboard
	var level int
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT registered FROM rm.chime_dash_days WHERE account_id = $1 AND day < $2
		ORDER BY day DESC LIMIT 1`), accountID, from).Scan(&level)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("chimedashboard: level: %w", err)
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT day, registered, active_users, meetings_held, chat_sent FROM rm.chime_dash_days
		WHERE account_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`), accountID, from, to)
	if err != nil {
		return out, fmt.Errorf("chimedashboard: days: %w", err)
	}
	stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Day, error) {
		var d Day
		err := row.Scan(&d.Date, &d.RegisteredUsers, &d.ActiveUsers, &d.MeetingsHeld, &d.ChatSent)
		d.Date = d.Date.UTC()
		return d, err
	})
	if err != nil {
		return out, fmt.Errorf("chimedashboard: days: %w", err)
	}
	for d := day(from); !d.After(to); d = d.AddDate(0, 0, 1) {
		cur := Day{Date: d, RegisteredUsers: level}
		if len(stored) > 0 && stored[0].Date.Equal(d) {
			cur, stored = stored[0], stored[1:]
		}
		level = cur.RegisteredUsers
		out.Days = append(out.Days, cur)
		out.Range.MeetingsHeld += cur.MeetingsHeld
		out.Range.ChatSent += cur.ChatSent
	}
	out.Range.Date, out.Range.RegisteredUsers = day(from), level
	err = s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT count(DISTINCT user_id) FROM rm.chime_dash_active
		WHERE account_id = $1 AND day >= $2 AND day <= $3`), accountID, from, to).Scan(&out.Range.ActiveUsers)
	if err != nil {
		return out, fmt.Errorf("chimedashboard: active users: %w", err)
	}
	return out, nil
}

// BillableDay is one Pro user billable on one day, with the number of qualifying meetings it hosted.
type BillableDay struct {
	Date          time.Time
	UserID, Email string
	Meetings      int
}

// BillableDays returns an account's billable Pro days from..to, by day then user id, after the
// (day, user id) key given (zero: from the start), at most limit.
func (s *Store) BillableDays(ctx context.Context, accountID string, from, to time.Time, afterDay time.Time, afterUser string, limit int) ([]BillableDay, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT day, user_id, email, meetings FROM rm.chime_billable_days
		WHERE account_id = $1 AND day >= $2 AND day <= $3 AND (day, user_id) > ($4::date, $5::text) ORDER BY day, user_id LIMIT $6`),
		accountID, from, to, afterDay, afterUser, limit)
	if err != nil {
		return nil, fmt.Errorf("chimedashboard: billable days: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (BillableDay, error) {
		var b BillableDay
		err := row.Scan(&b.Date, &b.UserID, &b.Email, &b.Meetings)
		b.Date = b.Date.UTC()
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimedashboard: billable days: %w", err)
	}
	return out, nil
}
