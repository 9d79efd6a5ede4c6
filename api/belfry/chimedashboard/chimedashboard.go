// Package chimedashboard is the Belfry admin API's Chime usage dashboard (guide §10) and billable Pro
// days (guide §0.2, §5.5) (signing name "belfry"):
//
//	GET /belfry/v1/chime/accounts/{accountId}/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD
//	GET /belfry/v1/chime/accounts/{accountId}/billable-days?from=…&to=…&max-results=N&next-token=T
//
// The dashboard answers per UTC day and over the range: registered users, active users (attended a
// meeting or sent a message), meetings held (ended) and chat messages sent; billable days list each
// Pro user who hosted a qualifying meeting that ended that day, from projections/chimedashboard.
//
// Invariants: only the account's own AWS account sees it, while the account is not deleted (any
// other is 404 NotFound). from ≤ to, at most MaxDays days (400 BadRequest otherwise); to defaults to
// today, from to DefaultDays-1 days before to. A billable-days page holds at most max-results
// (1-1000, default 100) rows; NextToken continues after the page's last row.
package chimedashboard

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	rm "github.com/belfry/belfry/projections/chimedashboard"
)

// Store answers the dashboard queries (projections/chimedashboard.Store).
type Store interface {
	Owner(ctx context.Context, accountID string) (awsAccountID string, deleted bool, err error)
	Dashboard(ctx context.Context, accountID string, from, to time.Time) (rm.Dashboard, error)
	BillableDays(ctx context.Context, accountID string, from, to, afterDay time.Time, afterUser string, limit int) ([]rm.BillableDay, error)
}

// Limits of a range.
const (
	MaxDays     = 366
	DefaultDays = 30
)

const dateLayout = "2006-01-02"

// Operations are the dashboard operations of the Belfry admin API; now is the clock of the default
// range.
func Operations(s Store, now func() time.Time) []awsproto.Operation {
	if now == nil {
		now = time.Now
	}
	return []awsproto.Operation{
		{Name: "GetChimeDashboard", Method: http.MethodGet, Path: "/belfry/v1/chime/accounts/:accountId/dashboard", ReadOnly: true,
			Fn: func(k *awsproto.Call) (int, any, error) { return dashboard(k, s, now()) }},
		{Name: "ListBillableProDays", Method: http.MethodGet, Path: "/belfry/v1/chime/accounts/:accountId/billable-days", ReadOnly: true,
			Fn: func(k *awsproto.Call) (int, any, error) { return billable(k, s, now()) }},
	}
}

// Day is one day (or the range) on the wire.
type Day struct {
	Date                                                         string `json:",omitempty"`
	RegisteredUsers, ActiveUsers, MeetingsHeld, ChatMessagesSent int
}

func wireDay(d rm.Day, date bool) Day {
	w := Day{RegisteredUsers: d.RegisteredUsers, ActiveUsers: d.ActiveUsers, MeetingsHeld: d.MeetingsHeld, ChatMessagesSent: d.ChatSent}
	if date {
		w.Date = d.Date.Format(dateLayout)
	}
	return w
}

func dashboard(k *awsproto.Call, s Store, now time.Time) (int, any, error) {
	id, from, to, err := scope(k, s, now)
	if err != nil {
		return 0, nil, err
	}
	d, err := s.Dashboard(k.Ctx, id, from, to)
	if err != nil {
		return 0, nil, err
	}
	days := make([]Day, len(d.Days))
	for i, x := range d.Days {
		days[i] = wireDay(x, true)
	}
	return http.StatusOK, map[string]any{"AccountId": id, "From": from.Format(dateLayout), "To": to.Format(dateLayout),
		"Totals": wireDay(d.Range, false), "Days": days}, nil
}

func billable(k *awsproto.Call, s Store, now time.Time) (int, any, error) {
	id, from, to, err := scope(k, s, now)
	if err != nil {
		return 0, nil, err
	}
	limit, err := k.MaxResults(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	var afterDay time.Time
	var afterUser string
	if tok := k.Query("next-token"); tok != "" {
		d, u, ok := strings.Cut(tok, "/")
		if afterDay, err = time.Parse(dateLayout, d); !ok || err != nil || u == "" {
			return 0, nil, awsproto.BadRequest("next-token is not a token this API returned")
		}
		afterUser = u
	}
	rows, err := s.BillableDays(k.Ctx, id, from, to, afterDay, afterUser, limit+1)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"AccountId": id, "From": from.Format(dateLayout), "To": to.Format(dateLayout)}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		out["NextToken"] = last.Date.Format(dateLayout) + "/" + last.UserID
	}
	days := make([]map[string]any, len(rows))
	for i, r := range rows {
		days[i] = map[string]any{"Date": r.Date.Format(dateLayout), "UserId": r.UserID, "Email": r.Email, "Meetings": r.Meetings}
	}
	out["BillableDays"] = days
	return http.StatusOK, out, nil
}

// scope checks the account belongs to the caller and reads the range.
func scope(k *awsproto.Call, s Store, now time.Time) (string, time.Time, time.Time, error) {
	id := k.Param("accountId")
	if id == "" || len(id) > 64 {
		return "", time.Time{}, time.Time{}, awsproto.BadRequest("accountId must be an account id")
	}
	from, to, err := parseRange(k, now)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	aws, deleted, err := s.Owner(k.Ctx, id)
	switch {
	case errors.Is(err, rm.ErrNoAccount) || (err == nil && (aws != k.AWSAccount() || deleted)):
		return "", time.Time{}, time.Time{}, domain.Errorf(domain.KindNotFound, "Account %s not found", id)
	case err != nil:
		return "", time.Time{}, time.Time{}, err
	}
	return id, from, to, nil
}

// parseRange reads from and to, with their defaults and bounds.
func parseRange(k *awsproto.Call, now time.Time) (time.Time, time.Time, error) {
	y, m, d := now.UTC().Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if v := k.Query("to"); v != "" {
		t, err := time.Parse(dateLayout, v)
		if err != nil {
			return time.Time{}, time.Time{}, awsproto.BadRequest("to must be a date (YYYY-MM-DD), got " + v)
		}
		to = t
	}
	from := to.AddDate(0, 0, -(DefaultDays - 1))
	if v := k.Query("from"); v != "" {
		t, err := time.Parse(dateLayout, v)
		if err != nil {
			return time.Time{}, time.Time{}, awsproto.BadRequest("from must be a date (YYYY-MM-DD), got " + v)
		}
		from = t
	}
	switch {
	case from.After(to):
		return time.Time{}, time.Time{}, awsproto.BadRequest("from must not be after to")
	case to.Sub(from) >= MaxDays*24*time.Hour:
		return time.Time{}, time.Time{}, awsproto.BadRequest("a range holds at most 366 days")
	}
	return from, to, nil
}
