// Package sessions stores the client API's sessions (client.sessions): one row per session token,
// keyed by the token's SHA-256, never the token itself. It is an adapter: the client slice
// (api/chime/client) declares the port it implements and decides who may open a session and whether
// one is still valid (a user logged out or suspended since it was issued).
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

// ErrNotFound is a token hash that opens no session.
var ErrNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "the session does not exist"}

// Store is the session table.
type Store struct{ pool *pgxpool.Pool }

// New returns the store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Open records a session issued at issuedAt to a user of an account.
func (s *Store) Open(ctx context.Context, tokenHash, userID, accountID string, issuedAt time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO client.sessions (token_hash, user_id, account_id, issued_at) VALUES ($1,$2,$3,$4)`,
		tokenHash, userID, accountID, issuedAt.UTC()); err != nil {
		return fmt.Errorf("sessions: open: %w", err)
	}
	return nil
}

// Lookup finds the session of a token hash: its user, account and issue time (ErrNotFound when none).
func (s *Store) Lookup(ctx context.Context, tokenHash string) (userID, accountID string, issuedAt time.Time, err error) {
	err = s.pool.QueryRow(ctx, `SELECT user_id, account_id, issued_at FROM client.sessions WHERE token_hash = $1`, tokenHash).
		Scan(&userID, &accountID, &issuedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", time.Time{}, ErrNotFound
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("sessions: lookup: %w", err)
	}
	return userID, accountID, issuedAt, nil
}
