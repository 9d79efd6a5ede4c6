package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
)

// WickrSession is a Wickr client session (client.wickr_sessions): who opened it from which device,
// when, and for an SSO session what renews it at the identity provider.
type WickrSession struct {
	NetworkID, UserID, AppID string
	// GuestHash names a guest's session (its username hash; NetworkID and UserID are empty).
	GuestHash string
	IssuedAt  time.Time
	SSO       bool
	// ExpiresAt is when the provider's tokens expire; Refresh is the refresh token, sealed under the
	// user's key; RefreshFailedAt is the first failed refresh since the last success (zero: none).
	ExpiresAt, RefreshFailedAt time.Time
	Refresh                    domain.Sealed
}

// WickrStore is the Wickr session table.
type WickrStore struct{ pool *pgxpool.Pool }

// NewWickr returns the Wickr session store over pool.
func NewWickr(pool *pgxpool.Pool) *WickrStore { return &WickrStore{pool: pool} }

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Open records a session under the hash of its token and leaves its device (the same network, user
// and app id; for a guest the same guest hash and app id) at most keep sessions, the new one among
// them: the others beyond keep-1, latest issued kept, are deleted in the same transaction. Opens of
// one device are serialized (a transaction-scoped advisory lock on the device), so that concurrent
// ones never leave more than keep. keep <= 0 bounds nothing.
func (s *WickrStore) Open(ctx context.Context, tokenHash string, w WickrSession, keep int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if keep > 0 {
			// The two-key form is a lock space apart from the single-key locks taken elsewhere.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('client.wickr_sessions'), hashtext($1))`,
				strings.Join([]string{w.NetworkID, w.UserID, w.GuestHash, w.AppID}, "/")); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO client.wickr_sessions (token_hash, network_id, user_id, app_id, issued_at, sso,
			sso_expires_at, sso_refresh_key, sso_refresh, guest_hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			tokenHash, w.NetworkID, w.UserID, w.AppID, w.IssuedAt.UTC(), w.SSO, nullTime(w.ExpiresAt), w.Refresh.KeyID, w.Refresh.Data, w.GuestHash); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		// wickr_sessions_device (migration 0030) finds the device's sessions in issue order.
		_, err := tx.Exec(ctx, `DELETE FROM client.wickr_sessions WHERE token_hash IN (
			SELECT token_hash FROM client.wickr_sessions
			WHERE network_id = $1 AND user_id = $2 AND app_id = $3 AND guest_hash = $4 AND token_hash <> $5
			ORDER BY issued_at DESC, token_hash DESC OFFSET $6)`, w.NetworkID, w.UserID, w.AppID, w.GuestHash, tokenHash, keep-1)
		return err
	})
	if err != nil {
		return fmt.Errorf("sessions: open wickr session: %w", err)
	}
	return nil
}

// wickrColumns are the columns scanWickr reads, in its order.
const wickrColumns = `network_id, user_id, app_id, issued_at, sso, sso_expires_at, sso_refresh_key, sso_refresh, refresh_failed_at, guest_hash`

// scanWickr reads a row of dest (if any) then wickrColumns.
func scanWickr(row pgx.Row, dest ...any) (WickrSession, error) {
	var w WickrSession
	var exp, failed *time.Time
	err := row.Scan(append(dest, &w.NetworkID, &w.UserID, &w.AppID, &w.IssuedAt, &w.SSO, &exp, &w.Refresh.KeyID, &w.Refresh.Data, &failed, &w.GuestHash)...)
	if exp != nil {
		w.ExpiresAt = *exp
	}
	if failed != nil {
		w.RefreshFailedAt = *failed
	}
	return w, err
}

// Lookup finds the session of a token hash (ErrNotFound when none).
func (s *WickrStore) Lookup(ctx context.Context, tokenHash string) (WickrSession, error) {
	w, err := scanWickr(s.pool.QueryRow(ctx, `SELECT `+wickrColumns+` FROM client.wickr_sessions WHERE token_hash = $1`, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return WickrSession{}, ErrNotFound
	}
	if err != nil {
		return WickrSession{}, fmt.Errorf("sessions: lookup wickr session: %w", err)
	}
	return w, nil
}

// WickrRow is a stored session with the hash of its token.
type WickrRow struct {
	TokenHash string
	WickrSession
}

// After returns at most limit sessions whose token hash sorts after after ("": from the first), in
// token hash order: a keyset page read by one statement, no lock or transaction left behind. Pages
// read one after the other see every session that stays meanwhile exactly once; one opened or
// closed meanwhile may or may not be seen.
func (s *WickrStore) After(ctx context.Context, after string, limit int) ([]WickrRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT token_hash, `+wickrColumns+` FROM client.wickr_sessions WHERE token_hash > $1
		ORDER BY token_hash LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sessions: page wickr sessions: %w", err)
	}
	defer rows.Close()
	var out []WickrRow
	for rows.Next() {
		var r WickrRow
		if r.WickrSession, err = scanWickr(rows, &r.TokenHash); err != nil {
			return nil, fmt.Errorf("sessions: page wickr sessions: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sessions: page wickr sessions: %w", err)
	}
	return out, nil
}

// Refreshed records a successful refresh: the new expiry and refresh token; failures are cleared.
func (s *WickrStore) Refreshed(ctx context.Context, tokenHash string, expiresAt time.Time, refresh domain.Sealed) error {
	if _, err := s.pool.Exec(ctx, `UPDATE client.wickr_sessions SET sso_expires_at = $2, sso_refresh_key = $3, sso_refresh = $4,
		refresh_failed_at = NULL WHERE token_hash = $1`, tokenHash, expiresAt.UTC(), refresh.KeyID, refresh.Data); err != nil {
		return fmt.Errorf("sessions: refreshed: %w", err)
	}
	return nil
}

// RefreshFailed records a failed refresh at at, unless an earlier failure is already recorded; it
// returns the first failure's time.
func (s *WickrStore) RefreshFailed(ctx context.Context, tokenHash string, at time.Time) (time.Time, error) {
	var first time.Time
	err := s.pool.QueryRow(ctx, `UPDATE client.wickr_sessions SET refresh_failed_at = coalesce(refresh_failed_at, $2)
		WHERE token_hash = $1 RETURNING refresh_failed_at`, tokenHash, at.UTC()).Scan(&first)
	if err != nil {
		return time.Time{}, fmt.Errorf("sessions: refresh failed: %w", err)
	}
	return first, nil
}

// Close ends a session (sign-out, or a session found over).
func (s *WickrStore) Close(ctx context.Context, tokenHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM client.wickr_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("sessions: close: %w", err)
	}
	return nil
}
