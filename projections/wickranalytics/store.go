package wickranalytics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// Periods of the dashboard's aggregation (guide §20: daily, weekly or monthly).
const (
	Day   = "day"
	Week  = "week"
	Month = "month"
)

// Owner is who a network belongs to and its status.
type Owner struct{ AwsAccountID, Region, Status string }

// Levels are figures that stand at an instant.
type Levels struct {
	Registered, Pending, Suspended, Devices, Bots int
}

// Point is one period of a report: the levels at its end, its flows and its distinct active users.
type Point struct {
	Start, End                                     time.Time // End is the period's last day
	Levels                                         Levels
	Invited, Registrations, Deletions, ActiveUsers int
	Messages, Files                                int
	// Calls started in the period, DirectCalls of them 1:1; CallSeconds of the calls ended in it.
	Calls, DirectCalls int
	CallSeconds        int64
}

// Report is a network's figures over a range of periods, and its levels now.
type Report struct {
	Period  string
	Current Levels
	Points  []Point
}

// Store answers the analytics queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrNoNetwork is a network the read model does not know.
var ErrNoNetwork = errors.New("wickranalytics: unknown network")

// Owner returns a network's owner and status (ErrNoNetwork when the read model does not know it).
func (s *Store) Owner(ctx context.Context, networkID string) (Owner, error) {
	var o Owner
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT aws_account_id, region, status FROM rm.wickr_analytics_networks WHERE network_id = $1`),
		networkID).Scan(&o.AwsAccountID, &o.Region, &o.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNoNetwork
	}
	if err != nil {
		return o, fmt.Errorf("wickranalytics: owner: %w", err)
	}
	return o, nil
}

// PeriodStart is the first day of the period that holds day (weeks start on Monday).
func PeriodStart(period string, day time.Time) time.Time {
	y, m, d := day.UTC().Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch period {
	case Week:
		return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// next is the first day of the period after the one starting at start.
func next(period string, start time.Time) time.Time {
	switch period {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// Periods lists the starts of the periods from the one holding from to the one holding to.
func Periods(period string, from, to time.Time) []time.Time {
	var out []time.Time
	for p := PeriodStart(period, from); !p.After(to); p = next(period, p) {
		out = append(out, p)
	}
	return out
}

type dayRow struct {
	day                                              time.Time
	levels                                           Levels
	invited, registrations, deletions, messages, fil int
	calls, direct                                    int
	seconds                                          int64
}

// Report returns a network's figures for the periods from the one holding from to the one holding
// to (UTC days; the caller bounds their number): a few rows per period, never a count over users.
func (s *Store) Report(ctx context.Context, networkID, period string, from, to time.Time) (Report, error) {
	starts := Periods(period, from, to)
	r := Report{Period: period}
	if len(starts) == 0 {
		return r, nil
	}
	first, last := starts[0], next(period, starts[len(starts)-1])
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT registered, pending, suspended, devices, bots FROM rm.wickr_analytics_totals
		WHERE network_id = $1`), networkID).Scan(&r.Current.Registered, &r.Current.Pending, &r.Current.Suspended, &r.Current.Devices, &r.Current.Bots)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("wickranalytics: totals: %w", err)
	}
	// The levels before the range: the latest day before it.
	var base Levels
	err = s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT registered, pending, suspended, devices, bots FROM rm.wickr_analytics_days
		WHERE network_id = $1 AND day < $2 ORDER BY day DESC LIMIT 1`), networkID, first).
		Scan(&base.Registered, &base.Pending, &base.Suspended, &base.Devices, &base.Bots)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("wickranalytics: levels: %w", err)
	}
	days, err := s.days(ctx, networkID, first, last)
	if err != nil {
		return r, err
	}
	active, err := s.active(ctx, networkID, period, first, last)
	if err != nil {
		return r, err
	}
	for _, st := range starts {
		end := next(period, st)
		p := Point{Start: st, End: end.AddDate(0, 0, -1), Levels: base, ActiveUsers: active[st]}
		for len(days) > 0 && days[0].day.Before(end) {
			d := days[0]
			days = days[1:]
			p.Levels, p.Invited, p.Registrations, p.Deletions = d.levels, p.Invited+d.invited, p.Registrations+d.registrations, p.Deletions+d.deletions
			p.Messages, p.Files = p.Messages+d.messages, p.Files+d.fil
			p.Calls, p.DirectCalls, p.CallSeconds = p.Calls+d.calls, p.DirectCalls+d.direct, p.CallSeconds+d.seconds
		}
		base = p.Levels
		r.Points = append(r.Points, p)
	}
	return r, nil
}

func (s *Store) days(ctx context.Context, networkID string, first, last time.Time) ([]dayRow, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT day, registered, pending, suspended, devices, bots, invited, registrations, deletions, messages, files,
		calls, direct_calls, call_seconds FROM rm.wickr_analytics_days WHERE network_id = $1 AND day >= $2 AND day < $3 ORDER BY day`), networkID, first, last)
	if err != nil {
		return nil, fmt.Errorf("wickranalytics: days: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dayRow, error) {
		var d dayRow
		err := row.Scan(&d.day, &d.levels.Registered, &d.levels.Pending, &d.levels.Suspended, &d.levels.Devices, &d.levels.Bots,
			&d.invited, &d.registrations, &d.deletions, &d.messages, &d.fil, &d.calls, &d.direct, &d.seconds)
		d.day = d.day.UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("wickranalytics: days: %w", err)
	}
	return out, nil
}

func (s *Store) active(ctx context.Context, networkID, period string, first, last time.Time) (map[time.Time]int, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT start, users FROM rm.wickr_analytics_active
		WHERE network_id = $1 AND period = $2 AND start >= $3 AND start < $4`), networkID, period, first, last)
	if err != nil {
		return nil, fmt.Errorf("wickranalytics: active users: %w", err)
	}
	out := map[time.Time]int{}
	var start time.Time
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&start, &n}, func() error { out[start.UTC()] = n; return nil }); err != nil {
		return nil, fmt.Errorf("wickranalytics: active users: %w", err)
	}
	return out, nil
}

// LiveCalls lists up to limit calls not ended that started before before, oldest first (the crash
// sweep of api/wickr/calls: a call of a previous run).
func (s *Store) LiveCalls(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT call_id FROM rm.wickr_analytics_calls
		WHERE ended_at IS NULL AND started_at < $1 ORDER BY started_at LIMIT $2`), before, limit)
	if err != nil {
		return nil, fmt.Errorf("wickranalytics: live calls: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wickranalytics: live calls: %w", err)
	}
	return ids, nil
}
