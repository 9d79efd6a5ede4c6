package datakeys

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/belfry/belfry/domain"
)

// IndexTenant is the tenant of the installation-wide index keys (Index); account ids never equal it.
const IndexTenant = "belfry"

// subjectKey returns the key of a subject, creating it on first use. A destroyed subject key stays
// destroyed: the row is kept with its bytes erased, so the insert does nothing and the load answers
// ErrDestroyed — nothing can be sealed again for a deleted user or bot.
func (s *Store) subjectKey(ctx context.Context, tenant, subject string) (string, []byte, error) {
	id := domain.SubjectKeyID(tenant, subject)
	if k, ok := s.cachedKey(id); ok {
		return id, k, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return "", nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO keys.subject_keys (key_id, tenant, subject, key) VALUES ($1,$2,$3,$4)
		ON CONFLICT DO NOTHING`, id, tenant, subject, fresh); err != nil {
		return "", nil, fmt.Errorf("datakeys: create subject key: %w", err)
	}
	k, err := s.load(ctx, id)
	return id, k, err
}

// SealFor encrypts a credential under the key of one subject of a tenant (e.g. account a, "user/u");
// the key id is bound to the ciphertext as additional data. A destroyed subject is ErrDestroyed.
func (s *Store) SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error) {
	id, k, err := s.subjectKey(ctx, tenant, subject)
	if err != nil {
		return domain.Sealed{}, err
	}
	data, err := seal(id, k, plaintext)
	if err != nil {
		return domain.Sealed{}, err
	}
	return domain.Sealed{KeyID: id, Data: data}, nil
}

// OpenSealed decrypts what SealFor returned; a credential whose key was destroyed is ErrDestroyed.
func (s *Store) OpenSealed(ctx context.Context, sealed domain.Sealed) ([]byte, error) {
	return s.Open(ctx, sealed.KeyID, sealed.Data)
}

// Warm loads the named keys that are not cached with one query, so that opening a page of
// credentials costs one round trip; destroyed and unknown keys are left for Open to report.
func (s *Store) Warm(ctx context.Context, keyIDs []string) error {
	byTable := map[string][]string{}
	for _, id := range keyIDs {
		if _, ok := s.cachedKey(id); !ok && id != "" {
			byTable[table(id)] = append(byTable[table(id)], id)
		}
	}
	for tbl, ids := range byTable {
		rows, err := s.pool.Query(ctx, `SELECT key_id, key FROM `+tbl+` WHERE key_id = ANY($1) AND key IS NOT NULL`, ids)
		if err != nil {
			return fmt.Errorf("datakeys: warm: %w", err)
		}
		for rows.Next() {
			var id string
			var k []byte
			if err := rows.Scan(&id, &k); err != nil {
				rows.Close()
				return fmt.Errorf("datakeys: warm: %w", err)
			}
			s.remember(id, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("datakeys: warm: %w", err)
		}
	}
	return nil
}

// DestroySubject destroys a subject's key (creating it destroyed if it never existed, so that it is
// never created later): every credential sealed under it becomes unreadable for good.
func (s *Store) DestroySubject(ctx context.Context, tenant, subject string) error {
	id := domain.SubjectKeyID(tenant, subject)
	if _, err := s.pool.Exec(ctx, `INSERT INTO keys.subject_keys (key_id, tenant, subject, key, destroyed_at) VALUES ($1,$2,$3,NULL,now())
		ON CONFLICT (key_id) DO UPDATE SET key = NULL, destroyed_at = coalesce(keys.subject_keys.destroyed_at, now())`, id, tenant, subject); err != nil {
		return fmt.Errorf("datakeys: destroy subject key: %w", err)
	}
	s.Evict(id)
	return nil
}

// Evict drops the cached keys whose id starts with prefix, after another path (a projection's
// transaction) destroyed them, so that this process stops using them at once.
func (s *Store) Evict(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.cache {
		if strings.HasPrefix(id, prefix) {
			delete(s.cache, id)
		}
	}
}

// Index returns the hex HMAC-SHA256 of value under the installation-wide index key name (created on
// first use, never destroyed). It names things by a secret value — a reservation stream per personal
// PIN — without putting the value in the log: without the key, a 10-digit PIN cannot be recovered by
// hashing every candidate.
func (s *Store) Index(ctx context.Context, name string, value []byte) (string, error) {
	_, k, err := s.subjectKey(ctx, IndexTenant, "index/"+name)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// DestroyTenant destroys the keys of every subject of a tenant (a deleted account's users and bots).
func (s *Store) DestroyTenant(ctx context.Context, tenant string) error {
	if tenant == IndexTenant {
		return fmt.Errorf("datakeys: the index keys of the installation are never destroyed")
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys.subject_keys SET key = NULL, destroyed_at = coalesce(destroyed_at, now())
		WHERE tenant = $1 AND key IS NOT NULL`, tenant); err != nil {
		return fmt.Errorf("datakeys: destroy tenant keys: %w", err)
	}
	s.Evict(domain.SubjectKeyID(tenant, ""))
	return nil
}
