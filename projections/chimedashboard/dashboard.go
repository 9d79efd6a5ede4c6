// Package chimedashboard projects the Chime account, meeting, conversation and room streams into the
// console dashboard's figures (guide §10) and the billable Pro days (guide §0.2, §5.5), per account
// and UTC day.
//
// Invariants:
//   - rm.chime_dash_days holds, for each day on which a figure of an account changed: the registered
//     users as of the day's last event (a level: a day without a row kept the level of the latest
//     day before it), and the day's active users, meetings held and chat messages sent (flows).
//   - Registered users are the users of the account whose registration status is Registered
//     (suspended, unregistered and removed users are not). Active users are the distinct users of the
//     account who joined a meeting or sent a message (1:1, group, room) that day, each counted once a
//     day (rm.chime_dash_active). Meetings held are the meetings that ended that day. Chat messages
//     sent count users' posts (not bots' or webhooks').
//   - A phone attendee (UserID "pstn:<number>", a number dialled out into the meeting:
//     api/chime/calls.PhoneUserPrefix) is not a user: it is never an active user and does not count
//     toward a meeting's users; it makes the meeting one with a phone (PSTN) attendee.
//   - rm.chime_billable_days holds one row per account, Pro user and day on which the user hosted
//     (organised) a meeting that ended that day and that was scheduled, had three or more distinct
//     users, a recording, a phone (PSTN) attendee or an H.323/SIP attendee (guide §5.5: Belfry has no
//     room systems, so the first four decide; a recording is a RecordingStarted). The licence is
//     the organiser's when the meeting ended.
//   - A day is the UTC day of the event's own instant (its At), or of its envelope's occurred-at
//     for events without one. Every figure is kept by the statements that apply an event; a figure is
//     read from a few indexed rows, never counted over the users.
package chimedashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
)

// Projection is the dashboard read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_dashboard" }

// Version of the table layout.
func (Projection) Version() int { return 3 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_dash_accounts", "chime_dash_users", "chime_dash_totals", "chime_dash_days", "chime_dash_active",
		"chime_dash_meetings", "chime_dash_meeting_users", "chime_dash_rooms", "chime_billable_days"}
}

