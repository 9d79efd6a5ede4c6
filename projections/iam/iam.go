// Package iam projects the installation's IAM stream (domain/belfry/iam) into rm.iam_principals,
// rm.iam_access_keys and rm.iam_policies, and answers the queries of the key lookup and the CLI.
//
// Invariants: the tables hold exactly the principals, live keys and attached policies the stream
// decides (a deleted key's row is gone); a key's secret is stored only as the sealed value of its
// event (never in clear); applying an event twice changes nothing.
package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/iampolicy"
	"github.com/belfry/belfry/projections"
)

// Projection is the IAM read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "iam" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"iam_principals", "iam_access_keys", "iam_policies"}
}

// Filter selects the IAM stream.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{iam.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.iam_principals (
			name         text PRIMARY KEY,
			principal_id text NOT NULL UNIQUE,
			created_at   timestamptz NOT NULL
		);
		CREATE TABLE %[1]s.iam_access_keys (
			access_key_id text PRIMARY KEY,
			principal     text NOT NULL,
			secret        jsonb NOT NULL,
			active        boolean NOT NULL,
			created_at    timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.iam_access_keys (principal, created_at);
		CREATE TABLE %[1]s.iam_policies (
			principal   text NOT NULL,
			policy_name text NOT NULL,
			managed     boolean NOT NULL,
			document    jsonb,
			attached_at timestamptz NOT NULL,
			PRIMARY KEY (principal, policy_name)
		);`, schema))
	return err
}

// Apply queues the statements of one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := iam.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	switch e := e.(type) {
	case iam.PrincipalCreated:
		b.Queue(`INSERT INTO `+schema+`.iam_principals (name, principal_id, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
			e.Name, e.PrincipalID, e.At)
	case iam.AccessKeyCreated:
		secret, err := json.Marshal(e.Secret)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO `+schema+`.iam_access_keys (access_key_id, principal, secret, active, created_at)
			VALUES ($1,$2,$3,true,$4) ON CONFLICT DO NOTHING`, e.AccessKeyID, e.Principal, secret, e.At)
	case iam.AccessKeyStatusChanged:
		b.Queue(`UPDATE `+schema+`.iam_access_keys SET active = $2 WHERE access_key_id = $1`, e.AccessKeyID, e.Active)
	case iam.AccessKeyDeleted:
		b.Queue(`DELETE FROM `+schema+`.iam_access_keys WHERE access_key_id = $1`, e.AccessKeyID)
	case iam.PolicyAttached:
		var doc []byte
		if e.Document != nil {
			if doc, err = json.Marshal(e.Document); err != nil {
				return err
			}
		}
		b.Queue(`INSERT INTO `+schema+`.iam_policies (principal, policy_name, managed, document, attached_at) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (principal, policy_name) DO UPDATE SET managed = $3, document = $4, attached_at = $5`,
			e.Principal, e.PolicyName, e.Managed, doc, e.At)
	case iam.PolicyDetached:
		b.Queue(`DELETE FROM `+schema+`.iam_policies WHERE principal = $1 AND policy_name = $2`, e.Principal, e.PolicyName)
	}
	return nil
}

// Store answers IAM queries from the read model.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Key is an active access key with its principal.
type Key struct {
	AccessKeyID  string
	Secret       domain.Sealed
	Principal    string
	PrincipalID  string
	AwsAccountID string
}

// ActiveKey returns an active key, or iam.ErrUnknownKey. It always reads the live keys (not a
// snapshot's: see projections.SQL): it authenticates requests.
func (s *Store) ActiveKey(ctx context.Context, id string) (Key, error) {
	k := Key{AccessKeyID: id}
	var secret []byte
	err := s.pool.QueryRow(ctx, `SELECT k.secret, p.name, p.principal_id, i.aws_account_id
		FROM rm.iam_access_keys k JOIN rm.iam_principals p ON p.name = k.principal, iam.installation i
		WHERE k.access_key_id = $1 AND k.active`, id).Scan(&secret, &k.Principal, &k.PrincipalID, &k.AwsAccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, domain.Wrapf(iam.ErrUnknownKey, "unknown access key %s", id)
	}
	if err != nil {
		return Key{}, fmt.Errorf("iam: look up key: %w", err)
	}
	if err := json.Unmarshal(secret, &k.Secret); err != nil {
		return Key{}, fmt.Errorf("iam: key %s: %w", id, err)
	}
	return k, nil
}

// PolicyRef is a policy attached to a principal, its document resolved.
type PolicyRef struct {
	Name     string             `json:"PolicyName"`
	Managed  bool               `json:"Managed"`
	Document iampolicy.Document `json:"PolicyDocument"`
}

// Policies returns a principal's policies in name order.
func (s *Store) Policies(ctx context.Context, principal string) ([]PolicyRef, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT policy_name, managed, document FROM rm.iam_policies
		WHERE principal = $1 ORDER BY policy_name`), principal)
	if err != nil {
		return nil, fmt.Errorf("iam: list policies: %w", err)
	}
	defer rows.Close()
	var out []PolicyRef
	for rows.Next() {
		var r PolicyRef
		var doc *iampolicy.Document
		if err := rows.Scan(&r.Name, &r.Managed, &doc); err != nil {
			return nil, err
		}
		if r.Managed {
			r.Document, _ = iampolicy.Managed(r.Name)
		} else if doc != nil {
			r.Document = *doc
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// KeyInfo describes an access key (never its secret).
type KeyInfo struct {
	AccessKeyID string    `json:"AccessKeyId"`
	UserName    string    `json:"UserName"`
	Status      string    `json:"Status"`
	CreatedAt   time.Time `json:"CreateDate"`
}

// AccessKeys lists the keys of a principal ("" for all).
func (s *Store) AccessKeys(ctx context.Context, principal string) ([]KeyInfo, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT access_key_id, principal, active, created_at FROM rm.iam_access_keys
		WHERE $1 = '' OR principal = $1 ORDER BY principal, created_at, access_key_id`), principal)
	if err != nil {
		return nil, fmt.Errorf("iam: list keys: %w", err)
	}
	defer rows.Close()
	var out []KeyInfo
	for rows.Next() {
		var k KeyInfo
		var active bool
		if err := rows.Scan(&k.AccessKeyID, &k.UserName, &active, &k.CreatedAt); err != nil {
			return nil, err
		}
		k.Status = "Inactive"
		if active {
			k.Status = "Active"
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// AwsAccountID is the installation's AWS account id.
func (s *Store) AwsAccountID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, "SELECT aws_account_id FROM iam.installation").Scan(&id); err != nil {
		return "", fmt.Errorf("iam: installation: %w", err)
	}
	return id, nil
}
