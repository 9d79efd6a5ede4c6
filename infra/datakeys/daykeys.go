package datakeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Class is the retention class of a scope: what comes before its first "/" ("room/<id>" → "room").
// The period KEKs are per (tenant, class, day): one retention setting covers a class of a tenant.
func Class(scope string) string {
	c, _, _ := strings.Cut(scope, "/")
	return c
}

// PeriodKEKID names the period KEK of a tenant's class on a UTC day.
func PeriodKEKID(tenant, class string, day time.Time) string {
	return "period/" + tenant + "/" + class + "/" + day.UTC().Format(time.DateOnly)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *wrapping) keyring() (Keyring, error) {
	if s.ring == nil {
		return nil, ErrNoKeyring
	}
	return s.ring, nil
}

// execAsync runs one statement in one round trip, in a transaction that commits without waiting
// for its WAL flush. It is for the rows of a message's keys (its key, its day's key, the day's
// period and the scope's KEK records): only what the caller stores afterwards names them (an event
// appended to the log, a row), and that synchronous commit flushes the WAL past this one before it
// answers — a crash before it loses the rows and nothing that names them (a KEK created in the
// keyring meanwhile then wraps nothing).
func (s *wrapping) execAsync(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	err := s.pool.SendBatch(ctx, b).Close()
	return tag, err
}

