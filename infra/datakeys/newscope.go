package datakeys

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// newScopes seals in scopes of one message and destroys them (SealNew, DestroyOwnScope, promoted to
// Store).
type newScopes struct{ st *Store }

// SealNew is Seal for a scope that has never had a key: a scope of one message, named by the
// message's fresh id (a Wickr message's own scope). Its KEK is created in the keyring, then the
// KEK's record, the scope, its day key and the message key are stored by one statement — one round
// trip (beside the period KEK's read) where Seal takes six for the first message of a scope.
//
// The statement stores the scope only if it does not exist, and the day and message keys only with
// it: when the scope has a key after all (the caller was wrong, or raced another creator), nothing
// of it is stored, the fresh KEK is erased, and the message is sealed by Seal in the scope as it is.
// The keys' rows commit without waiting for their WAL flush, as Seal's do (execAsync). A crash
// between the keyring's append and the statement's commit leaves a KEK in the keyring that wraps
// nothing and that no record names; it opens nothing.
func (n newScopes) SealNew(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (string, []byte, error) {
	s := &n.st.wrapping
	ring, err := s.keyring()
	if err != nil {
		return "", nil, err
	}
	period, err := s.periodKEK(ctx, tenant, Class(scope), day)
	if err != nil {
		return "", nil, err
	}
	kek := "scope/" + tenant + "/" + scope + "/" + randomHex(8)
	if err := ring.Create(ctx, kek); err != nil {
		return "", nil, err
	}
	id, sealed, stored, err := storeNew(ctx, s, tenant, scope, day, period, kek, plaintext)
	if err == nil && stored {
		return id, sealed, nil
	}
	// Ours wraps nothing stored: erase it (its record, if the statement stored it, says so).
	if eraseErr := s.eraseKEKs(context.WithoutCancel(ctx), []string{kek}); eraseErr != nil && err == nil {
		return "", nil, eraseErr
	}
	if err != nil {
		return "", nil, err
	}
	id, key, err := s.newMessageKey(ctx, tenant, scope, day) // the scope existed: sealed as Seal does
	if err != nil {
		return "", nil, err
	}
	sealed, err = seal(id, key, plaintext)
	return id, sealed, err
}

// storeNew makes the day key and the message key of a new scope under its fresh KEK, stores them
// with the KEK's record and the scope in one statement, and seals plaintext; stored is false when
// the scope existed (nothing is stored).
func storeNew(ctx context.Context, s *wrapping, tenant, scope string, day time.Time, period, kek string, plaintext []byte) (id string, sealed []byte, stored bool, err error) {
	dayID := KeyID(tenant, scope, day)
	id = msgPrefix + strings.TrimPrefix(dayID, dayPrefix) + "/" + uuid.NewString()
	dayKey, msgKey := make([]byte, 32), make([]byte, 32)
	if _, err := rand.Read(dayKey); err != nil {
		return "", nil, false, err
	}
	if _, err := rand.Read(msgKey); err != nil {
		return "", nil, false, err
	}
	wrappedDay, err := s.wrapDay(ctx, dayID, period, kek, dayKey)
	if err != nil {
		return "", nil, false, err
	}
	wrappedMsg, err := sealAAD(dayKey, msgKey, []byte("mk:"+id))
	if err != nil {
		return "", nil, false, err
	}
	tag, err := s.execAsync(ctx, `WITH k AS (
			INSERT INTO keys.keks (kek_id, kind, tenant, class) VALUES ($6, 'scope', $2, $3) RETURNING 1),
		sc AS (
			INSERT INTO keys.scopes (tenant, scope, kek_id) SELECT $2, $3, $6 FROM k ON CONFLICT DO NOTHING RETURNING 1),
		d AS (
			INSERT INTO keys.data_keys (key_id, tenant, scope, day, wrapped, period_kek, scope_kek)
			SELECT $1, $2, $3, $4, $7, $5, $6 FROM sc ON CONFLICT (key_id) DO NOTHING RETURNING key_id)
		INSERT INTO keys.message_keys (key_id, data_key_id, wrapped) SELECT $8, key_id, $9 FROM d`,
		dayID, tenant, scope, day.UTC().Format(time.DateOnly), period, kek, wrappedDay, id, wrappedMsg)
	if err != nil {
		return "", nil, false, fmt.Errorf("datakeys: create scope: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return "", nil, false, nil
	}
	s.put(dayID, dayKey, 0)
	s.put(id, msgKey, 0)
	sealed, err = seal(id, msgKey, plaintext)
	return id, sealed, err == nil, err
}

// DestroyOwnScope destroys the whole scope of the message key id: for a key SealNew made, its one
// message's scope — the message's key and its files' content keys. The scope's KEK is erased from
// the keyring and not replaced (Destroy, through ShredMessage, would rotate the scope's KEK and
// leave a fresh one in the keyring for every message ever destroyed), and the scope never seals
// again. A key that is gone does nothing.
func (n newScopes) DestroyOwnScope(ctx context.Context, id string) error {
	s := n.st
	var tenant, scope string
	err := s.pool.QueryRow(ctx, `SELECT d.tenant, d.scope FROM keys.message_keys m JOIN keys.data_keys d ON d.key_id = m.data_key_id
		WHERE m.key_id = $1`, id).Scan(&tenant, &scope)
	if noRows(err) {
		s.evict(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("datakeys: destroy scope of %s: %w", id, err)
	}
	return s.DestroyScope(ctx, tenant, scope)
}
