package datakeys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
)

// ShredMessage destroys one message key (a redaction): its row goes, its day key is replaced by a
// fresh one (the day's other message keys rewrapped), every day key of its scope is rewrapped under
// a fresh scope KEK, and the old scope KEK is erased from the keyring — so neither the database as
// it is nor any older copy of it (WAL, backups) holds a key that opens the message. Shredding a
// message key that is gone does nothing.
//
// A damaged key met on the way — one that does not open (domain.ErrUnreadable): a day key of the
// scope, the message's own day key, or another message key of its day — holds back nothing: it is
// left as it was (it cannot be rewrapped; it opened for no one before and opens for no one after,
// still ErrUnreadable where its own bytes are damaged), logged as a warning naming it and why, and
// the shredding goes on. The message's own key row goes whatever its day key's state, and the old
// scope KEK is erased all the same, so a damaged key never leaves a redacted message readable.
func (s *Store) ShredMessage(ctx context.Context, id string) error {
	var dayID, tenant, scope string
	err := s.pool.QueryRow(ctx, `SELECT d.key_id, d.tenant, d.scope FROM keys.message_keys m JOIN keys.data_keys d ON d.key_id = m.data_key_id
		WHERE m.key_id = $1`, id).Scan(&dayID, &tenant, &scope)
	if noRows(err) {
		s.evict(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("datakeys: shred: %w", err)
	}
	return s.rotate(ctx, tenant, scope, dayID, id, time.Time{})
}

// destroyDay destroys a day key with its message keys and replaces its scope's KEK; a day key never
// created is recorded destroyed, so it is never created.
func (s *wrapping) destroyDay(ctx context.Context, dayID string) error {
	var tenant, scope string
	err := s.pool.QueryRow(ctx, `SELECT tenant, scope FROM keys.data_keys WHERE key_id = $1`, dayID).Scan(&tenant, &scope)
	if noRows(err) {
		t, sc, day, ok := parseDayID(dayID)
		if !ok {
			return fmt.Errorf("datakeys: %q is not a key id", dayID)
		}
		_, err = s.pool.Exec(ctx, `INSERT INTO keys.data_keys (key_id, tenant, scope, day, destroyed_at, cleared_at) VALUES ($1,$2,$3,$4,now(),now())
			ON CONFLICT (key_id) DO NOTHING`, dayID, t, sc, day)
		if err != nil {
			return fmt.Errorf("datakeys: destroy: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("datakeys: destroy: %w", err)
	}
	return s.rotate(ctx, tenant, scope, dayID, "", time.Time{})
}

// parseDayID splits "day/<tenant>/<scope>/<yyyy-mm-dd>" (or the first version's id without "day/").
func parseDayID(id string) (tenant, scope, day string, ok bool) {
	rest := strings.TrimPrefix(id, dayPrefix)
	tenant, rest, ok1 := strings.Cut(rest, "/")
	i := strings.LastIndex(rest, "/")
	if !ok1 || i <= 0 {
		return "", "", "", false
	}
	scope, day = rest[:i], rest[i+1:]
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return "", "", "", false
	}
	return tenant, scope, day, true
}

// rotate replaces the scope KEK of (tenant, scope) by a fresh one, rewrapping the scope's live day
// keys under it. The day key dayID, when set, is destroyed (drop "") or replaced by a fresh key with
// its message keys but drop rewrapped; the day keys of days before before (when set) are destroyed.
// The old KEK is erased once the transaction committed (Sweep finishes it after a crash). The keys it
// finds damaged are left as they were and logged (see ShredMessage).
func (s *wrapping) rotate(ctx context.Context, tenant, scope, dayID, drop string, before time.Time) error {
	fresh, err := s.newScopeKEKs(ctx, []scopeRef{{tenant, scope}})
	if err != nil {
		return err
	}
	old, damaged, err := s.swapScopeKEK(ctx, tenant, scope, fresh[0], dayID, drop, before)
	if err == nil {
		s.reportDamaged(tenant, scope, damaged)
	}
	if err != nil || old == "" {
		if eerr := s.eraseKEKs(ctx, fresh); err == nil {
			err = eerr
		}
		if err != nil {
			return fmt.Errorf("datakeys: rotate %s/%s: %w", tenant, scope, err)
		}
		return nil
	}
	s.evictScope(tenant, scope)
	return s.eraseKEKs(ctx, []string{old})
}

// scopeRef names a scope of a tenant.
type scopeRef struct{ tenant, scope string }

// newScopeKEKs registers and creates a fresh KEK for each scope (not yet current), with one write of
// the keyring for all of them.
func (s *wrapping) newScopeKEKs(ctx context.Context, refs []scopeRef) ([]string, error) {
	ring, err := s.keyring()
	if err != nil {
		return nil, err
	}
	ids, tenants, scopes := make([]string, len(refs)), make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		ids[i], tenants[i], scopes[i] = "scope/"+r.tenant+"/"+r.scope+"/"+randomHex(8), r.tenant, r.scope
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO keys.keks (kek_id, kind, tenant, class) SELECT id, 'scope', t, sc FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, t, sc)`,
		ids, tenants, scopes); err != nil {
		return nil, fmt.Errorf("datakeys: register scope KEKs: %w", err)
	}
	return ids, ring.Create(ctx, ids...)
}

// swapScopeKEK makes fresh the KEK of (tenant, scope) in one transaction; see swapInTx.
func (s *wrapping) swapScopeKEK(ctx context.Context, tenant, scope, fresh, dayID, drop string, before time.Time) (old string, damaged []error, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, damaged, err = s.swapInTx(ctx, tx, tenant, scope, fresh, dayID, drop, before)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return old, damaged, nil
}

// swapInTx makes fresh the KEK of (tenant, scope) in tx, rewrapping its live day keys (see rotate for
// dayID, drop and before), and marks the old KEK destroyed; it returns the old KEK, or "" when the
// scope has nothing live (fresh is then unused), and the damaged keys it left as they were (see
// rewrapScope).
func (s *wrapping) swapInTx(ctx context.Context, tx pgx.Tx, tenant, scope, fresh, dayID, drop string, before time.Time) (string, []error, error) {
	var old string
	var destroyed bool
	err := tx.QueryRow(ctx, `SELECT kek_id, destroyed_at IS NOT NULL FROM keys.scopes WHERE tenant = $1 AND scope = $2 FOR UPDATE`, tenant, scope).Scan(&old, &destroyed)
	if noRows(err) || err == nil && destroyed {
		return "", nil, nil // nothing sealed in the scope, or all of it destroyed already
	}
	if err != nil {
		return "", nil, err
	}
	damaged, err := s.rewrapScope(ctx, tx, tenant, scope, fresh, dayID, drop, before)
	if err != nil {
		return "", nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE keys.scopes SET kek_id = $3 WHERE tenant = $1 AND scope = $2`, tenant, scope, fresh); err != nil {
		return "", nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE keys.keks SET destroyed_at = now() WHERE kek_id = $1 AND destroyed_at IS NULL`, old)
	return old, damaged, err
}

type dayRow struct {
	id, period, scopeKEK string
	day                  time.Time
	wrapped              []byte
}

// rewrapScope rewraps the live day keys of a scope under the KEK fresh (in tx, rows locked); see
// rotate for dayID, drop and before. A day key that does not open (domain.ErrUnreadable: its wrapping
// or one of its KEKs damaged) and is not to be destroyed cannot be rewrapped: it is left as it was —
// its message key drop deleted all the same when it is dayID's — and returned in damaged with the
// message keys of dayID that did not open (see replaceDay), so that one damaged key holds back
// neither the destruction nor the scope's other keys.
func (s *wrapping) rewrapScope(ctx context.Context, tx pgx.Tx, tenant, scope, fresh, dayID, drop string, before time.Time) (damaged []error, err error) {
	rows, err := tx.Query(ctx, `SELECT key_id, period_kek, scope_kek, day, wrapped FROM keys.data_keys
		WHERE tenant = $1 AND scope = $2 AND wrapped IS NOT NULL ORDER BY key_id FOR UPDATE`, tenant, scope)
	if err != nil {
		return nil, err
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dayRow, error) {
		var d dayRow
		return d, r.Scan(&d.id, &d.period, &d.scopeKEK, &d.day, &d.wrapped)
	})
	if err != nil {
		return nil, err
	}
	for _, d := range days {
		k, err := s.unwrapDay(ctx, d.id, d.period, d.scopeKEK, d.wrapped)
		if errors.Is(err, ErrDestroyed) || d.id == dayID && drop == "" || d.day.Before(before) {
			// Its period was purged (or this is the day to destroy): it opens nothing any more.
			if _, err := tx.Exec(ctx, `UPDATE keys.data_keys SET wrapped = NULL, destroyed_at = now(), gen = gen + 1 WHERE key_id = $1`, d.id); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, domain.ErrUnreadable) {
			if d.id == dayID { // the redacted message's key goes whatever its day key's state
				if _, err := tx.Exec(ctx, `DELETE FROM keys.message_keys WHERE key_id = $1`, drop); err != nil {
					return nil, err
				}
			}
			damaged = append(damaged, fmt.Errorf("day key %s: %w", d.id, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		bump := 0
		if d.id == dayID {
			var skipped []error
			if k, skipped, err = s.replaceDay(ctx, tx, d.id, k, drop); err != nil {
				return nil, err
			}
			damaged, bump = append(damaged, skipped...), 1
		}
		wrapped, err := s.wrapDay(ctx, d.id, d.period, fresh, k)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE keys.data_keys SET wrapped = $2, scope_kek = $3, gen = gen + $4 WHERE key_id = $1`, d.id, wrapped, fresh, bump); err != nil {
			return nil, err
		}
	}
	return damaged, nil
}

