// Package wickranalytics is the Belfry admin API's Wickr analytics dashboard (guide §20; signing
// name "belfry"):
//
//	GET /belfry/v1/wickr/networks/{networkId}/analytics?period=day|week|month&from=YYYY-MM-DD&to=YYYY-MM-DD
//
// answers a network's figures per period — registered (active and suspended), pending and suspended
// users, devices with the app active and bots at the period's end; the period's invitations,
// registrations and deletions; its messages sent and files sent; its calls (unique calls started in
// it, 1:1 and conference) and call minutes (of the calls that ended in it, rounded up); its distinct
// active users — and the levels now, from the read model of projections/wickranalytics.
//
// Invariants: only the network's own AWS account sees it, in any region, while it is not being
// deleted (any other network is 404 NotFound, as if it did not exist). Days are UTC; weeks start on
// Monday; from and to are aligned to the start of their periods, from ≤ to, and a report holds at
// most MaxPeriods periods (400 BadRequest otherwise). period defaults to day, to to today, from to
// DefaultPeriods periods before to.
package wickranalytics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	rm "github.com/belfry/belfry/projections/wickranalytics"
)

// Store answers the analytics queries (projections/wickranalytics.Store).
type Store interface {
	Owner(ctx context.Context, networkID string) (rm.Owner, error)
	Report(ctx context.Context, networkID, period string, from, to time.Time) (rm.Report, error)
}

// Limits of a report.
const (
	MaxPeriods     = 366
	DefaultPeriods = 30
)

const dateLayout = "2006-01-02"

// Operations are the Wickr analytics operations of the Belfry admin API; now is the clock of the
// default range.
func Operations(s Store, now func() time.Time) []awsproto.Operation {
	if now == nil {
		now = time.Now
	}
	return []awsproto.Operation{{Name: "GetWickrNetworkAnalytics", Method: http.MethodGet, Path: "/belfry/v1/wickr/networks/:networkId/analytics",
		ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) { return get(k, s, now()) }}}
}

// Figures are the levels of one instant on the wire.
type Figures struct {
	Registered, Pending, Suspended, Devices, Bots int
}

// Point is one period on the wire.
type Point struct {
	Start, End string
	Figures
	Invited, Registrations, Deletions, ActiveUsers   int
	Messages, Files                                  int
	Calls, DirectCalls, ConferenceCalls, CallMinutes int
}

func get(k *awsproto.Call, s Store, now time.Time) (int, any, error) {
	id := k.Param("networkId")
	if err := wickr.ValidNetworkID("networkId", id); err != nil {
		return 0, nil, err
	}
	period, from, to, err := parseRange(k, now)
	if err != nil {
		return 0, nil, err
	}
	o, err := s.Owner(k.Ctx, id)
	switch {
	case errors.Is(err, rm.ErrNoNetwork) || (err == nil && (o.AwsAccountID != k.AWSAccount() || o.Status != network.StatusActive)):
		return 0, nil, domain.Errorf(domain.KindNotFound, "Network %s not found", id)
	case err != nil:
		return 0, nil, err
	}
	rep, err := s.Report(k.Ctx, id, period, from, to)
	if err != nil {
		return 0, nil, err
	}
	points := make([]Point, len(rep.Points))
	for i, p := range rep.Points {
		points[i] = Point{Start: p.Start.Format(dateLayout), End: p.End.Format(dateLayout), Figures: Figures(p.Levels),
			Invited: p.Invited, Registrations: p.Registrations, Deletions: p.Deletions, ActiveUsers: p.ActiveUsers, Messages: p.Messages, Files: p.Files,
			Calls: p.Calls, DirectCalls: p.DirectCalls, ConferenceCalls: p.Calls - p.DirectCalls, CallMinutes: int((p.CallSeconds + 59) / 60)}
	}
	return http.StatusOK, map[string]any{"NetworkId": id, "Region": o.Region, "Period": period, "From": rm.PeriodStart(period, from).Format(dateLayout),
		"To": to.Format(dateLayout), "Current": Figures(rep.Current), "Points": points}, nil
}

// parseRange reads period, from and to, with their defaults and bounds.
func parseRange(k *awsproto.Call, now time.Time) (string, time.Time, time.Time, error) {
	period := k.Query("period")
	switch period {
	case "":
		period = rm.Day
	case rm.Day, rm.Week, rm.Month:
	default:
		return "", time.Time{}, time.Time{}, awsproto.BadRequest("period must be day, week or month, got " + period)
	}
	to := rm.PeriodStart(rm.Day, now)
	if v := k.Query("to"); v != "" {
		t, err := time.Parse(dateLayout, v)
		if err != nil {
			return "", time.Time{}, time.Time{}, awsproto.BadRequest("to must be a date (YYYY-MM-DD), got " + v)
		}
		to = t
	}
	from := back(period, rm.PeriodStart(period, to), DefaultPeriods-1)
	if v := k.Query("from"); v != "" {
		t, err := time.Parse(dateLayout, v)
		if err != nil {
			return "", time.Time{}, time.Time{}, awsproto.BadRequest("from must be a date (YYYY-MM-DD), got " + v)
		}
		from = t
	}
	tooMany := awsproto.BadRequest("a report holds at most 366 periods; narrow from and to, or choose a longer period")
	switch {
	case from.After(to):
		return "", time.Time{}, time.Time{}, awsproto.BadRequest("from must not be after to")
	case to.Sub(from) > 32*MaxPeriods*24*time.Hour: // too long for any period, without counting them one by one
		return "", time.Time{}, time.Time{}, tooMany
	case len(rm.Periods(period, from, to)) > MaxPeriods:
		return "", time.Time{}, time.Time{}, tooMany
	}
	return period, from, to, nil
}

// back is the start of the period n periods before start.
func back(period string, start time.Time, n int) time.Time {
	switch period {
	case rm.Week:
		return start.AddDate(0, 0, -7*n)
	case rm.Month:
		return start.AddDate(0, -n, 0)
	}
	return start.AddDate(0, 0, -n)
}
