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
	"golang.org/x/sync/singleflight"

	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/iampolicy"
)

// Principal is an authenticated caller with its identity policies.
type Principal struct {
	Name         string
	PrincipalID  string
	AwsAccountID string
	AccessKeyID  string
	Policies     []iampolicy.Document
}

// Allowed reports whether the principal's policies allow action (explicit deny wins).
func (p Principal) Allowed(action string) bool {
	return iampolicy.Evaluate(p.Policies, action) == iampolicy.Allow
}

// ARN is the principal's IAM-style ARN.
func (p Principal) ARN() string { return "arn:aws:iam::" + p.AwsAccountID + ":user/" + p.Name }

// Store manages principals and keys.
type Store struct {
	pool *pgxpool.Pool

	mu    sync.Mutex
	cache map[string]cachedKey
	// loads makes concurrent lookups of one key share one database read.
	loads singleflight.Group
}

type cachedKey struct {
	secret string
	p      Principal
	at     time.Time
}

// keyCacheTTL bounds how long a deactivated key, or a principal's old policies, may still apply.
// An entry older than half of it is refreshed in the background while it still answers, so a key in
// steady use never makes a request wait for the database (nor a crowd of requests read it at once).
const keyCacheTTL = 2 * time.Second

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
	if age := time.Since(c.at); ok && age < keyCacheTTL {
		if age > keyCacheTTL/2 {
			go func() {
				_, _, _ = s.loads.Do(id, func() (any, error) { return s.loadKey(context.WithoutCancel(ctx), id) })
			}()
		}
		return c.secret, c.p, nil
	}
	v, err, _ := s.loads.Do(id, func() (any, error) { return s.loadKey(context.WithoutCancel(ctx), id) })
	if err != nil {
		return "", nil, err
	}
	k := v.(cachedKey)
	return k.secret, k.p, nil
}

// loadKey reads a key, its principal and policies, and caches them (a key no longer active is
// dropped from the cache).
func (s *Store) loadKey(ctx context.Context, id string) (cachedKey, error) {
	var secret string
	p := Principal{AccessKeyID: id}
	err := s.pool.QueryRow(ctx, `SELECT k.secret, p.name, p.principal_id, i.aws_account_id
		FROM iam.access_keys k JOIN iam.principals p ON p.name = k.principal, iam.installation i
		WHERE k.access_key_id = $1 AND k.active`, id).Scan(&secret, &p.Name, &p.PrincipalID, &p.AwsAccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		s.mu.Lock()
		delete(s.cache, id)
		s.mu.Unlock()
		return cachedKey{}, sigv4.ErrUnknownKey
	}
	if err != nil {
		return cachedKey{}, fmt.Errorf("iam: look up key: %w", err)
	}
	refs, err := s.ListPolicies(ctx, p.Name)
	if err != nil {
		return cachedKey{}, err
	}
	for _, r := range refs {
		p.Policies = append(p.Policies, r.Document)
	}
	k := cachedKey{secret: secret, p: p, at: time.Now()}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[id] = k
	s.mu.Unlock()
	return k, nil
}

// AWSAccount is the principal's AWS account id.
func (p Principal) AWSAccount() string { return p.AwsAccountID }

// ID is the principal's unique id.
func (p Principal) ID() string { return p.PrincipalID }

// UserName is the principal's name.
func (p Principal) UserName() string { return p.Name }

// PolicyRef is a policy attached to a principal.
type PolicyRef struct {
	Name     string             `json:"PolicyName"`
	Managed  bool               `json:"Managed"`
	Document iampolicy.Document `json:"PolicyDocument"`
}

// ErrNoPrincipal is returned for a principal that does not exist.
var ErrNoPrincipal = errors.New("iam: no such principal")

// AttachManaged attaches a managed policy (see iampolicy.ManagedNames) to a principal.
func (s *Store) AttachManaged(ctx context.Context, principal, name string) error {
	if _, ok := iampolicy.Managed(name); !ok {
		return fmt.Errorf("iam: unknown managed policy %q (known: %s)", name, strings.Join(iampolicy.ManagedNames(), ", "))
	}
	return s.putPolicy(ctx, principal, name, nil)
}

// PutInline stores (or replaces) an inline policy of a principal.
func (s *Store) PutInline(ctx context.Context, principal, name string, doc iampolicy.Document) error {
	if err := doc.Validate(); err != nil {
		return fmt.Errorf("iam: policy %s: %w", name, err)
	}
	if _, ok := iampolicy.Managed(name); ok {
		return fmt.Errorf("iam: %q is the name of a managed policy", name)
	}
	return s.putPolicy(ctx, principal, name, &doc)
}

func (s *Store) putPolicy(ctx context.Context, principal, name string, doc *iampolicy.Document) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM iam.principals WHERE name = $1)", principal).Scan(&exists); err != nil {
		return fmt.Errorf("iam: %w", err)
	}
	if !exists {
		return fmt.Errorf("%w: %s", ErrNoPrincipal, principal)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO iam.principal_policies (principal, policy_name, managed, document) VALUES ($1, $2, $3, $4)
		ON CONFLICT (principal, policy_name) DO UPDATE SET document = $4, attached_at = now()`, principal, name, doc == nil, doc)
	if err != nil {
		return fmt.Errorf("iam: attach %s to %s: %w", name, principal, err)
	}
	s.forget()
	return nil
}

// Detach removes a policy from a principal.
func (s *Store) Detach(ctx context.Context, principal, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM iam.principal_policies WHERE principal = $1 AND policy_name = $2", principal, name)
	if err != nil {
		return fmt.Errorf("iam: detach: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("iam: %s has no policy %s", principal, name)
	}
	s.forget()
	return nil
}

// ListPolicies returns a principal's policies with their documents.
func (s *Store) ListPolicies(ctx context.Context, principal string) ([]PolicyRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT policy_name, managed, document FROM iam.principal_policies
		WHERE principal = $1 ORDER BY policy_name`, principal)
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

func (s *Store) forget() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// KeyInfo describes an access key (never its secret).
type KeyInfo struct {
	AccessKeyID string    `json:"AccessKeyId"`
	UserName    string    `json:"UserName"`
	Status      string    `json:"Status"`
	CreatedAt   time.Time `json:"CreateDate"`
}

// ListAccessKeys lists the keys of a principal ("" for all).
func (s *Store) ListAccessKeys(ctx context.Context, principal string) ([]KeyInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT access_key_id, principal, active, created_at FROM iam.access_keys
		WHERE $1 = '' OR principal = $1 ORDER BY principal, created_at`, principal)
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

// SetKeyActive activates or deactivates a key; a running server stops accepting it within keyCacheTTL.
func (s *Store) SetKeyActive(ctx context.Context, keyID string, active bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE iam.access_keys SET active = $2 WHERE access_key_id = $1`, keyID, active)
	if err != nil {
		return fmt.Errorf("iam: update key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("iam: no access key %s", keyID)
	}
	s.forget()
	return nil
}
