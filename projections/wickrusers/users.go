// Package wickrusers projects the Wickr roster streams (package domain/wickr/roster) into the users
// read model, with the counters GetUsersCount and the security groups' member counts answer from,
// and answers the Wickr API's queries about users.
//
// Invariants:
//   - One row per user ever invited, keyed by (network, user id); a deleted user keeps its row with
//     deleted set and is invisible to every query.
//   - rm.wickr_user_counts holds, per network, the users that are pending (status 1), active
//     (status 2) and suspended (among those two), and rm.wickr_group_users the users of each
//     security group, deleted users excepted. Both are counters kept by the projection in the
//     statement that changes the user's row, computed from the row before and after, so a count is
//     one indexed row to read (never a COUNT over the users) and equals a COUNT over the rows at
//     every checkpoint.
//   - rm.wickr_user_devices holds one row per device a user signed in from (registration or sign-in),
//     its status Active or Reset (a reset device must sign in again, which makes it Active).
//   - uname is the hex SHA-256 of the (lower-case) username, indexed for BatchLookupUserUname.
//   - Passwords are not here (the roster keeps the sealed password).
package wickrusers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// Projection is the users read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_users" }

// Version of the table layout.
func (Projection) Version() int { return 2 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_users", "wickr_user_counts", "wickr_group_users", "wickr_user_devices"}
}

