// Package iam authenticates access keys for SigV4 from the IAM read model (projections/iam), and
// adapts the IAM stream's command path (domain/belfry/iam) and the takeover of the IAM tables of
// versions before IAM was event-sourced.
//
// Invariants: the installation has one AWS account id (12 digits, generated at first migration) that
// owns every principal; only an active key whose sealed secret opens authenticates; a key deactivated
// or deleted, or a changed policy, applies to requests within keyCacheTTL of the read model applying
// it. Secrets are held in clear only in this process's memory (the cache), never in a table.
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/iampolicy"
	iamrm "github.com/belfry/belfry/projections/iam"
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

// AWSAccount is the principal's AWS account id.
func (p Principal) AWSAccount() string { return p.AwsAccountID }

// ID is the principal's unique id.
func (p Principal) ID() string { return p.PrincipalID }

// UserName is the principal's name.
func (p Principal) UserName() string { return p.Name }

// Opener opens sealed secrets.
type Opener interface {
	OpenSealed(ctx context.Context, s domain.Sealed) ([]byte, error)
}

// Keys looks up access keys for SigV4.
type Keys struct {
	read    *iamrm.Store
	secrets Opener

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

// maxCachedKeys bounds the cache; past it the cache starts over.
const maxCachedKeys = 10000

// Init creates the installation's AWS account id once (the schema comes from infra/migrations).
func Init(ctx context.Context, pool *pgxpool.Pool) error {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e11))
	id := fmt.Sprintf("%012d", n.Int64()+1e11)
	if _, err := pool.Exec(ctx, `INSERT INTO iam.installation (aws_account_id) VALUES ($1) ON CONFLICT DO NOTHING`, id); err != nil {
		return fmt.Errorf("iam: installation: %w", err)
	}
	return nil
}

// NewKeys returns a key lookup over the IAM read model.
func NewKeys(read *iamrm.Store, secrets Opener) *Keys {
	return &Keys{read: read, secrets: secrets, cache: map[string]cachedKey{}}
}

// LookupAccessKey implements sigv4.KeyLookup; the principal is a Principal, and an unknown, inactive
// or shredded key is an error of kind domain.KindNotFound.
func (s *Keys) LookupAccessKey(ctx context.Context, id string) (string, any, error) {
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
func (s *Keys) loadKey(ctx context.Context, id string) (cachedKey, error) {
	k, err := s.read.ActiveKey(ctx, id)
	if err == nil {
		secret, oerr := s.secrets.OpenSealed(ctx, k.Secret)
		switch {
		case errors.Is(oerr, domain.ErrShredded):
			err = domain.Wrapf(iam.ErrUnknownKey, "access key %s: its secret was destroyed", id)
		case oerr != nil:
			return cachedKey{}, fmt.Errorf("iam: open the secret of %s: %w", id, oerr)
		default:
			return s.remember(ctx, id, string(secret), k)
		}
	}
	if domain.KindOf(err) == domain.KindNotFound {
		s.mu.Lock()
		delete(s.cache, id)
		s.mu.Unlock()
	}
	return cachedKey{}, err
}

func (s *Keys) remember(ctx context.Context, id, secret string, k iamrm.Key) (cachedKey, error) {
	refs, err := s.read.Policies(ctx, k.Principal)
	if err != nil {
		return cachedKey{}, err
	}
	p := Principal{Name: k.Principal, PrincipalID: k.PrincipalID, AwsAccountID: k.AwsAccountID, AccessKeyID: id}
	for _, r := range refs {
		p.Policies = append(p.Policies, r.Document)
	}
	c := cachedKey{secret: secret, p: p, at: time.Now()}
	s.mu.Lock()
	if len(s.cache) > maxCachedKeys {
		clear(s.cache)
	}
	s.cache[id] = c
	s.mu.Unlock()
	return c, nil
}
