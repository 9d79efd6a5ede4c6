// Package wickranalytics projects the Wickr network, roster, conversation and call streams (packages
// domain/wickr/network, roster, conversation and call) into the figures of the analytics dashboard (guide §20): per network and
// per UTC day, the registered (active and suspended), pending and suspended users, the devices with
// the app active and the bots as they stood at the end of the day, the invitations, registrations
// and deletions of the day, its messages, files and calls, and the distinct users active in each day,
// ISO week and month.
//
// Invariants:
//   - Every figure is a counter kept incrementally by the statement that applies an event, from a
//     per-user row before and after it (the wickrusers pattern): a figure is read from a few indexed
//     rows, never counted over the users. Each batch applies once, with its checkpoint (package
//     projections); besides, an event applied twice in a row changes nothing the second time.
//   - rm.wickr_analytics_totals holds a network's current levels; rm.wickr_analytics_days holds, for
//     each day on which a level or a flow changed, the levels as of the day's last event and the day's
//     flows (a day without a row kept the levels of the latest day before it).
//   - Messages sent count the messages network members (users and bots) posted in Wickr
//     conversations that day, each MessagePosted once: rm.wickr_analytics_convs keeps each
//     conversation's latest sequence number counted, and a post at or below it is not counted again
//     (a post without one, seq 0, always counts).
//     Files count those with an attachment (voice memos included). Guests' messages belong to no
//     network.
//   - Calls count the calls started that day in the starter's network (guide §20: unique calls), each
//     once (rm.wickr_analytics_calls holds each call by its id); direct calls are the 1:1 ones (in a
//     DM), the others are conference calls. Call seconds add each call's duration, start to end, on
//     the day it ended. rm.wickr_analytics_calls also lists the calls not ended yet, which the crash
//     sweep of api/wickr/calls reads (LiveCalls).
//   - A user is active in a period when it registered or signed in during it; rm.wickr_analytics_active
//     counts each user once per day, week (starting Monday) and month, by the user's last active day.
//     Days are the events' own instants (the deciders' clock) in UTC.
//   - Registered = users that registered and are not deleted, suspended ones included (guide §20);
//     pending users are invited and not registered; a deleted user leaves every level, its devices too.
//   - rm.wickr_analytics_networks names each network's owner (AWS account, region) and status, so the
//     figures are served only to the network's account while it is not being deleted.
package wickranalytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// Projection is the analytics read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_analytics" }

// Version of the table layout.
func (Projection) Version() int { return 4 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_analytics_networks", "wickr_analytics_users", "wickr_analytics_devices", "wickr_analytics_bots",
		"wickr_analytics_totals", "wickr_analytics_days", "wickr_analytics_active", "wickr_analytics_calls", "wickr_analytics_convs"}
}

