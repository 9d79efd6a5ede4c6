// Package datakeys encrypts content with AES-256-GCM (architecture §7): message content under one
// key per message (keys.message_keys), wrapped under a data key per (tenant, scope, UTC day)
// (keys.data_keys), itself stored only wrapped by two key-encryption keys that live outside Postgres
// in a Keyring — the scope's current KEK, then the period KEK of (tenant, class, day) —; credentials
// under one key per subject — a user or a bot of an account — (keys.subject_keys, domain.Sealed), so
// that destroying a subject's key shreds its credentials everywhere they were copied.
//
// Invariants: a key id names one key for ever; a key is created once (concurrent creators agree on
// the first); a destroyed key is gone, is never created again, and everything it sealed reads as
// ErrDestroyed (at once in the process that destroyed it or evicted it, within CacheTTL in the
// others). Destroying a period KEK (retention) or a scope (a deleted room) erases the KEK from the
// keyring, so the wrapped data keys left in the WAL, backups and replicas of the database open
// nothing. Shredding a message key (redaction) also replaces its day's data key and its scope's KEK,
// and erases the old KEK, so no copy of the old wrapped keys opens either. A key such a rotation finds
// damaged (it does not open: domain.ErrUnreadable) holds back neither the destruction nor the other
// keys: it is left as it was and reported, and the KEK is erased all the same. Subject keys are stored
// unwrapped: protect the database as you would the credentials.
package datakeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
)

// ErrDestroyed is content whose key was destroyed; it matches domain.ErrShredded.
var ErrDestroyed = fmt.Errorf("datakeys: %w", domain.ErrShredded)

// ErrNoKeyring is a data-key operation on a Store without a Keyring (New without WithKeyring).
var ErrNoKeyring = errors.New("datakeys: no keyring configured for data keys")

// CacheTTL bounds how long a process keeps using a key another process destroyed.
const CacheTTL = 2 * time.Second

// maxCached bounds the cache; it is emptied when full.
const maxCached = 100_000

type cached struct {
	key []byte
	gen int // data keys: the generation the key is (a redaction replaces a day's key)
	at  time.Time
}

// keyCache is a bounded cache of keys, each trusted for CacheTTL.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cached // key id → key
}

func (c *keyCache) get(id string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[id]
	if !ok || time.Since(k.at) >= CacheTTL {
		return cached{}, false
	}
	return k, true
}

func (c *keyCache) put(id string, k []byte, gen int) {
	c.mu.Lock()
	if len(c.m) > maxCached {
		clear(c.m)
	}
	c.m[id] = cached{key: k, gen: gen, at: time.Now()}
	c.mu.Unlock()
}

func (c *keyCache) evict(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.m {
		if strings.HasPrefix(id, prefix) {
			delete(c.m, id)
		}
	}
}

func (c *keyCache) reset() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// wrapping is the machinery of the wrapped data keys (daykeys.go, shred.go).
type wrapping struct {
	pool    *pgxpool.Pool
	ring    Keyring
	inserts *keyInserts
	// logger reports the damaged keys a destruction left as they were (nil: slog.Default()).
	logger *slog.Logger
	*keyCache
}

// Store hands out and caches keys.
type Store struct {
	wrapping
	newScopes
}

// New returns a Store over the keys schema (infra/migrations). Without WithKeyring it seals and
// opens subject keys only.
func New(pool *pgxpool.Pool) *Store {
	s := &Store{wrapping: wrapping{pool: pool, inserts: &keyInserts{pool: pool}, keyCache: &keyCache{m: map[string]cached{}}}}
	s.newScopes.st = s
	return s
}

// WithKeyring sets where the key-encryption keys of the data keys live.
func (s *Store) WithKeyring(r Keyring) *Store { s.ring = r; return s }

// WithLogger sets where a redaction (ShredMessage, Destroy) reports the damaged keys it had to leave
// as they were (default slog.Default()).
func (s *Store) WithLogger(l *slog.Logger) *Store { s.logger = l; return s }

// Evict drops the cached keys whose id starts with prefix, after another path (a projection's
// transaction, another process) destroyed them, so that this process stops using them at once.
func (s *Store) Evict(prefix string) { s.evict(prefix) }

