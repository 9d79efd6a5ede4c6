// Package wickrnetworks projects the Wickr network streams (package domain/wickr/network) into the
// read models of networks, their settings, security groups and bots, and answers the Wickr API's
// queries about them.
//
// Invariants: one row per network ever created; a network being deleted or deleted keeps its row
// with its status and is invisible to every query. Rows belong to one AWS account and one region, and
// queries never cross either. A deleted security group's row is removed (its users are moved by the
// roster; see projections/wickrusers). Secrets never reach these tables: bots' challenges are only
// "has a challenge". Every statement is idempotent for its event (replays change nothing).
package wickrnetworks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/network"
)

// Projection is the networks read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_networks" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_networks", "wickr_security_groups", "wickr_bots"}
}

// Filter selects the network streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_networks (
			network_id          text PRIMARY KEY,
			aws_account_id      text NOT NULL,
			region              text NOT NULL,
			name                text NOT NULL,
			access_level        text NOT NULL,
			trial               boolean NOT NULL DEFAULT false,
			trial_expires_at    timestamptz,
			encryption_key_arn  text NOT NULL DEFAULT '',
			status              text NOT NULL,
			seats               int NOT NULL DEFAULT 0,
			client_metrics      boolean NOT NULL DEFAULT false,
			read_receipt_status text NOT NULL DEFAULT 'DISABLED',
			data_retention      boolean NOT NULL DEFAULT false,
			trusted_data_format boolean NOT NULL DEFAULT false,
			consent_popup       jsonb NOT NULL DEFAULT '{}',
			created_at          timestamptz NOT NULL,
			updated_at          timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.wickr_networks (aws_account_id, region, network_id) WHERE status = 'Active';
		CREATE INDEX ON %[1]s.wickr_networks (aws_account_id, region, name, network_id) WHERE status = 'Active';
		CREATE TABLE %[1]s.wickr_security_groups (
			network_id text NOT NULL,
			group_id   text NOT NULL,
			name       text NOT NULL,
			is_default boolean NOT NULL,
			settings   jsonb NOT NULL,
			modified   timestamptz NOT NULL,
			PRIMARY KEY (network_id, group_id)
		);
		CREATE INDEX ON %[1]s.wickr_security_groups (network_id, name, group_id);
		CREATE TABLE %[1]s.wickr_bots (
			network_id    text NOT NULL,
			bot_id        text NOT NULL,
			username      text NOT NULL,
			display_name  text NOT NULL DEFAULT '',
			group_id      text NOT NULL,
			status        int NOT NULL DEFAULT 1,
			suspended     boolean NOT NULL DEFAULT false,
			has_challenge boolean NOT NULL DEFAULT false,
			last_login    timestamptz,
			created_at    timestamptz NOT NULL,
			deleted       boolean NOT NULL DEFAULT false,
			PRIMARY KEY (network_id, bot_id)
		);
		CREATE INDEX ON %[1]s.wickr_bots (network_id, group_id) WHERE NOT deleted;`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := network.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ev.StreamID, network.StreamPrefix)
	n := schema + ".wickr_networks"
	switch e := e.(type) {
	case network.Created:
		b.Queue(`INSERT INTO `+n+` (network_id, aws_account_id, region, name, access_level, trial, trial_expires_at, encryption_key_arn,
			status, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) ON CONFLICT DO NOTHING`,
			e.NetworkID, e.AwsAccountID, e.Region, e.Name, e.AccessLevel, e.Trial, nullTime(e.TrialExpiresAt), e.EncryptionKeyArn,
			network.StatusActive, e.At)
	case network.Updated:
		b.Queue(`UPDATE `+n+` SET name = $2, encryption_key_arn = $3, updated_at = $4 WHERE network_id = $1`, id, e.Name, e.EncryptionKeyArn, e.At)
	case network.PlanChanged:
		b.Queue(`UPDATE `+n+` SET access_level = $2, trial = $3, trial_expires_at = $4, updated_at = $5 WHERE network_id = $1`,
			id, e.AccessLevel, e.Trial, nullTime(e.TrialExpiresAt), e.At)
	case network.DeletionRequested:
		b.Queue(`UPDATE `+n+` SET status = $2, updated_at = $3 WHERE network_id = $1`, id, network.StatusDeleting, e.At)
	case network.Deleted:
		b.Queue(`UPDATE `+n+` SET status = $2, updated_at = $3 WHERE network_id = $1`, id, network.StatusDeleted, e.At)
	case network.SettingsUpdated:
		popup, err := json.Marshal(e.ConsentPopup)
		if err != nil {
			return err
		}
		b.Queue(`UPDATE `+n+` SET client_metrics = $2, read_receipt_status = $3, trusted_data_format = $4, consent_popup = $5, updated_at = $6
			WHERE network_id = $1`, id, e.EnableClientMetrics, e.ReadReceiptStatus, e.EnableTrustedDataFormat, popup, e.At)
	case network.DataRetentionEnabled:
		b.Queue(`UPDATE `+n+` SET data_retention = true, updated_at = $2 WHERE network_id = $1`, id, e.At)
	case network.DataRetentionDisabled:
		b.Queue(`UPDATE `+n+` SET data_retention = false, updated_at = $2 WHERE network_id = $1`, id, e.At)
	case network.SeatsTaken:
		b.Queue(`UPDATE `+n+` SET seats = seats + $2 WHERE network_id = $1`, id, e.N)
	case network.SeatsReleased:
		b.Queue(`UPDATE `+n+` SET seats = greatest(seats - $2, 0) WHERE network_id = $1`, id, e.N)
	case network.SeatsCounted:
		b.Queue(`UPDATE `+n+` SET seats = $2 WHERE network_id = $1`, id, e.N)
	default:
		return applyGroupsAndBots(b, schema, id, e)
	}
	return nil
}

func applyGroupsAndBots(b *pgx.Batch, schema, id string, e network.Event) error {
	g, bt := schema+".wickr_security_groups", schema+".wickr_bots"
	switch e := e.(type) {
	case network.GroupCreated:
		st, err := json.Marshal(e.Settings)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO `+g+` (network_id, group_id, name, is_default, settings, modified) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`,
			id, e.GroupID, e.Name, e.IsDefault, st, e.At)
	case network.GroupUpdated:
		st, err := json.Marshal(e.Settings)
		if err != nil {
			return err
		}
		b.Queue(`UPDATE `+g+` SET name = $3, settings = $4, modified = $5 WHERE network_id = $1 AND group_id = $2`, id, e.GroupID, e.Name, st, e.At)
	case network.GroupDeleted:
		b.Queue(`DELETE FROM `+g+` WHERE network_id = $1 AND group_id = $2`, id, e.GroupID)
	case network.BotCreated:
		b.Queue(`INSERT INTO `+bt+` (network_id, bot_id, username, display_name, group_id, has_challenge, created_at) VALUES ($1,$2,$3,$4,$5,true,$6)
			ON CONFLICT DO NOTHING`, id, e.BotID, e.Username, e.DisplayName, e.GroupID, e.At)
	case network.BotUpdated:
		b.Queue(`UPDATE `+bt+` SET display_name = $3, group_id = $4 WHERE network_id = $1 AND bot_id = $2`, id, e.BotID, e.DisplayName, e.GroupID)
	case network.BotSuspended:
		b.Queue(`UPDATE `+bt+` SET suspended = true WHERE network_id = $1 AND bot_id = $2`, id, e.BotID)
	case network.BotUnsuspended:
		b.Queue(`UPDATE `+bt+` SET suspended = false WHERE network_id = $1 AND bot_id = $2`, id, e.BotID)
	case network.BotSignedIn:
		b.Queue(`UPDATE `+bt+` SET status = 2, last_login = $3 WHERE network_id = $1 AND bot_id = $2`, id, e.BotID, e.At)
	case network.BotDeleted:
		b.Queue(`UPDATE `+bt+` SET deleted = true WHERE network_id = $1 AND bot_id = $2`, id, e.BotID)
	}
	// The data-retention bot, SSO, OpenTDF and the guest block list have no read model here yet.
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