// Filter selects the account, meeting, conversation and room streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType,
		Prefixes: []string{account.StreamPrefix, meeting.StreamPrefix, conversation.StreamPrefix, room.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_dash_accounts (
			account_id     text PRIMARY KEY,
			aws_account_id text NOT NULL,
			deleted        boolean NOT NULL DEFAULT false
		);
		CREATE TABLE %[1]s.chime_dash_users (
			account_id   text NOT NULL,
			user_id      text NOT NULL,
			email        text NOT NULL,
			license      text NOT NULL,
			registration text NOT NULL,
			PRIMARY KEY (account_id, user_id)
		);
		CREATE TABLE %[1]s.chime_dash_totals (
			account_id text PRIMARY KEY,
			registered int NOT NULL DEFAULT 0
		);
		CREATE TABLE %[1]s.chime_dash_days (
			account_id    text NOT NULL,
			day           date NOT NULL,
			registered    int NOT NULL,
			active_users  int NOT NULL DEFAULT 0,
			meetings_held int NOT NULL DEFAULT 0,
			chat_sent     int NOT NULL DEFAULT 0,
			PRIMARY KEY (account_id, day)
		);
		CREATE TABLE %[1]s.chime_dash_active (
			account_id text NOT NULL,
			day        date NOT NULL,
			user_id    text NOT NULL,
			PRIMARY KEY (account_id, day, user_id)
		);
		CREATE TABLE %[1]s.chime_dash_meetings (
			meeting_id   text PRIMARY KEY,
			account_id   text NOT NULL,
			organizer_id text NOT NULL,
			scheduled    boolean NOT NULL,
			users        int NOT NULL DEFAULT 0,
			recorded     boolean NOT NULL DEFAULT false,
			phoned       boolean NOT NULL DEFAULT false,
			ended        boolean NOT NULL DEFAULT false
		);
		CREATE TABLE %[1]s.chime_dash_meeting_users (
			meeting_id text NOT NULL,
			user_id    text NOT NULL,
			PRIMARY KEY (meeting_id, user_id)
		);
		CREATE TABLE %[1]s.chime_dash_rooms (
			room_id    text PRIMARY KEY,
			account_id text NOT NULL
		);
		CREATE TABLE %[1]s.chime_billable_days (
			account_id text NOT NULL,
			day        date NOT NULL,
			user_id    text NOT NULL,
			email      text NOT NULL,
			meetings   int NOT NULL,
			PRIMARY KEY (account_id, day, user_id)
		);`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	s := ev.StreamID
	switch {
	case strings.HasPrefix(s, account.StreamPrefix):
		return applyAccount(b, schema, strings.TrimPrefix(s, account.StreamPrefix), ev)
	case strings.HasPrefix(s, meeting.StreamPrefix):
		return applyMeeting(b, schema, strings.TrimPrefix(s, meeting.StreamPrefix), ev)
	case strings.HasPrefix(s, conversation.StreamPrefix):
		if ev.EventType != conversation.TypeMessagePosted {
			return nil
		}
		e, err := conversation.Decode(ev.EventType, ev.Data)
		if m, ok := e.(conversation.MessagePosted); ok {
			chat(b, schema, `SELECT $1::text`, m.SenderAccountID, m.SenderID, m.At)
		}
		return err
	case strings.HasPrefix(s, room.StreamPrefix):
		return applyRoom(b, schema, strings.TrimPrefix(s, room.StreamPrefix), ev)
	}
	return nil
}

// phoneUserPrefix prefixes the UserID of an attendee who joined by phone (api/chime/calls.PhoneUserPrefix).
const phoneUserPrefix = "pstn:"

// occurred is the instant of an event without one of its own: its envelope's occurred-at, or when the
// log recorded it.
func occurred(ev *esdb.RecordedEvent) time.Time {
	var env struct{ OccurredAt time.Time }
	if json.Unmarshal(ev.UserMetadata, &env) == nil && !env.OccurredAt.IsZero() {
		return env.OccurredAt
	}
	return ev.CreatedDate
}

// day is the UTC day of an instant.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func applyAccount(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	switch ev.EventType {
	case account.TypeCreated, account.TypeDeleted, account.TypeUserAdded, account.TypeUserUpdated, account.TypeUserSuspended,
		account.TypeUserUnsuspended, account.TypeUserRemoved, account.TypeUserRegistered:
	default:
		return nil
	}
	e, err := account.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	at, u := occurred(ev), schema+".chime_dash_users"
	switch e := e.(type) {
	case account.Created:
		b.Queue(`INSERT INTO `+schema+`.chime_dash_accounts (account_id, aws_account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, e.AwsAccountID)
	case account.Deleted:
		b.Queue(`UPDATE `+schema+`.chime_dash_accounts SET deleted = true WHERE account_id = $1`, id)
	case account.UserAdded:
		b.Queue(`INSERT INTO `+u+` (account_id, user_id, email, license, registration) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			id, e.UserID, e.Email, e.LicenseType, account.RegistrationUnregistered)
	case account.UserUpdated:
		b.Queue(`UPDATE `+u+` SET license = $3 WHERE account_id = $1 AND user_id = $2`, id, e.UserID, e.LicenseType)
	case account.UserRegistered:
		register(b, schema, id, e.UserID, `'`+account.RegistrationRegistered+`'`, e.At)
	case account.UserSuspended:
		register(b, schema, id, e.UserID, `'`+account.RegistrationSuspended+`'`, at)
	case account.UserUnsuspended:
		register(b, schema, id, e.UserID, quote(e.Registration), at)
	case account.UserRemoved:
		register(b, schema, id, e.UserID, `NULL`, at)
	}
	return nil
}

// quote is a registration status as an SQL literal (the statuses are letters only).
func quote(s string) string {
	return `'` + strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, s) + `'`
}

// register moves a user to a registration status (NULL: removed) and the account's registered level
// with it, recording the level on the day of at.
func register(b *pgx.Batch, schema, acc, userID, status string, at time.Time) {
	u := schema + ".chime_dash_users"
	set := `UPDATE ` + u + ` SET registration = ` + status + ` WHERE account_id = $1 AND user_id = $3 RETURNING registration`
	if status == `NULL` {
		set = `DELETE FROM ` + u + ` WHERE account_id = $1 AND user_id = $3 RETURNING NULL::text AS registration`
	}
	b.Queue(`WITH old AS (SELECT registration FROM `+u+` WHERE account_id = $1 AND user_id = $3),
		upd AS (`+set+`),
		d AS (SELECT coalesce(sum((n.registration IS NOT DISTINCT FROM 'Registered')::int - (o.registration = 'Registered')::int), 0)::int AS r
			FROM old o CROSS JOIN upd n),
		tot AS (INSERT INTO `+schema+`.chime_dash_totals AS t (account_id, registered) SELECT $1, d.r FROM d WHERE d.r <> 0
			ON CONFLICT (account_id) DO UPDATE SET registered = t.registered + excluded.registered RETURNING t.registered)
		INSERT INTO `+schema+`.chime_dash_days AS y (account_id, day, registered) SELECT $1, $2, tot.registered FROM tot
		ON CONFLICT (account_id, day) DO UPDATE SET registered = excluded.registered`, acc, day(at), userID)
}

// bumpDay adds to a flow of account acc's day $2 (the registered level is carried from the totals).
func bumpDay(schema, column string) string {
	return `INSERT INTO ` + schema + `.chime_dash_days AS y (account_id, day, registered, ` + column + `)
		SELECT a.id, $2::date, coalesce((SELECT registered FROM ` + schema + `.chime_dash_totals WHERE account_id = a.id), 0), a.n FROM a WHERE a.n <> 0
		ON CONFLICT (account_id, day) DO UPDATE SET ` + column + ` = y.` + column + ` + excluded.` + column
}

// active counts user $3 of the account (CTE acc, one id) active on day $2, once.
func active(schema string) string {
	return `, ins AS (INSERT INTO ` + schema + `.chime_dash_active (account_id, day, user_id) SELECT acc.id, $2, $3 FROM acc
			ON CONFLICT DO NOTHING RETURNING account_id),
		a AS (SELECT account_id AS id, count(*)::int AS n FROM ins GROUP BY account_id) ` + bumpDay(schema, "active_users")
}

// chat counts a message sent by userID of the account found by accountSQL ($1 is its argument).
// One statement: the day's chat_sent and, the user's first message of the day, its active_users.
func chat(b *pgx.Batch, schema, accountSQL, arg, userID string, at time.Time) {
	b.Queue(`WITH acc AS (SELECT id FROM (`+accountSQL+`) AS x(id) WHERE id <> ''),
		ins AS (INSERT INTO `+schema+`.chime_dash_active (account_id, day, user_id) SELECT acc.id, $2, $3 FROM acc
			ON CONFLICT DO NOTHING RETURNING account_id)
		INSERT INTO `+schema+`.chime_dash_days AS y (account_id, day, registered, chat_sent, active_users)
		SELECT acc.id, $2::date, coalesce((SELECT registered FROM `+schema+`.chime_dash_totals WHERE account_id = acc.id), 0),
			1, (SELECT count(*) FROM ins)::int FROM acc
		ON CONFLICT (account_id, day) DO UPDATE SET chat_sent = y.chat_sent + 1, active_users = y.active_users + excluded.active_users`,
		arg, day(at), userID)
}

func applyRoom(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	switch ev.EventType {
	case room.TypeCreated, room.TypeMessagePosted:
	default:
		return nil
	}
	e, err := room.Decode(ev.EventType, ev.Data)
	switch e := e.(type) {
	case room.Created:
		b.Queue(`INSERT INTO `+schema+`.chime_dash_rooms (room_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, e.AccountID)
	case room.MessagePosted:
		if e.SenderType == room.MemberUser {
			chat(b, schema, `SELECT account_id FROM `+schema+`.chime_dash_rooms WHERE room_id = $1`, id, e.SenderID, e.At)
		}
	}
	return err
}