// Filter selects the network, roster, conversation and call streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix, roster.StreamPrefix, conversation.StreamPrefix,
		call.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_analytics_networks (
			network_id     text PRIMARY KEY,
			aws_account_id text NOT NULL,
			region         text NOT NULL,
			status         text NOT NULL,
			created_at     timestamptz NOT NULL
		);
		CREATE TABLE %[1]s.wickr_analytics_users (
			network_id text NOT NULL,
			user_id    text NOT NULL,
			cat        text NOT NULL, -- pending, active (registered) or none (deleted)
			suspended  boolean NOT NULL DEFAULT false,
			devices    int NOT NULL DEFAULT 0,
			last_day   date,
			PRIMARY KEY (network_id, user_id)
		);
		CREATE TABLE %[1]s.wickr_analytics_devices (
			network_id text NOT NULL,
			user_id    text NOT NULL,
			app_id     text NOT NULL,
			type       text NOT NULL DEFAULT '',
			active     boolean NOT NULL,
			PRIMARY KEY (network_id, user_id, app_id)
		);
		CREATE TABLE %[1]s.wickr_analytics_bots (
			network_id text NOT NULL,
			bot_id     text NOT NULL,
			PRIMARY KEY (network_id, bot_id)
		);
		CREATE TABLE %[1]s.wickr_analytics_totals (
			network_id text PRIMARY KEY,
			pending    int NOT NULL DEFAULT 0,
			registered int NOT NULL DEFAULT 0,
			suspended  int NOT NULL DEFAULT 0,
			devices    int NOT NULL DEFAULT 0,
			bots       int NOT NULL DEFAULT 0
		);
		CREATE TABLE %[1]s.wickr_analytics_days (
			network_id    text NOT NULL,
			day           date NOT NULL,
			pending       int NOT NULL,
			registered    int NOT NULL,
			suspended     int NOT NULL,
			devices       int NOT NULL,
			bots          int NOT NULL,
			invited       int NOT NULL DEFAULT 0,
			registrations int NOT NULL DEFAULT 0,
			deletions     int NOT NULL DEFAULT 0,
			messages      int NOT NULL DEFAULT 0,
			files         int NOT NULL DEFAULT 0,
			calls         int NOT NULL DEFAULT 0,
			direct_calls  int NOT NULL DEFAULT 0,
			call_seconds  bigint NOT NULL DEFAULT 0,
			PRIMARY KEY (network_id, day)
		);
		CREATE TABLE %[1]s.wickr_analytics_calls (
			call_id    text PRIMARY KEY,
			network_id text NOT NULL,
			direct     boolean NOT NULL,
			started_at timestamptz NOT NULL,
			ended_at   timestamptz
		);
		CREATE INDEX ON %[1]s.wickr_analytics_calls (started_at) WHERE ended_at IS NULL;
		CREATE TABLE %[1]s.wickr_analytics_convs (
			conversation_id text PRIMARY KEY,
			seq             bigint NOT NULL
		);
		CREATE TABLE %[1]s.wickr_analytics_active (
			network_id text NOT NULL,
			period     text NOT NULL,
			start      date NOT NULL,
			users      int NOT NULL DEFAULT 0,
			PRIMARY KEY (network_id, period, start)
		);`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if strings.HasPrefix(ev.StreamID, network.StreamPrefix) {
		return applyNetwork(b, schema, strings.TrimPrefix(ev.StreamID, network.StreamPrefix), ev)
	}
	if strings.HasPrefix(ev.StreamID, conversation.StreamPrefix) {
		return applyMessage(b, schema, ev)
	}
	if strings.HasPrefix(ev.StreamID, call.StreamPrefix) {
		return applyCall(b, schema, strings.TrimPrefix(ev.StreamID, call.StreamPrefix), ev)
	}
	switch ev.EventType { // the roster events that change no figure are not decoded
	case roster.TypeUserInvited, roster.TypeUsersInvited, roster.TypeUserRegistered, roster.TypeUserRegisteredSSO, roster.TypeUserSuspended,
		roster.TypeUserUnsuspended, roster.TypeUserDeleted,
		roster.TypeDeviceRegistered, roster.TypeDeviceWasReset, roster.TypeSignedIn:
	default:
		return nil
	}
	e, err := roster.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	applyRoster(b, schema, networkOf(ev.StreamID), e)
	return nil
}

// networkOf is the network of a roster stream "wickr.roster-<networkId>-<block>".
func networkOf(stream string) string {
	rest := strings.TrimPrefix(stream, roster.StreamPrefix)
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func applyNetwork(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	switch ev.EventType {
	case network.TypeCreated, network.TypeDeletionRequested, network.TypeDeleted, network.TypeBotCreated, network.TypeBotDeleted:
	default:
		return nil
	}
	e, err := network.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	n, bots := schema+".wickr_analytics_networks", schema+".wickr_analytics_bots"
	switch e := e.(type) {
	case network.Created:
		b.Queue(`INSERT INTO `+n+` (network_id, aws_account_id, region, status, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`,
			id, e.AwsAccountID, e.Region, network.StatusActive, e.At)
	case network.DeletionRequested:
		b.Queue(`UPDATE `+n+` SET status = $2 WHERE network_id = $1`, id, network.StatusDeleting)
	case network.Deleted:
		b.Queue(`UPDATE `+n+` SET status = $2 WHERE network_id = $1`, id, network.StatusDeleted)
	case network.BotCreated:
		b.Queue(`WITH ins AS (INSERT INTO `+bots+` (network_id, bot_id) VALUES ($1, $3) ON CONFLICT DO NOTHING RETURNING 1),
			d AS (SELECT 0 AS p, 0 AS r, 0 AS s, 0 AS dv, count(*)::int AS bt, 0 AS inv, 0 AS reg, 0 AS del FROM ins)`+
			bump(schema), id, day(e.At), e.BotID)
	case network.BotDeleted:
		b.Queue(`WITH del AS (DELETE FROM `+bots+` WHERE network_id = $1 AND bot_id = $3 RETURNING 1),
			d AS (SELECT 0 AS p, 0 AS r, 0 AS s, 0 AS dv, -count(*)::int AS bt, 0 AS inv, 0 AS reg, 0 AS del FROM del)`+
			bump(schema), id, day(e.At), e.BotID)
	}
	return nil
}

func applyRoster(b *pgx.Batch, schema, net string, e roster.Event) {
	switch e := e.(type) {
	case roster.UserInvited:
		invite(b, schema, net, e.At, e.UserID)
	case roster.UsersInvited:
		invite(b, schema, net, e.At, e.UserIDs...)
	case roster.UserRegistered:
		transition(b, schema, net, e.UserID, e.At, `cat = 'active'`)
		activity(b, schema, net, e.UserID, e.At)
	case roster.UserRegisteredSSO:
		transition(b, schema, net, e.UserID, e.At, `cat = 'active'`)
		activity(b, schema, net, e.UserID, e.At)
	case roster.UserSuspended:
		transition(b, schema, net, e.UserID, e.At, `suspended = true`)
	case roster.UserUnsuspended:
		transition(b, schema, net, e.UserID, e.At, `suspended = false`)
	case roster.UserDeleted:
		transition(b, schema, net, e.UserID, e.At, `cat = 'none', suspended = false, devices = 0`)
	case roster.DeviceRegistered:
		device(b, schema, net, e.UserID, e.AppID, e.Type, true, e.At)
	case roster.DeviceWasReset:
		device(b, schema, net, e.UserID, e.AppID, "", false, e.At)
	case roster.SignedIn:
		activity(b, schema, net, e.UserID, e.At)
	}
}

// invite adds pending users (of one batch, invited at at) and counts those not seen before, in one statement.
func invite(b *pgx.Batch, schema, net string, at time.Time, userIDs ...string) {
	b.Queue(`WITH ins AS (INSERT INTO `+schema+`.wickr_analytics_users (network_id, user_id, cat) SELECT $1, id, 'pending' FROM unnest($3::text[]) AS id
			ON CONFLICT DO NOTHING RETURNING 1),
		d AS (SELECT count(*)::int AS p, 0 AS r, 0 AS s, 0 AS dv, 0 AS bt, count(*)::int AS inv, 0 AS reg, 0 AS del FROM ins)`+
		bump(schema), net, day(at), userIDs)
}

// day is the UTC day of an instant.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// bump ends a statement whose CTE d (one row) holds the deltas of the levels (p pending, r
// registered, s suspended, dv devices, bt bots) and the flows (inv invited, reg registrations, del
// deletions) of network $1 on day $2: the network's totals move by them, and the day's row takes
// the new levels and adds the flows. Nothing is written when every delta is zero.
func bump(schema string) string {
	return `,
		tot AS (
			INSERT INTO ` + schema + `.wickr_analytics_totals AS t (network_id, pending, registered, suspended, devices, bots)
			SELECT $1::text, d.p, d.r, d.s, d.dv, d.bt FROM d WHERE (d.p, d.r, d.s, d.dv, d.bt, d.inv, d.reg, d.del) <> (0, 0, 0, 0, 0, 0, 0, 0)
			ON CONFLICT (network_id) DO UPDATE SET pending = t.pending + excluded.pending, registered = t.registered + excluded.registered,
				suspended = t.suspended + excluded.suspended, devices = t.devices + excluded.devices, bots = t.bots + excluded.bots
			RETURNING t.pending, t.registered, t.suspended, t.devices, t.bots)
		INSERT INTO ` + schema + `.wickr_analytics_days AS y (network_id, day, pending, registered, suspended, devices, bots, invited, registrations, deletions)
		SELECT $1::text, $2::date, tot.pending, tot.registered, tot.suspended, tot.devices, tot.bots, d.inv, d.reg, d.del FROM tot CROSS JOIN d
		ON CONFLICT (network_id, day) DO UPDATE SET pending = excluded.pending, registered = excluded.registered, suspended = excluded.suspended,
			devices = excluded.devices, bots = excluded.bots, invited = y.invited + excluded.invited,
			registrations = y.registrations + excluded.registrations, deletions = y.deletions + excluded.deletions`
}

// transition updates a live user's row with set (the row aliased u) and moves the levels from the
// row's category, suspension and devices before to those after, in one statement: its CTEs see the
// row as it was, and a user already deleted (or a replay that changes nothing) moves nothing.
func transition(b *pgx.Batch, schema, net, userID string, at time.Time, set string) {
	u := schema + ".wickr_analytics_users"
	b.Queue(`WITH old AS (SELECT u.cat, u.suspended, u.devices FROM `+u+` u WHERE u.network_id = $1 AND u.user_id = $3 AND u.cat <> 'none'),
		upd AS (UPDATE `+u+` u SET `+set+` WHERE u.network_id = $1 AND u.user_id = $3 AND u.cat <> 'none'
			RETURNING u.cat, u.suspended, u.devices),
		d AS (SELECT
			coalesce(sum((n.cat = 'pending')::int - (o.cat = 'pending')::int), 0)::int AS p,
			coalesce(sum((n.cat = 'active')::int - (o.cat = 'active')::int), 0)::int AS r,
			coalesce(sum((n.suspended AND n.cat <> 'none')::int - o.suspended::int), 0)::int AS s,
			coalesce(sum(n.devices - o.devices), 0)::int AS dv,
			0 AS bt, 0 AS inv,
			coalesce(sum((n.cat = 'active' AND o.cat = 'pending')::int), 0)::int AS reg,
			coalesce(sum((n.cat = 'none')::int), 0)::int AS del
			FROM old o CROSS JOIN upd n)`+bump(schema), net, day(at), userID)
}

// device records a device of a live user as active (registered) or not (reset), and moves the
// devices level when its state changes.
func device(b *pgx.Batch, schema, net, userID, appID, typ string, active bool, at time.Time) {
	u, dv := schema+".wickr_analytics_users", schema+".wickr_analytics_devices"
	b.Queue(`WITH usr AS (SELECT 1 FROM `+u+` WHERE network_id = $1 AND user_id = $3 AND cat <> 'none'),
		old AS (SELECT active FROM `+dv+` WHERE network_id = $1 AND user_id = $3 AND app_id = $4),
		up AS (INSERT INTO `+dv+` AS x (network_id, user_id, app_id, type, active) SELECT $1, $3, $4, $5, $6 FROM usr
			ON CONFLICT (network_id, user_id, app_id) DO UPDATE SET active = excluded.active,
				type = CASE WHEN excluded.type = '' THEN x.type ELSE excluded.type END),
		delta AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM usr) THEN 0
			WHEN $6 AND NOT coalesce((SELECT active FROM old), false) THEN 1
			WHEN NOT $6 AND coalesce((SELECT active FROM old), false) THEN -1 ELSE 0 END AS n),
		cnt AS (UPDATE `+u+` SET devices = devices + (SELECT n FROM delta) WHERE network_id = $1 AND user_id = $3 AND (SELECT n FROM delta) <> 0),
		d AS (SELECT 0 AS p, 0 AS r, 0 AS s, n AS dv, 0 AS bt, 0 AS inv, 0 AS reg, 0 AS del FROM delta)`+bump(schema),
		net, day(at), userID, appID, typ, active)
}

// activity counts a live user once in the day, week and month of at, by its last active day.
func activity(b *pgx.Batch, schema, net, userID string, at time.Time) {
	u := schema + ".wickr_analytics_users"
	d := day(at)
	week := d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	month := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	b.Queue(`WITH old AS (SELECT u.last_day FROM `+u+` u WHERE u.network_id = $1 AND u.user_id = $2 AND u.cat <> 'none'),
		upd AS (UPDATE `+u+` u SET last_day = greatest(u.last_day, $3::date) WHERE u.network_id = $1 AND u.user_id = $2 AND u.cat <> 'none')
		INSERT INTO `+schema+`.wickr_analytics_active AS a (network_id, period, start, users)
		SELECT $1::text, p.period, p.start, 1 FROM old CROSS JOIN (VALUES ('day', $3::date), ('week', $4::date), ('month', $5::date)) p(period, start)
		WHERE old.last_day IS NULL OR old.last_day < p.start
		ON CONFLICT (network_id, period, start) DO UPDATE SET users = a.users + 1`, net, userID, d, week, month)
}

// applyMessage counts a message a network member posted (and a file, when it carries one) on its
// day, unless its conversation's sequence already passed it; the day's row takes the network's
// levels when it is new.
func applyMessage(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if ev.EventType != conversation.TypeMessagePosted {
		return nil
	}
	e, err := conversation.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	m, ok := e.(conversation.MessagePosted)
	if !ok || m.Sender.NetworkID == "" {
		return nil
	}
	file := 0
	if m.Attachment != nil {
		file = 1
	}
	b.Queue(`WITH seen AS (INSERT INTO `+schema+`.wickr_analytics_convs AS c (conversation_id, seq) SELECT $4, $5 WHERE $5::bigint > 0
			ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq WHERE c.seq < excluded.seq RETURNING 1)
		INSERT INTO `+schema+`.wickr_analytics_days AS y (network_id, day, pending, registered, suspended, devices, bots, messages, files)
		SELECT $1::text, $2::date, coalesce(t.pending, 0), coalesce(t.registered, 0), coalesce(t.suspended, 0), coalesce(t.devices, 0),
			coalesce(t.bots, 0), 1, $3
		FROM (SELECT 1 WHERE $5::bigint <= 0 OR EXISTS (SELECT 1 FROM seen)) one LEFT JOIN `+schema+`.wickr_analytics_totals t ON t.network_id = $1
		ON CONFLICT (network_id, day) DO UPDATE SET messages = y.messages + 1, files = y.files + excluded.files`,
		m.Sender.NetworkID, day(m.At), file, strings.TrimPrefix(ev.StreamID, conversation.StreamPrefix), m.Seq)
	return nil
}

// applyCall records a call when it starts (counted on its day in the starter's network, once) and
// adds its duration on the day it ends (once: the first Ended closes its row).
func applyCall(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	if ev.EventType != call.TypeStarted && ev.EventType != call.TypeEnded {
		return nil
	}
	e, err := call.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	calls := schema + ".wickr_analytics_calls"
	switch e := e.(type) {
	case call.Started:
		direct := 0
		if e.ConversationKind == conversation.KindDirect {
			direct = 1
		}
		b.Queue(`WITH c AS (INSERT INTO `+calls+` (call_id, network_id, direct, started_at) VALUES ($3, $1, $4::int = 1, $5)
				ON CONFLICT DO NOTHING RETURNING network_id),
			f AS (SELECT c.network_id, 1 AS calls, $4::int AS direct_calls, 0::bigint AS call_seconds FROM c WHERE c.network_id <> '')`+
			dayFlows(schema), e.NetworkID, day(e.At), id, direct, e.At)
	case call.Ended:
		b.Queue(`WITH c AS (UPDATE `+calls+` SET ended_at = $3 WHERE call_id = $1 AND ended_at IS NULL RETURNING network_id, started_at),
			f AS (SELECT c.network_id, 0 AS calls, 0 AS direct_calls, greatest(0, floor(extract(epoch FROM $3 - c.started_at)))::bigint AS call_seconds
				FROM c WHERE c.network_id <> '')`+dayFlows(schema), id, day(e.At), e.At)
	}
	return nil
}

// dayFlows ends a statement whose CTE f (at most one row) holds a network's call flows of day $2: the
// day's row adds them, taking the network's levels when it is new.
func dayFlows(schema string) string {
	return `
		INSERT INTO ` + schema + `.wickr_analytics_days AS y (network_id, day, pending, registered, suspended, devices, bots, calls, direct_calls, call_seconds)
		SELECT f.network_id, $2::date, coalesce(t.pending, 0), coalesce(t.registered, 0), coalesce(t.suspended, 0), coalesce(t.devices, 0),
			coalesce(t.bots, 0), f.calls, f.direct_calls, f.call_seconds
		FROM f LEFT JOIN ` + schema + `.wickr_analytics_totals t ON t.network_id = f.network_id
		ON CONFLICT (network_id, day) DO UPDATE SET calls = y.calls + excluded.calls, direct_calls = y.direct_calls + excluded.direct_calls,
			call_seconds = y.call_seconds + excluded.call_seconds`
}