// replaceDay deletes the message key drop and rewraps the day's other message keys from old to a
// fresh day key, which it returns. A message key that does not open under old (domain.ErrUnreadable:
// its wrapping damaged) is left as it was — it opened for no one and opens for no one, still
// ErrUnreadable — and returned in damaged.
func (s *wrapping) replaceDay(ctx context.Context, tx pgx.Tx, dayID string, old []byte, drop string) (next []byte, damaged []error, err error) {
	if _, err := tx.Exec(ctx, `DELETE FROM keys.message_keys WHERE key_id = $1`, drop); err != nil {
		return nil, nil, err
	}
	next = make([]byte, 32)
	if _, err := rand.Read(next); err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT key_id, wrapped FROM keys.message_keys WHERE data_key_id = $1 FOR UPDATE`, dayID)
	if err != nil {
		return nil, nil, err
	}
	type msgRow struct {
		id      string
		wrapped []byte
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (msgRow, error) {
		var m msgRow
		return m, r.Scan(&m.id, &m.wrapped)
	})
	if err != nil {
		return nil, nil, err
	}
	ids, wrapped := make([]string, 0, len(list)), make([][]byte, 0, len(list))
	for _, m := range list {
		k, err := openAAD(old, m.wrapped, []byte("mk:"+m.id))
		if errors.Is(err, domain.ErrUnreadable) {
			damaged = append(damaged, fmt.Errorf("message key %s: %w", m.id, err))
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		w, err := sealAAD(next, k, []byte("mk:"+m.id))
		if err != nil {
			return nil, nil, err
		}
		ids, wrapped = append(ids, m.id), append(wrapped, w)
	}
	_, err = tx.Exec(ctx, `UPDATE keys.message_keys m SET wrapped = v.w FROM unnest($1::text[], $2::bytea[]) AS v(id, w) WHERE m.key_id = v.id`, ids, wrapped)
	return next, damaged, err
}

// reportDamaged logs the damaged keys a rotation of (tenant, scope) left as they were.
func (s *wrapping) reportDamaged(tenant, scope string, damaged []error) {
	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	for _, err := range damaged {
		logger.Warn("a key did not open (damaged) and was left as it was: it opened for no one before this destruction and opens for no one after; the destruction went on",
			"tenant", tenant, "scope", scope, "err", err)
	}
}

// evictScope drops every cached day and message key of a scope.
func (s *wrapping) evictScope(tenant, scope string) {
	s.evict(dayPrefix + tenant + "/" + scope + "/")
	s.evict(msgPrefix + tenant + "/" + scope + "/")
	s.evict(tenant + "/" + scope + "/")
}

// eraseKEKs marks KEKs destroyed, erases them from the keyring, and records that they are erased.
func (s *wrapping) eraseKEKs(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ring, err := s.keyring()
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys.keks SET destroyed_at = coalesce(destroyed_at, now()) WHERE kek_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("datakeys: destroy KEKs: %w", err)
	}
	if err := ring.Destroy(ctx, ids...); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys.keks SET erased_at = now() WHERE kek_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("datakeys: destroy KEKs: %w", err)
	}
	return nil
}

// LiveScopes returns those of a tenant's scopes that are not destroyed (a scope that never had a
// key included: DestroyScope marks it destroyed), in the order given: what a sweep of deleted rooms
// still has to destroy, found with one query.
func (s *Store) LiveScopes(ctx context.Context, tenant string, scopes []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT x.scope FROM unnest($2::text[]) WITH ORDINALITY AS x(scope, n)
		WHERE NOT EXISTS (SELECT 1 FROM keys.scopes k WHERE k.tenant = $1 AND k.scope = x.scope AND k.destroyed_at IS NOT NULL)
		ORDER BY x.n`, tenant, scopes)
	if err != nil {
		return nil, fmt.Errorf("datakeys: live scopes: %w", err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("datakeys: live scopes: %w", err)
	}
	return live, nil
}

