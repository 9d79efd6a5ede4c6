// Package iam keeps Belfry's principals and access keys in Postgres (schema "iam").
//
// Invariants: the installation has one AWS account id (12 digits, generated at first migration) that
// owns every principal; an access key id is "AKIA" + 16 upper-case base-32 characters and is shown with
// its secret exactly once, at creation; an inactive key does not authenticate. Secrets are stored as
// given because SigV4 verification needs them (protect the database as you would the secrets).
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/sigv4"
)

// Principal is an authenticated caller.
type Principal struct {
	Name         string
	PrincipalID  string
	AwsAccountID string
	AccessKeyID  string
}

// ARN is the principal's IAM-style ARN.
func (p Principal) ARN() string { return "arn:aws:iam::" + p.AwsAccountID + ":user/" + p.Name }

// Store manages principals and keys.
type Store struct {
	pool *pgxpool.Pool

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	secret string
	p      Principal
	at     time.Time
}

// keyCacheTTL bounds how long a deactivated key may still authenticate.
const keyCacheTTL = 10 * time.Second

// Init creates the installation's AWS account id once (the schema comes from infra/migrations).
func Init(ctx context.Context, pool *pgxpool.Pool) error {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e11))
	id := fmt.Sprintf("%012d", n.Int64()+1e11)
	if _, err := pool.Exec(ctx, `INSERT INTO iam.installation (aws_account_id) VALUES ($1) ON CONFLICT DO NOTHING`, id); err != nil {
		return fmt.Errorf("iam: installation: %w", err)
	}
	return nil
}

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, cache: map[string]cachedKey{}} }

// AccessKey is a newly created key; the secret is never shown again.
type AccessKey struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	UserName        string `json:"UserName"`
	AwsAccountID    string `json:"AwsAccountId"`
}

// CreateAccessKey creates a key for principal name, creating the principal if needed.
func (s *Store) CreateAccessKey(ctx context.Context, name string) (AccessKey, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " /:") {
		return AccessKey{}, fmt.Errorf("iam: principal name %q must be 1-64 characters without spaces, '/' or ':'", name)
	}
	idBytes := make([]byte, 10)
	secretBytes := make([]byte, 30)
	pidBytes := make([]byte, 10)
	_, _ = rand.Read(idBytes)
	_, _ = rand.Read(secretBytes)
	_, _ = rand.Read(pidBytes)
	key := AccessKey{
		AccessKeyID:     "AKIA" + base32.StdEncoding.EncodeToString(idBytes)[:16],
		SecretAccessKey: base64.StdEncoding.EncodeToString(secretBytes),
		UserName:        name,
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT aws_account_id FROM iam.installation").Scan(&key.AwsAccountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO iam.principals (name, principal_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			name, "AIDA"+base32.StdEncoding.EncodeToString(pidBytes)[:16]); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO iam.access_keys (access_key_id, secret, principal) VALUES ($1, $2, $3)`,
			key.AccessKeyID, key.SecretAccessKey, name)
		return err
	})
	if err != nil {
		return AccessKey{}, fmt.Errorf("iam: create access key: %w", err)
	}
	return key, nil
}

// CountKeys returns how many access keys exist.
func (s *Store) CountKeys(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM iam.access_keys").Scan(&n)
	return n, err
}

// LookupAccessKey implements sigv4.KeyLookup; the principal is a Principal.
func (s *Store) LookupAccessKey(ctx context.Context, id string) (string, any, error) {
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && time.Since(c.at) < keyCacheTTL {
		return c.secret, c.p, nil
	}
	var secret string
	p := Principal{AccessKeyID: id}
	err := s.pool.QueryRow(ctx, `SELECT k.secret, p.name, p.principal_id, i.aws_account_id
		FROM iam.access_keys k JOIN iam.principals p ON p.name = k.principal, iam.installation i
		WHERE k.access_key_id = $1 AND k.active`, id).Scan(&secret, &p.Name, &p.PrincipalID, &p.AwsAccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, sigv4.ErrUnknownKey
	}
	if err != nil {
		return "", nil, fmt.Errorf("iam: look up key: %w", err)
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[id] = cachedKey{secret: secret, p: p, at: time.Now()}
	s.mu.Unlock()
	return secret, p, nil
}

// AWSAccount is the principal's AWS account id.
func (p Principal) AWSAccount() string { return p.AwsAccountID }

// ID is the principal's unique id.
func (p Principal) ID() string { return p.PrincipalID }

// UserName is the principal's name.
func (p Principal) UserName() string { return p.Name }
