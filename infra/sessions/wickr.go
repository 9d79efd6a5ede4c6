package sessions

import (
	"context"
	"errors"
	"fmt"
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

// Open records a session under the hash of its token.
func (s *WickrStore) Open(ctx context.Context, tokenHash string, w WickrSession) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO client.wickr_sessions (token_hash, network_id, user_id, app_id, issued_at, sso,
		sso_expires_at, sso_refresh_key, sso_refresh, guest_hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		tokenHash, w.NetworkID, w.UserID, w.AppID, w.IssuedAt.UTC(), w.SSO, nullTime(w.ExpiresAt), w.Refresh.KeyID, w.Refresh.Data, w.GuestHash); err != nil {
		return fmt.Errorf("sessions: open wickr session: %w", err)
	}
	return nil
}

// Lookup finds the session of a token hash (ErrNotFound when none).
func (s *WickrStore) Lookup(ctx context.Context, tokenHash string) (WickrSession, error) {
	var w WickrSession
	var exp, failed *time.Time
	err := s.pool.QueryRow(ctx, `SELECT network_id, user_id, app_id, issued_at, sso, sso_expires_at, sso_refresh_key, sso_refresh, refresh_failed_at,
		guest_hash FROM client.wickr_sessions WHERE token_hash = $1`, tokenHash).
		Scan(&w.NetworkID, &w.UserID, &w.AppID, &w.IssuedAt, &w.SSO, &exp, &w.Refresh.KeyID, &w.Refresh.Data, &failed, &w.GuestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return WickrSession{}, ErrNotFound
	}
	if err != nil {
		return WickrSession{}, fmt.Errorf("sessions: lookup wickr session: %w", err)
	}
	if exp != nil {
		w.ExpiresAt = *exp
	}
	if failed != nil {
		w.RefreshFailedAt = *failed
	}
	return w, nil
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