// DestroyScope destroys every key of a scope (a deleted room): its KEKs are erased from the keyring
// and its day keys marked destroyed; the scope never seals again. Its message keys are deleted later
// by ClearDestroyed.
func (s *Store) DestroyScope(ctx context.Context, tenant, scope string) error {
	var done bool
	if err := s.pool.QueryRow(ctx, `SELECT destroyed_at IS NOT NULL FROM keys.scopes WHERE tenant = $1 AND scope = $2`, tenant, scope).Scan(&done); err == nil && done {
		return nil // destroyed before (Sweep erases what a crash left)
	}
	var ids []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO keys.scopes (tenant, scope, kek_id, destroyed_at) VALUES ($1,$2,'',now())
			ON CONFLICT (tenant, scope) DO UPDATE SET destroyed_at = coalesce(keys.scopes.destroyed_at, now())`, tenant, scope); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE keys.keks SET destroyed_at = coalesce(destroyed_at, now())
			WHERE kind = 'scope' AND tenant = $1 AND class = $2 AND erased_at IS NULL RETURNING kek_id`, tenant, scope)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE keys.data_keys SET wrapped = NULL, destroyed_at = coalesce(destroyed_at, now()), gen = gen + 1
			WHERE tenant = $1 AND scope = $2 AND wrapped IS NOT NULL`, tenant, scope)
		return err
	})
	if err != nil {
		return fmt.Errorf("datakeys: destroy scope: %w", err)
	}
	s.evictScope(tenant, scope)
	if s.ring == nil {
		return nil
	}
	return s.eraseKEKs(ctx, ids)
}

// DestroyScopeDaysBefore destroys the day keys of each scope for the UTC days before its cutoff
// (scope i before befores[i]; a conversation's retention, which is per conversation and not per
// account), in every tenant that sealed in it: each (tenant, scope) gets a fresh scope KEK, its other
// day keys are rewrapped under it and the old KEK is erased from the keyring, so no copy of the
// destroyed day keys (WAL, backups) opens again. It returns how many day keys it destroyed; their
// message keys are deleted by ClearDestroyed. Destroying again does nothing.
//
// A day key that is not due and does not open (domain.ErrUnreadable: its wrapping or a KEK damaged)
// cannot be rewrapped: it is left as it was — it opened for no one before and opens for no one after
// — and returned in damaged (each error names the key and matches domain.ErrUnreadable), and the
// destruction goes on: the due days of its scope are destroyed and its old KEK erased all the same,
// so a damaged key never keeps content past its retention. A due day key is destroyed whatever its
// state.
func (s *Store) DestroyScopeDaysBefore(ctx context.Context, scopes []string, befores []time.Time) (days int, damaged []error, err error) {
	list, err := daysDue(ctx, s.pool, scopes, befores)
	if err != nil || len(list) == 0 {
		return 0, nil, err
	}
	refs := make([]scopeRef, len(list))
	for i, d := range list {
		refs[i] = scopeRef{d.tenant, d.scope}
	}
	fresh, err := s.newScopeKEKs(ctx, refs) // one keyring write for all the new KEKs
	if err != nil {
		return 0, nil, err
	}
	erase := make([]string, 0, len(list))
	for lo := 0; lo < len(list); lo += swapChunk {
		hi := min(lo+swapChunk, len(list))
		var olds []string
		var found []error
		terr := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			olds, found = olds[:0], found[:0]
			for i := lo; i < hi; i++ {
				old, dmg, err := s.swapInTx(ctx, tx, list[i].tenant, list[i].scope, fresh[i], "", "", list[i].before)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", list[i].tenant, list[i].scope, err)
				}
				olds, found = append(olds, old), append(found, dmg...)
			}
			return nil
		})
		if terr != nil {
			err = fmt.Errorf("datakeys: destroy days: %w", terr)
			erase = append(erase, fresh[lo:]...)
			break
		}
		damaged = append(damaged, found...)
		for j, old := range olds {
			d := list[lo+j]
			if old == "" {
				erase = append(erase, fresh[lo+j])
				continue
			}
			s.evictScope(d.tenant, d.scope)
			erase, days = append(erase, old), days+d.n
		}
	}
	// One keyring write erases the old KEKs (each marked destroyed in its transaction: Sweep finishes
	// after a crash).
	return days, damaged, errors.Join(err, s.eraseKEKs(ctx, erase))
}

// dueDays are the day keys of one (tenant, scope) due before a cutoff.
type dueDays struct {
	tenant, scope string
	before        time.Time
	n             int
}

// daysDue lists, per (tenant, scope), the live day keys of scope i before befores[i].
func daysDue(ctx context.Context, pool *pgxpool.Pool, scopes []string, befores []time.Time) ([]dueDays, error) {
	rows, err := pool.Query(ctx, `SELECT d.tenant, d.scope, v.before, count(*) FROM unnest($1::text[], $2::date[]) AS v(scope, before)
		JOIN keys.data_keys d ON d.scope = v.scope AND d.day < v.before AND d.wrapped IS NOT NULL
		GROUP BY d.tenant, d.scope, v.before ORDER BY d.scope, d.tenant`, scopes, dates(befores))
	if err != nil {
		return nil, fmt.Errorf("datakeys: days due: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dueDays, error) {
		var d dueDays
		return d, r.Scan(&d.tenant, &d.scope, &d.before, &d.n)
	})
	if err != nil {
		return nil, fmt.Errorf("datakeys: days due: %w", err)
	}
	return list, nil
}

// swapChunk bounds the scopes rotated in one transaction (their rows stay locked until it commits).
const swapChunk = 50

// dates are the UTC dates of ts, as Postgres dates.
func dates(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.DateOnly)
	}
	return out
}

// LivePeriods lists the live period KEKs of a tenant's class for days before before (UTC dates),
// oldest first.
func (s *Store) LivePeriods(ctx context.Context, tenant, class string, before time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT kek_id FROM keys.keks WHERE kind = 'period' AND tenant = $1 AND class = $2 AND day < $3
		AND destroyed_at IS NULL ORDER BY day`, tenant, class, before.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("datakeys: periods: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("datakeys: periods: %w", err)
	}
	return list, nil
}

