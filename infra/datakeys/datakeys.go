// Package datakeys encrypts content with AES-256-GCM under data keys kept in Postgres (architecture
// §7): message content under one key per (tenant, scope, UTC day) (keys.data_keys), credentials under
// one key per subject — a user or a bot of an account — (keys.subject_keys, domain.Sealed), so that
// destroying a subject's key shreds its credentials everywhere they were copied (crypto-shredding).
//
// Invariants: a key id names one key for ever; a key is created once (concurrent creators agree on
// the first); a destroyed key is gone (its bytes erased), is never created again, and everything it
// sealed reads as ErrDestroyed (at once in the process that destroyed it or evicted it, within
// CacheTTL in the others). Keys are stored unwrapped: protect the database as you would the content
// (wrapping by a master key or a KMS is not built yet).
package datakeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
)

// ErrDestroyed is content whose key was destroyed; it matches domain.ErrShredded.
var ErrDestroyed = fmt.Errorf("datakeys: %w", domain.ErrShredded)

// CacheTTL bounds how long a process keeps using a key another process destroyed.
const CacheTTL = 2 * time.Second

type cached struct {
	key []byte
	at  time.Time
}

// Store hands out and caches data keys.
type Store struct {
	pool  *pgxpool.Pool
	mu    sync.Mutex
	cache map[string]cached // key id → key
}

// New returns a Store over the keys schema (infra/migrations).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, cache: map[string]cached{}} }

func (s *Store) cachedKey(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[id]
	if !ok || time.Since(c.at) >= CacheTTL {
		return nil, false
	}
	return c.key, true
}

// KeyID names the key of a tenant's scope (e.g. a room) on a UTC day.
func KeyID(tenant, scope string, day time.Time) string {
	return tenant + "/" + scope + "/" + day.UTC().Format("2006-01-02")
}

func (s *Store) key(ctx context.Context, tenant, scope string, day time.Time) (string, []byte, error) {
	id := KeyID(tenant, scope, day)
	if k, ok := s.cachedKey(id); ok {
		return id, k, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return "", nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO keys.data_keys (key_id, tenant, scope, day, key) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (key_id) DO NOTHING`, id, tenant, scope, day.UTC().Format("2006-01-02"), fresh); err != nil {
		return "", nil, fmt.Errorf("datakeys: create key: %w", err)
	}
	k, err := s.load(ctx, id)
	return id, k, err
}

// table is where the key named id lives: subject keys (domain.SubjectKeyID) or day keys.
func table(id string) string {
	if strings.HasPrefix(id, subjectPrefix) {
		return "keys.subject_keys"
	}
	return "keys.data_keys"
}

const subjectPrefix = "subject/"

func (s *Store) load(ctx context.Context, id string) ([]byte, error) {
	if k, ok := s.cachedKey(id); ok {
		return k, nil
	}
	var k []byte
	err := s.pool.QueryRow(ctx, `SELECT key FROM `+table(id)+` WHERE key_id = $1`, id).Scan(&k)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && k == nil {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("datakeys: load key: %w", err)
	}
	s.remember(id, k)
	return k, nil
}

func (s *Store) remember(id string, k []byte) {
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache)
	}
	s.cache[id] = cached{key: k, at: time.Now()}
	s.mu.Unlock()
}

// Seal encrypts plaintext under the key of (tenant, scope, day) and returns the key id and the
// nonce-prefixed ciphertext; the key id is bound to it as additional data.
func (s *Store) Seal(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (string, []byte, error) {
	id, k, err := s.key(ctx, tenant, scope, day)
	if err != nil {
		return "", nil, err
	}
	sealed, err := seal(id, k, plaintext)
	return id, sealed, err
}

func seal(id string, k, plaintext []byte) ([]byte, error) {
	gcm, err := aead(k)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plaintext, []byte(id)), nil
}

// Open decrypts what Seal returned; content whose key was destroyed is ErrDestroyed.
func (s *Store) Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error) {
	k, err := s.load(ctx, keyID)
	if err != nil {
		return nil, err
	}
	gcm, err := aead(k)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("datakeys: sealed content too short")
	}
	pt, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(keyID))
	if err != nil {
		return nil, fmt.Errorf("datakeys: open: %w", err)
	}
	return pt, nil
}

// Destroy erases a key: everything it sealed becomes unreadable for good.
func (s *Store) Destroy(ctx context.Context, keyID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE `+table(keyID)+` SET key = NULL, destroyed_at = now() WHERE key_id = $1`, keyID); err != nil {
		return fmt.Errorf("datakeys: destroy: %w", err)
	}
	s.mu.Lock()
	delete(s.cache, keyID)
	s.mu.Unlock()
	return nil
}

func aead(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