func applyMeeting(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	switch ev.EventType {
	case meeting.TypeScheduled, meeting.TypeAttendeeJoined, meeting.TypeRecordingStarted, meeting.TypeEnded:
	default:
		return nil
	}
	e, err := meeting.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	m, mu := schema+".chime_dash_meetings", schema+".chime_dash_meeting_users"
	switch e := e.(type) {
	case meeting.Scheduled:
		b.Queue(`INSERT INTO `+m+` (meeting_id, account_id, organizer_id, scheduled) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			id, e.AccountID, e.OrganizerID, !e.StartsAt.IsZero())
	case meeting.AttendeeJoined:
		if strings.HasPrefix(e.UserID, phoneUserPrefix) {
			b.Queue(`UPDATE `+m+` SET phoned = true WHERE meeting_id = $1 AND NOT phoned`, id)
			return nil
		}
		b.Queue(`WITH ins AS (INSERT INTO `+mu+` (meeting_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1)
			UPDATE `+m+` SET users = users + (SELECT count(*) FROM ins) WHERE meeting_id = $1`, id, e.UserID)
		b.Queue(`WITH acc AS (SELECT account_id AS id FROM `+m+` WHERE meeting_id = $1)`+active(schema), id, day(e.At), e.UserID)
	case meeting.RecordingStarted:
		b.Queue(`UPDATE `+m+` SET recorded = true WHERE meeting_id = $1 AND NOT recorded`, id)
	case meeting.Ended:
		// The first end of a meeting counts it held on its day and, for a Pro organiser of a meeting
		// that qualifies (guide §5.5), makes the day billable.
		b.Queue(`WITH done AS (UPDATE `+m+` SET ended = true WHERE meeting_id = $1 AND NOT ended
				RETURNING account_id, organizer_id, scheduled OR users >= 3 OR recorded OR phoned AS qualifies),
			bill AS (INSERT INTO `+schema+`.chime_billable_days AS x (account_id, day, user_id, email, meetings)
				SELECT done.account_id, $2, u.user_id, u.email, 1 FROM done JOIN `+schema+`.chime_dash_users u
					ON u.account_id = done.account_id AND u.user_id = done.organizer_id AND u.license = 'Pro'
				WHERE done.qualifies
				ON CONFLICT (account_id, day, user_id) DO UPDATE SET meetings = x.meetings + 1),
			a AS (SELECT account_id AS id, 1 AS n FROM done) `+bumpDay(schema, "meetings_held"), id, day(e.At))
	}
	return nil
}
