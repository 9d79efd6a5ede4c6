// Package iam authenticates access keys for SigV4 from the IAM read model (projections/iam), and
// adapts the IAM stream's command path (domain/belfry/iam) and the takeover of the IAM tables of
// versions before IAM was event-sourced.
//
// Invariants: the installation has one AWS account id (12 digits, generated at first migration) that
// owns every principal; only an active key whose sealed secret opens authenticates; a key deactivated
// or deleted, an activated key, or a changed policy, applies to requests within keyCacheTTL of the
// read model applying it; an unknown key id is remembered as an active key is, so that answering it
// takes no longer than answering a key in use. Secrets are held in clear only in this process's memory
// (the cache), never in a table.
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

// KeyReader is the part of the IAM read model (projections/iam.Store) that authentication reads.
type KeyReader interface {
	ActiveKey(ctx context.Context, id string) (iamrm.Key, error)
	Policies(ctx context.Context, principal string) ([]iamrm.PolicyRef, error)
}

// Keys looks up access keys for SigV4.
type Keys struct {
	read    KeyReader
	secrets Opener

	mu    sync.Mutex
	cache map[string]cachedKey
	// unknown remembers the key ids found not active, as cache remembers the active ones (kept apart,
	// so that a flood of invented ids cannot evict the keys in use).
	unknown map[string]cachedKey
	// loads makes concurrent lookups of one key share one database read.
	loads singleflight.Group
}

// cachedKey is a key as read at a time: an active key's secret and principal, or (notFound set) the
// error that said it is not active.
type cachedKey struct {
	secret   string
	p        Principal
	at       time.Time
	notFound error
}

// keyCacheTTL bounds how long a deactivated key, or a principal's old policies, may still apply (and
// how long a key id found not active stays refused: an activated key works within it too). An entry
// older than half of it is refreshed in the background while it still answers, so a key in steady
// use never makes a request wait for the database (nor a crowd of requests read it at once). Unknown
// ids are remembered and refreshed alike, so that the time an answer takes does not tell whether a
// key id exists.
const keyCacheTTL = 2 * time.Second

// maxCachedKeys bounds each of the two caches; past it that cache starts over.
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
func NewKeys(read KeyReader, secrets Opener) *Keys {
	return &Keys{read: read, secrets: secrets, cache: map[string]cachedKey{}, unknown: map[string]cachedKey{}}
}

// LookupAccessKey implements sigv4.KeyLookup; the principal is a Principal, and an unknown, inactive
// or shredded key is an error of kind domain.KindNotFound.
func (s *Keys) LookupAccessKey(ctx context.Context, id string) (string, any, error) {
	s.mu.Lock()
	c, ok := s.cache[id]
	if !ok {
		c, ok = s.unknown[id]
	}
	s.mu.Unlock()
	if age := time.Since(c.at); ok && age < keyCacheTTL {
		if age > keyCacheTTL/2 {
			go func() {
				_, _, _ = s.loads.Do(id, func() (any, error) { return s.loadKey(context.WithoutCancel(ctx), id) })
			}()
		}
		if c.notFound != nil {
			return "", nil, c.notFound
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

// loadKey reads a key, its principal and policies, and caches them; a key no longer active moves to
// the unknown ids. An entry is dated when its read began, so that a change the read missed applies
// within keyCacheTTL of it.
func (s *Keys) loadKey(ctx context.Context, id string) (cachedKey, error) {
	at := time.Now()
	k, err := s.read.ActiveKey(ctx, id)
	if err == nil {
		secret, oerr := s.secrets.OpenSealed(ctx, k.Secret)
		switch {
		case errors.Is(oerr, domain.ErrShredded):
			err = domain.Wrapf(iam.ErrUnknownKey, "access key %s: its secret was destroyed", id)
		case oerr != nil:
			return cachedKey{}, fmt.Errorf("iam: open the secret of %s: %w", id, oerr)
		default:
			return s.remember(ctx, id, string(secret), k, at)
		}
	}
	if domain.KindOf(err) == domain.KindNotFound {
		s.mu.Lock()
		delete(s.cache, id)
		if len(s.unknown) > maxCachedKeys {
			clear(s.unknown)
		}
		s.unknown[id] = cachedKey{at: at, notFound: err}
		s.mu.Unlock()
	}
	return cachedKey{}, err
}

func (s *Keys) remember(ctx context.Context, id, secret string, k iamrm.Key, at time.Time) (cachedKey, error) {
	refs, err := s.read.Policies(ctx, k.Principal)
	if err != nil {
		return cachedKey{}, err
	}
	p := Principal{Name: k.Principal, PrincipalID: k.PrincipalID, AwsAccountID: k.AwsAccountID, AccessKeyID: id}
	for _, r := range refs {
		p.Policies = append(p.Policies, r.Document)
	}
	c := cachedKey{secret: secret, p: p, at: at}
	s.mu.Lock()
	if len(s.cache) > maxCachedKeys {
		clear(s.cache)
	}
	delete(s.unknown, id)
	s.cache[id] = c
	s.mu.Unlock()
	return c, nil
}