// Filter selects the roster streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{roster.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_users (
			network_id        text NOT NULL,
			user_id           text NOT NULL,
			username          text NOT NULL,
			uname             text NOT NULL DEFAULT '',
			first_name        text NOT NULL DEFAULT '',
			last_name         text NOT NULL DEFAULT '',
			group_id          text NOT NULL,
			status            int NOT NULL,
			suspended         boolean NOT NULL DEFAULT false,
			deleted           boolean NOT NULL DEFAULT false,
			invite_code       text NOT NULL DEFAULT '',
			code_validation   boolean NOT NULL DEFAULT false,
			invite_expires_at timestamptz,
			last_login        timestamptz,
			failures          int NOT NULL DEFAULT 0,
			locked_until      timestamptz,
			created_at        timestamptz NOT NULL,
			modified          timestamptz NOT NULL,
			PRIMARY KEY (network_id, user_id)
		);
		CREATE INDEX ON %[1]s.wickr_users (network_id, username, user_id) WHERE NOT deleted;
		CREATE INDEX ON %[1]s.wickr_users (network_id, group_id, username, user_id) WHERE NOT deleted;
		CREATE INDEX ON %[1]s.wickr_users (network_id, first_name, user_id) WHERE NOT deleted;
		CREATE INDEX ON %[1]s.wickr_users (network_id, last_name, user_id) WHERE NOT deleted;
		CREATE INDEX ON %[1]s.wickr_users (network_id, uname) WHERE NOT deleted;
		CREATE TABLE %[1]s.wickr_user_devices (
			network_id text NOT NULL,
			user_id    text NOT NULL,
			app_id     text NOT NULL,
			type       text NOT NULL,
			status     text NOT NULL,
			created_at timestamptz NOT NULL,
			last_login timestamptz NOT NULL,
			PRIMARY KEY (network_id, user_id, app_id)
		);
		CREATE TABLE %[1]s.wickr_user_counts (
			network_id text PRIMARY KEY,
			pending    int NOT NULL DEFAULT 0,
			active     int NOT NULL DEFAULT 0,
			suspended  int NOT NULL DEFAULT 0
		);
		CREATE TABLE %[1]s.wickr_group_users (
			network_id text NOT NULL,
			group_id   text NOT NULL,
			members    int NOT NULL DEFAULT 0,
			PRIMARY KEY (network_id, group_id)
		);`, schema))
	return err
}

// networkOf is the network of a roster stream "wickr.roster-<networkId>-<block>".
func networkOf(stream string) string {
	rest := strings.TrimPrefix(stream, roster.StreamPrefix)
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// Weight is how many users a batch invitation holds (projections.Weigher: the planner statistics
// are refreshed after so many rows, not events).
func (Projection) Weight(ev *esdb.RecordedEvent) int {
	if ev.EventType != roster.TypeUsersInvited {
		return 1
	}
	var e struct {
		UserIDs []string `json:"userIds"`
	}
	_ = json.Unmarshal(ev.Data, &e)
	return len(e.UserIDs)
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := roster.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	net := networkOf(ev.StreamID)
	u := schema + ".wickr_users"
	switch e := e.(type) {
	case roster.UserInvited:
		invite(b, schema, net, e)
	case roster.UsersInvited:
		invite(b, schema, net, e.Each()...)
	case roster.UserReinvited:
		b.Queue(`UPDATE `+u+` SET invite_expires_at = $3, modified = $4 WHERE network_id = $1 AND user_id = $2`, net, e.UserID, e.InviteExpiresAt, e.At)
	case roster.UserRegistered:
		transition(b, schema, net, e.UserID, `status = 2, modified = $3`, e.At)
	case roster.UserRegisteredSSO:
		transition(b, schema, net, e.UserID, `status = 2, modified = $3`, e.At)
	case roster.UserUpdated:
		transition(b, schema, net, e.UserID, `first_name = $3, last_name = $4, group_id = $5, invite_code = $6, code_validation = $7,
			invite_expires_at = coalesce($8, u.invite_expires_at), modified = $9`,
			e.FirstName, e.LastName, e.GroupID, e.InviteCode, e.CodeValidation, nullTime(e.InviteExpiresAt), e.At)
	case roster.UserMoved:
		transition(b, schema, net, e.UserID, `group_id = $3, modified = $4`, e.GroupID, e.At)
	case roster.UserSuspended:
		transition(b, schema, net, e.UserID, `suspended = true, modified = $3`, e.At)
	case roster.UserUnsuspended:
		transition(b, schema, net, e.UserID, `suspended = false, locked_until = NULL, failures = 0, modified = $3`, e.At)
	case roster.UserDeleted:
		transition(b, schema, net, e.UserID, `deleted = true, modified = $3`, e.At)
	case roster.SignedIn:
		b.Queue(`UPDATE `+u+` SET last_login = $3, failures = 0 WHERE network_id = $1 AND user_id = $2`, net, e.UserID, e.At)
		applyDevice(b, schema, net, e)
	case roster.SignInFailed:
		b.Queue(`UPDATE `+u+` SET failures = $3 WHERE network_id = $1 AND user_id = $2`, net, e.UserID, e.Failures)
	case roster.UserLockedOut:
		b.Queue(`UPDATE `+u+` SET locked_until = $3 WHERE network_id = $1 AND user_id = $2`, net, e.UserID, e.Until)
	case roster.UserUnlocked:
		b.Queue(`UPDATE `+u+` SET locked_until = NULL, failures = 0 WHERE network_id = $1 AND user_id = $2`, net, e.UserID)
	case roster.PasswordReset:
		b.Queue(`UPDATE `+u+` SET failures = 0, modified = $3 WHERE network_id = $1 AND user_id = $2`, net, e.UserID, e.At)
	default:
		applyDevice(b, schema, net, e)
	}
	return nil
}

// applyDevice keeps the devices table: a registration (first or after a reset) makes the device
// Active, a reset makes it Reset, a sign-in stamps its last login.
func applyDevice(b *pgx.Batch, schema, net string, e roster.Event) {
	d := schema + ".wickr_user_devices"
	switch e := e.(type) {
	case roster.DeviceRegistered:
		b.Queue(`INSERT INTO `+d+` (network_id, user_id, app_id, type, status, created_at, last_login) VALUES ($1,$2,$3,$4,$5,$6,$6)
			ON CONFLICT (network_id, user_id, app_id) DO UPDATE SET type = excluded.type, status = excluded.status, last_login = excluded.last_login`,
			net, e.UserID, e.AppID, e.Type, roster.DeviceActive, e.At)
	case roster.DeviceWasReset:
		b.Queue(`UPDATE `+d+` SET status = $4 WHERE network_id = $1 AND user_id = $2 AND app_id = $3`, net, e.UserID, e.AppID, roster.DeviceReset)
	case roster.SignedIn:
		b.Queue(`UPDATE `+d+` SET last_login = $4 WHERE network_id = $1 AND user_id = $2 AND app_id = $3`, net, e.UserID, e.AppID, e.At)
	}
}

// invite inserts pending users and counts them, once: a replayed event inserts nothing and counts
// nothing. A batch is one statement (its rows as arrays).
func invite(b *pgx.Batch, schema, net string, us ...roster.UserInvited) {
	n := len(us)
	ids, names, firsts, lasts, groups, codes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	unames, valid, expires, at := make([]string, n), make([]bool, n), make([]time.Time, n), make([]time.Time, n)
	for i, e := range us {
		ids[i], names[i], firsts[i], lasts[i], groups[i], codes[i] = e.UserID, e.Username, e.FirstName, e.LastName, e.GroupID, e.InviteCode
		unames[i], valid[i], expires[i], at[i] = wickr.UsernameHash(e.Username), e.CodeValidation, e.InviteExpiresAt, e.At
	}
	b.Queue(`WITH ins AS (
			INSERT INTO `+schema+`.wickr_users (network_id, user_id, username, first_name, last_name, group_id, status, invite_code,
				code_validation, invite_expires_at, created_at, modified, uname)
			SELECT $1, u.id, u.name, u.first, u.last, u.grp, 1, u.code, u.valid, u.expires, u.at, u.at, u.uname
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::timestamptz[],
				$10::timestamptz[], $11::text[]) AS u(id, name, first, last, grp, code, valid, expires, at, uname)
			ON CONFLICT DO NOTHING RETURNING group_id),
		cnt AS (
			INSERT INTO `+schema+`.wickr_user_counts AS c (network_id, pending) SELECT $1::text, count(*) FROM ins
			ON CONFLICT (network_id) DO UPDATE SET pending = c.pending + excluded.pending)
		INSERT INTO `+schema+`.wickr_group_users AS g (network_id, group_id, members) SELECT $1::text, group_id, count(*) FROM ins GROUP BY group_id
		ON CONFLICT (network_id, group_id) DO UPDATE SET members = g.members + excluded.members`,
		net, ids, names, firsts, lasts, groups, codes, valid, expires, at, unames)
}

// category is a user row's place in the counters: none (deleted), pending or active.
const category = `CASE WHEN u.deleted THEN 'none' WHEN u.status = 2 THEN 'active' ELSE 'pending' END`

// transition updates a live user's row with set (parameters from $3, the row aliased u) and moves the
// counters from the row's category, suspension and group before to those after, in one statement:
// its CTEs see the row as it was, and a user already deleted (or a replay) changes nothing.
func transition(b *pgx.Batch, schema, net, userID, set string, args ...any) {
	u := schema + ".wickr_users"
	b.Queue(`WITH old AS (
			SELECT `+category+` AS cat, u.suspended AS susp, u.group_id FROM `+u+` u WHERE u.network_id = $1 AND u.user_id = $2 AND NOT u.deleted),
		upd AS (
			UPDATE `+u+` u SET `+set+` WHERE u.network_id = $1 AND u.user_id = $2 AND NOT u.deleted
			RETURNING `+category+` AS cat, u.suspended AND NOT u.deleted AS susp, u.group_id),
		d AS (SELECT o.cat AS ocat, o.susp AS osusp, o.group_id AS og, n.cat AS ncat, n.susp AS nsusp, n.group_id AS ng FROM old o CROSS JOIN upd n),
		cnt AS (
			UPDATE `+schema+`.wickr_user_counts c SET
				pending = c.pending + x.p, active = c.active + x.a, suspended = c.suspended + x.s
			FROM (SELECT coalesce(sum((ncat = 'pending')::int - (ocat = 'pending')::int), 0) AS p,
				coalesce(sum((ncat = 'active')::int - (ocat = 'active')::int), 0) AS a,
				coalesce(sum(nsusp::int - osusp::int), 0) AS s FROM d) x
			WHERE c.network_id = $1)
		INSERT INTO `+schema+`.wickr_group_users AS g (network_id, group_id, members)
		SELECT $1::text, z.gid, sum(z.delta) FROM (
			SELECT og AS gid, -1 AS delta FROM d UNION ALL SELECT ng, CASE WHEN ncat = 'none' THEN 0 ELSE 1 END FROM d) z
		GROUP BY z.gid
		ON CONFLICT (network_id, group_id) DO UPDATE SET members = g.members + excluded.members`,
		append([]any{net, userID}, args...)...)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
