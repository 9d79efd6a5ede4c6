// Package chimeusage projects the Chime activity the weekly usage reports count (domain/chime/usage:
// Contributes says what each event adds) into per-user, per-week counters, and lists the Chime
// accounts whose directories the reports read (api/chime/usagereports).
//
// Invariants:
//   - A week is usage.WeekStart of the event's own instant (its At). rm.chime_usage_weeks holds, per
//     user id and week: the distinct meetings the user joined in the week (attended, one row per
//     meeting in rm.chime_usage_joins), the meetings the user organised that started in the week
//     (hosted: the organiser is the one of the meeting's latest schedule applied before its start,
//     rm.chime_usage_meetings; a meeting without an organiser is hosted by nobody), the user's chat
//     posts in the week (not bots' or webhooks'), and the latest sign-in in the week (microseconds
//     since the Unix epoch; NULL: none). The latest sign-in before a week's end is the one of the
//     latest week up to it with a sign-in.
//   - rm.chime_usage_accounts lists every account id with an event on its account stream.
//   - These are exactly the counts of usage.Tally over the same events: both apply usage.Contributes.
//     Apply reads nothing but the read model's own tables, inside its statements.
package chimeusage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/usage"
)

// Projection is the usage read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_usage" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_usage_accounts", "chime_usage_meetings", "chime_usage_joins", "chime_usage_weeks"}
}

// Filter selects the account streams and the activity streams (usage.ActivityPrefixes).
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: append([]string{account.StreamPrefix}, usage.ActivityPrefixes...)}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_usage_accounts (
			account_id text PRIMARY KEY
		);
		CREATE TABLE %[1]s.chime_usage_meetings (
			meeting_id   text PRIMARY KEY,
			organizer_id text NOT NULL
		);
		CREATE TABLE %[1]s.chime_usage_joins (
			user_id    text NOT NULL,
			week       date NOT NULL,
			meeting_id text NOT NULL,
			PRIMARY KEY (user_id, week, meeting_id)
		);
		CREATE TABLE %[1]s.chime_usage_weeks (
			user_id       text NOT NULL,
			week          date NOT NULL,
			attended      int NOT NULL DEFAULT 0,
			hosted        int NOT NULL DEFAULT 0,
			chat_sent     int NOT NULL DEFAULT 0,
			last_login_us bigint,
			PRIMARY KEY (user_id, week)
		);`, schema))
	return err
}

// Apply applies one event (as a batch of one: ApplyBatch is the one definition).
func (p Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	return p.ApplyBatch(b, schema, []*esdb.RecordedEvent{ev})
}

// ApplyBatch applies evs in order (projections.BatchApplier): each run of joins, posts, sign-ins and
// account events goes in as at most three statements — their rows only add to counters, a distinct
// set and maxima, which do not depend on their order — and a schedule or a start, whose outcome
// depends on the schedules before it, ends a run and is one statement of its own.
func (Projection) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	r := newRun()
	for _, ev := range evs {
		if strings.HasPrefix(ev.StreamID, account.StreamPrefix) {
			r.account(strings.TrimPrefix(ev.StreamID, account.StreamPrefix))
			continue
		}
		c, err := usage.Contributes(ev.StreamID, ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		switch c.Kind {
		case usage.ContribJoined:
			r.join(c.UserID, usage.WeekStart(c.At), c.MeetingID)
		case usage.ContribPosted:
			r.post(c.UserID, usage.WeekStart(c.At))
		case usage.ContribSignedIn:
			// The tally takes a sign-in only after the zero instant (its "none").
			if c.At.After(time.Time{}) {
				r.signIn(c.UserID, usage.WeekStart(c.At), c.At.UnixMicro())
			}
		case usage.ContribScheduled:
			r.flush(b, schema)
			b.Queue(`INSERT INTO `+schema+`.chime_usage_meetings (meeting_id, organizer_id) VALUES ($1, $2)
				ON CONFLICT (meeting_id) DO UPDATE SET organizer_id = excluded.organizer_id`, c.MeetingID, c.UserID)
		case usage.ContribStarted:
			r.flush(b, schema)
			b.Queue(`INSERT INTO `+schema+`.chime_usage_weeks AS w (user_id, week, hosted)
				SELECT organizer_id, $2::date, 1 FROM `+schema+`.chime_usage_meetings WHERE meeting_id = $1 AND organizer_id <> ''
				ON CONFLICT (user_id, week) DO UPDATE SET hosted = w.hosted + 1`, c.MeetingID, usage.WeekStart(c.At))
		}
	}
	r.flush(b, schema)
	return nil
}