// Key id prefixes: subject keys, day (data) keys, message keys; any other id is a day key of the
// first version (content sealed directly under it, before message keys).
const (
	subjectPrefix = "subject/"
	dayPrefix     = "day/"
	msgPrefix     = "msg/"
)

// KeyID names the data key of a tenant's scope (e.g. a room) on a UTC day.
func KeyID(tenant, scope string, day time.Time) string {
	return dayPrefix + tenant + "/" + scope + "/" + day.UTC().Format(time.DateOnly)
}

// Seal encrypts plaintext under a fresh message key, wrapped under the data key of (tenant, scope,
// day), and returns the message key's id and the nonce-prefixed ciphertext; the id is bound to it as
// additional data. Destroy(id) shreds that one message; destroying the day key, its period or its
// scope shreds every message of the day.
func (s *Store) Seal(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (string, []byte, error) {
	id, key, err := s.newMessageKey(ctx, tenant, scope, day)
	if err != nil {
		return "", nil, err
	}
	sealed, err := seal(id, key, plaintext)
	return id, sealed, err
}

func seal(id string, k, plaintext []byte) ([]byte, error) { return sealAAD(k, plaintext, []byte(id)) }

func sealAAD(k, plaintext, aad []byte) ([]byte, error) {
	gcm, err := aead(k)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plaintext, aad), nil
}

func openAAD(k, sealed, aad []byte) ([]byte, error) {
	gcm, err := aead(k)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, fmt.Errorf("datakeys: open: %w: it is too short", domain.ErrUnreadable)
	}
	pt, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("datakeys: open: %w: %w", domain.ErrUnreadable, err)
	}
	return pt, nil
}

// Open decrypts what Seal (or SealFor) returned; content whose key was destroyed is ErrDestroyed, and
// content that does not open under its key (damaged bytes, or a damaged wrapping of its key) is
// domain.ErrUnreadable.
func (s *Store) Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error) {
	var k []byte
	var err error
	switch {
	case strings.HasPrefix(keyID, subjectPrefix):
		k, err = s.loadSubject(ctx, keyID)
	case strings.HasPrefix(keyID, msgPrefix):
		k, err = s.messageKey(ctx, keyID)
	default:
		var c cached
		c, err = s.dayKey(ctx, keyID)
		k = c.key
	}
	if err != nil {
		return nil, err
	}
	return openAAD(k, sealed, []byte(keyID))
}

// Destroy erases a key: everything it sealed becomes unreadable for good. A message key is shredded
// (ShredMessage); a day key is destroyed with its message keys and its scope's KEK replaced.
func (s *Store) Destroy(ctx context.Context, keyID string) error {
	switch {
	case strings.HasPrefix(keyID, subjectPrefix):
		if _, err := s.pool.Exec(ctx, `UPDATE keys.subject_keys SET key = NULL, destroyed_at = now() WHERE key_id = $1`, keyID); err != nil {
			return fmt.Errorf("datakeys: destroy: %w", err)
		}
		s.evict(keyID)
		return nil
	case strings.HasPrefix(keyID, msgPrefix):
		return s.ShredMessage(ctx, keyID)
	}
	return s.destroyDay(ctx, keyID)
}

func aead(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// noRows tells a missing row from a failed query.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// NewContentKey creates a fresh content key — a message key, wrapped under the data key of (tenant,
// scope, day) like the keys Seal uses — for content too large to seal in one piece (an attachment,
// encrypted by the caller as a stream). It returns the key's id and the key; ContentKey loads it again.
// Destroying its day, period or scope, or ShredMessage(id), destroys it.
func (s *Store) NewContentKey(ctx context.Context, tenant, scope string, day time.Time) (string, []byte, error) {
	return s.newMessageKey(ctx, tenant, scope, day)
}

// ContentKey returns a key NewContentKey created; a destroyed one is ErrDestroyed.
func (s *Store) ContentKey(ctx context.Context, id string) ([]byte, error) {
	if !strings.HasPrefix(id, msgPrefix) {
		return nil, fmt.Errorf("datakeys: %q is not a content key", id)
	}
	return s.messageKey(ctx, id)
}