// DestroyPeriods destroys period KEKs (a retention purge): erased from the keyring, their day keys
// marked destroyed. It returns the scope and the day of every day key it destroyed; their message
// keys are deleted by ClearDestroyed. Destroying a destroyed period does nothing.
func (s *Store) DestroyPeriods(ctx context.Context, ids []string) (scopes []string, days []time.Time, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE keys.keks SET destroyed_at = now() WHERE kek_id = ANY($1) AND destroyed_at IS NULL`, ids); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE keys.data_keys SET wrapped = NULL, destroyed_at = now(), gen = gen + 1 WHERE period_kek = ANY($1) AND wrapped IS NOT NULL
			RETURNING scope, day`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sc string
			var d time.Time
			if err := rows.Scan(&sc, &d); err != nil {
				return err
			}
			scopes, days = append(scopes, sc), append(days, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("datakeys: destroy periods: %w", err)
	}
	s.reset()
	return scopes, days, s.eraseKEKs(ctx, ids)
}

// ClearDestroyed deletes up to limit message keys of destroyed day keys (they open nothing); it
// returns how many it deleted, and more = false once none is left. It takes the destroyed day keys
// one at a time, in key order, and each one's message keys in key order (the index on (data_key_id,
// key_id)), so a batch never walks past what earlier batches deleted in other day keys; a day key
// whose message keys are all gone is marked cleared.
func (s *Store) ClearDestroyed(ctx context.Context, limit int) (deleted int64, more bool, err error) {
	rows, err := s.pool.Query(ctx, `SELECT key_id FROM keys.data_keys WHERE destroyed_at IS NOT NULL AND cleared_at IS NULL ORDER BY key_id LIMIT 256`)
	if err != nil {
		return 0, false, fmt.Errorf("datakeys: clear: %w", err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(days) == 0 {
		return 0, false, err
	}
	var cleared []string
	for _, day := range days {
		want := int64(limit) - deleted
		tag, err := s.pool.Exec(ctx, `DELETE FROM keys.message_keys WHERE key_id IN
			(SELECT key_id FROM keys.message_keys WHERE data_key_id = $1 ORDER BY key_id LIMIT $2)`, day, want)
		if err != nil {
			return deleted, true, fmt.Errorf("datakeys: clear: %w", err)
		}
		deleted += tag.RowsAffected()
		if tag.RowsAffected() == want {
			break // this day key may have more; the next call goes on with it
		}
		cleared = append(cleared, day)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys.data_keys SET cleared_at = now() WHERE key_id = ANY($1)`, cleared); err != nil {
		return deleted, true, fmt.Errorf("datakeys: clear: %w", err)
	}
	return deleted, true, nil
}

// Sweep finishes destructions a crash interrupted: KEKs marked destroyed are erased from the
// keyring.
func (s *Store) Sweep(ctx context.Context) error {
	if s.ring == nil {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT kek_id FROM keys.keks WHERE destroyed_at IS NOT NULL AND erased_at IS NULL`)
	if err != nil {
		return fmt.Errorf("datakeys: sweep: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("datakeys: sweep: %w", err)
	}
	return s.eraseKEKs(ctx, ids)
}