// newScopeKEK registers and creates a fresh scope KEK (not yet current).
func (s *wrapping) newScopeKEK(ctx context.Context, tenant, scope string) (string, error) {
	ring, err := s.keyring()
	if err != nil {
		return "", err
	}
	id := "scope/" + tenant + "/" + scope + "/" + randomHex(8)
	if _, err := s.execAsync(ctx, `INSERT INTO keys.keks (kek_id, kind, tenant, class) VALUES ($1, 'scope', $2, $3)`, id, tenant, scope); err != nil {
		return "", fmt.Errorf("datakeys: register scope KEK: %w", err)
	}
	if err := ring.Create(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// scopeKEK returns the current KEK of a scope, creating it on first use; a destroyed scope is
// ErrDestroyed.
func (s *wrapping) scopeKEK(ctx context.Context, tenant, scope string) (string, error) {
	var id string
	var destroyed bool
	err := s.pool.QueryRow(ctx, `SELECT kek_id, destroyed_at IS NOT NULL FROM keys.scopes WHERE tenant = $1 AND scope = $2`, tenant, scope).Scan(&id, &destroyed)
	if err == nil && destroyed {
		return "", ErrDestroyed
	}
	if err == nil || !noRows(err) {
		return id, err
	}
	fresh, err := s.newScopeKEK(ctx, tenant, scope)
	if err != nil {
		return "", err
	}
	tag, err := s.execAsync(ctx, `INSERT INTO keys.scopes (tenant, scope, kek_id) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, tenant, scope, fresh)
	if err != nil {
		return "", fmt.Errorf("datakeys: create scope: %w", err)
	}
	if tag.RowsAffected() == 1 { // ours is the scope's KEK (a scope is created live, never destroyed first)
		return fresh, nil
	}
	err = s.pool.QueryRow(ctx, `SELECT kek_id, destroyed_at IS NOT NULL FROM keys.scopes WHERE tenant = $1 AND scope = $2`, tenant, scope).Scan(&id, &destroyed)
	if err != nil {
		return "", fmt.Errorf("datakeys: load scope: %w", err)
	}
	if id != fresh { // another creator won: ours wrapped nothing
		if err := s.eraseKEKs(ctx, []string{fresh}); err != nil {
			return "", err
		}
	}
	if destroyed {
		return "", ErrDestroyed
	}
	return id, nil
}

// periodKEK returns the period KEK of (tenant, class, day), creating it on first use; a destroyed
// period (a purged day) is ErrDestroyed. A period found live is trusted for CacheTTL without asking
// again (the keyring still refuses to wrap under a KEK it erased); a destruction in this process
// (DestroyPeriods) forgets it at once.
func (s *wrapping) periodKEK(ctx context.Context, tenant, class string, day time.Time) (string, error) {
	ring, err := s.keyring()
	if err != nil {
		return "", err
	}
	id := PeriodKEKID(tenant, class, day)
	if _, ok := s.get(id); ok {
		return id, nil
	}
	// Read first: the first messages of a day in every scope of a class want the same period at
	// once, and an upsert would queue them all on its row lock, each behind the others' commits.
	var destroyed bool
	err = s.pool.QueryRow(ctx, `SELECT destroyed_at IS NOT NULL FROM keys.keks WHERE kek_id = $1`, id).Scan(&destroyed)
	if noRows(err) {
		// A concurrent creator's row is seen by the next statement (a new snapshot), not this one's.
		_, err = s.execAsync(ctx, `INSERT INTO keys.keks (kek_id, kind, tenant, class, day) VALUES ($1, 'period', $2, $3, $4)
			ON CONFLICT (kek_id) DO NOTHING`, id, tenant, class, day.UTC().Format(time.DateOnly))
		if err == nil {
			err = s.pool.QueryRow(ctx, `SELECT destroyed_at IS NOT NULL FROM keys.keks WHERE kek_id = $1`, id).Scan(&destroyed)
		}
	}
	if err != nil {
		return "", fmt.Errorf("datakeys: register period KEK: %w", err)
	}
	if destroyed {
		return "", ErrDestroyed
	}
	if err := ring.Create(ctx, id); err != nil {
		return "", err
	}
	s.put(id, nil, 0)
	return id, nil
}

// wrapDay wraps a day key under its scope KEK, then its period KEK.
func (s *wrapping) wrapDay(ctx context.Context, id, periodKEK, scopeKEK string, key []byte) ([]byte, error) {
	inner, err := s.ring.Wrap(ctx, scopeKEK, key, []byte(id))
	if err != nil {
		return nil, err
	}
	return s.ring.Wrap(ctx, periodKEK, inner, []byte(id))
}

// unwrapDay undoes wrapDay; a KEK that is gone is ErrDestroyed.
func (s *wrapping) unwrapDay(ctx context.Context, id, periodKEK, scopeKEK string, wrapped []byte) ([]byte, error) {
	ring, err := s.keyring()
	if err != nil {
		return nil, err
	}
	inner, err := ring.Unwrap(ctx, periodKEK, wrapped, []byte(id))
	if err != nil {
		return nil, err
	}
	return ring.Unwrap(ctx, scopeKEK, inner, []byte(id))
}

// createDay creates the day key of (tenant, scope, day) unless it exists; the key it stored, if it
// did, is cached (generation 0, the column's default), so that its first message key is wrapped
// without reading it back. A rotation of the scope's KEK (a redaction, the purge) or a destruction of
// the scope (a deleted room) that commits between reading the KEK and storing the day key makes the
// store leave it out (storeDay): it is made again under the scope's new KEK, or the scope is
// ErrDestroyed.
func (s *wrapping) createDay(ctx context.Context, id, tenant, scope string, day time.Time) error {
	period, err := s.periodKEK(ctx, tenant, Class(scope), day)
	if err != nil {
		return err
	}
	for range 4 {
		scopeKEK, err := s.scopeKEK(ctx, tenant, scope)
		if err != nil {
			return err
		}
		done, err := s.storeDay(ctx, id, tenant, scope, day, period, scopeKEK)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("datakeys: create key %s: the scope's KEK kept changing", id)
}

// storeDay stores a fresh day key wrapped under period and scopeKEK unless the day key exists; done
// is false when nothing is stored because scopeKEK is no longer the scope's live KEK. The insert
// share-locks the scope's row until it commits, so that a rotation or a destruction of the scope
// (which locks that row for update) either comes after it and sees the new day key — rewrapping or
// destroying it — or comes before it and makes it store nothing: no day key is ever stored under a
// KEK the keyring is about to erase, which would lose the day's messages (or, in a destroyed scope,
// leave a day key that looks live to the purge's sweeps).
func (s *wrapping) storeDay(ctx context.Context, id, tenant, scope string, day time.Time, period, scopeKEK string) (done bool, err error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return false, err
	}
	wrapped, err := s.wrapDay(ctx, id, period, scopeKEK, fresh)
	if err != nil {
		return false, err
	}
	tag, err := s.execAsync(ctx, `INSERT INTO keys.data_keys (key_id, tenant, scope, day, wrapped, period_kek, scope_kek)
		SELECT $1, $2, $3, $4, $5, $6, $7 FROM keys.scopes sc WHERE sc.tenant = $2 AND sc.scope = $3 AND sc.kek_id = $7 AND sc.destroyed_at IS NULL
		FOR SHARE ON CONFLICT (key_id) DO NOTHING`, id, tenant, scope, day.UTC().Format(time.DateOnly), wrapped, period, scopeKEK)
	if err != nil {
		return false, fmt.Errorf("datakeys: create key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		s.put(id, fresh, 0)
		return true, nil
	}
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys.data_keys WHERE key_id = $1)`, id).Scan(&done)
	if err != nil {
		return false, fmt.Errorf("datakeys: create key: %w", err)
	}
	return done, nil // another creator's, or a destroyed one: done; else the scope's KEK changed
}

// dayKey returns a day key and its generation (ErrDestroyed when it was destroyed or never
// created).
func (s *wrapping) dayKey(ctx context.Context, id string) (cached, error) {
	if c, ok := s.get(id); ok {
		return c, nil
	}
	var wrapped []byte
	var period, scopeKEK *string
	var gen int
	err := s.pool.QueryRow(ctx, `SELECT wrapped, period_kek, scope_kek, gen FROM keys.data_keys WHERE key_id = $1`, id).Scan(&wrapped, &period, &scopeKEK, &gen)
	if noRows(err) || err == nil && (wrapped == nil || period == nil || scopeKEK == nil) {
		return cached{}, ErrDestroyed
	}
	if err != nil {
		return cached{}, fmt.Errorf("datakeys: load key: %w", err)
	}
	k, err := s.unwrapDay(ctx, id, *period, *scopeKEK, wrapped)
	if err != nil {
		return cached{}, err
	}
	s.put(id, k, gen)
	return cached{key: k, gen: gen}, nil
}

// newMessageKey creates a message key wrapped under the day key of (tenant, scope, day), which it
// creates on first use. The insert names the day key's generation, so that a key wrapped under a
// day key a redaction has just replaced is never stored (it retries with the new one).
func (s *wrapping) newMessageKey(ctx context.Context, tenant, scope string, day time.Time) (string, []byte, error) {
	if _, err := s.keyring(); err != nil {
		return "", nil, err
	}
	dayID := KeyID(tenant, scope, day)
	id := msgPrefix + strings.TrimPrefix(dayID, dayPrefix) + "/" + uuid.NewString()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", nil, err
	}
	for attempt := 0; attempt < 4; attempt++ {
		dk, err := s.dayKey(ctx, dayID)
		if errors.Is(err, ErrDestroyed) && attempt == 0 {
			if err := s.createDay(ctx, dayID, tenant, scope, day); err != nil {
				return "", nil, err
			}
			continue
		}
		if err != nil {
			return "", nil, err
		}
		wrapped, err := sealAAD(dk.key, key, []byte("mk:"+id))
		if err != nil {
			return "", nil, err
		}
		stored, err := s.inserts.store(ctx, &keyInsert{id: id, day: dayID, wrapped: wrapped, gen: dk.gen})
		if err != nil {
			return "", nil, err
		}
		if stored {
			s.put(id, key, 0)
			return id, key, nil
		}
		s.evict(dayID) // replaced (a redaction) or destroyed since it was cached
	}
	return "", nil, ErrDestroyed
}

// messageKey returns a message key (ErrDestroyed when it was shredded, or its day key destroyed).
func (s *wrapping) messageKey(ctx context.Context, id string) ([]byte, error) {
	if c, ok := s.get(id); ok {
		return c.key, nil
	}
	var dayID string
	var wrapped []byte
	err := s.pool.QueryRow(ctx, `SELECT data_key_id, wrapped FROM keys.message_keys WHERE key_id = $1`, id).Scan(&dayID, &wrapped)
	if noRows(err) {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("datakeys: load message key: %w", err)
	}
	return s.openMessageKey(ctx, id, dayID, wrapped)
}

// openMessageKey unwraps a message key under its day key, reloading the day key once when the
// cached one is older than the wrapping (a redaction replaced it).
func (s *wrapping) openMessageKey(ctx context.Context, id, dayID string, wrapped []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		dk, err := s.dayKey(ctx, dayID)
		if err != nil {
			return nil, err
		}
		k, err := openAAD(dk.key, wrapped, []byte("mk:"+id))
		if err == nil {
			s.put(id, k, 0)
			return k, nil
		}
		if attempt > 0 {
			return nil, err
		}
		s.evict(dayID)
	}
}

// warmMessages loads message keys with one query (their day keys with one more each, if not
// cached).
func (s *wrapping) warmMessages(ctx context.Context, ids []string) error {
	rows, err := s.pool.Query(ctx, `SELECT key_id, data_key_id, wrapped FROM keys.message_keys WHERE key_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("datakeys: warm: %w", err)
	}
	type row struct {
		id, day string
		wrapped []byte
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.day, &r.wrapped); err != nil {
			rows.Close()
			return fmt.Errorf("datakeys: warm: %w", err)
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("datakeys: warm: %w", err)
	}
	for _, r := range list {
		if _, err := s.openMessageKey(ctx, r.id, r.day, r.wrapped); err != nil && !errors.Is(err, ErrDestroyed) {
			return err
		}
	}
	return nil
}
