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
	if c, ok := s.get(id); ok {
		return id, c.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return "", nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO keys.subject_keys (key_id, tenant, subject, key) VALUES ($1,$2,$3,$4)
		ON CONFLICT DO NOTHING`, id, tenant, subject, fresh); err != nil {
		return "", nil, fmt.Errorf("datakeys: create subject key: %w", err)
	}
	k, err := s.loadSubject(ctx, id)
	return id, k, err
}

// loadSubject returns a subject key (ErrDestroyed when it was destroyed or never created).
func (s *Store) loadSubject(ctx context.Context, id string) ([]byte, error) {
	if c, ok := s.get(id); ok {
		return c.key, nil
	}
	var k []byte
	err := s.pool.QueryRow(ctx, `SELECT key FROM keys.subject_keys WHERE key_id = $1`, id).Scan(&k)
	if noRows(err) || err == nil && k == nil {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("datakeys: load key: %w", err)
	}
	s.put(id, k, 0)
	return k, nil
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

// Warm loads the named subject and message keys that are not cached with one query each, so that
// opening a page of credentials or messages costs a round trip or two; destroyed and unknown keys
// are left for Open to report.
func (s *Store) Warm(ctx context.Context, keyIDs []string) error {
	var subjects, messages []string
	for _, id := range keyIDs {
		if _, ok := s.get(id); ok || id == "" {
			continue
		}
		switch {
		case strings.HasPrefix(id, subjectPrefix):
			subjects = append(subjects, id)
		case strings.HasPrefix(id, msgPrefix):
			messages = append(messages, id)
		}
	}
	if len(messages) > 0 {
		if err := s.warmMessages(ctx, messages); err != nil {
			return err
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key_id, key FROM keys.subject_keys WHERE key_id = ANY($1) AND key IS NOT NULL`, subjects)
	if err != nil {
		return fmt.Errorf("datakeys: warm: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var k []byte
		if err := rows.Scan(&id, &k); err != nil {
			return fmt.Errorf("datakeys: warm: %w", err)
		}
		s.put(id, k, 0)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("datakeys: warm: %w", err)
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
	s.evict(id)
	return nil
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
	s.evict(domain.SubjectKeyID(tenant, ""))
	return nil
}
