package chimeaccounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// Secrets opens the credentials the read model keeps sealed; infra/datakeys implements it. An
// error matching domain.ErrShredded means the subject was deleted and its key destroyed.
type Secrets interface {
	// Warm loads the keys of a page of credentials in one round trip.
	Warm(ctx context.Context, keyIDs []string) error
	OpenSealed(ctx context.Context, s domain.Sealed) ([]byte, error)
}

// WithSecrets lets the store open sealed credentials; without it every sealed credential reads as absent
// (a PIN or token is empty, no password matches).
func (s *Store) WithSecrets(k Secrets) *Store {
	s.secrets = k
	return s
}

func legacy(plain string) *string {
	if plain == "" {
		return nil
	}
	return &plain
}

func keyID(s domain.Sealed) *string {
	if s.IsZero() {
		return nil
	}
	return &s.KeyID
}

func data(s domain.Sealed) []byte {
	if s.IsZero() {
		return nil
	}
	return s.Data
}

// destroyKeySQL destroys one subject key, creating it destroyed when it never existed so that it is
// never created later (the layout of keys.subject_keys, infra/migrations 0009; datakeys.DestroySubject
// is the same statement).
const destroyKeySQL = `INSERT INTO keys.subject_keys (key_id, tenant, subject, key, destroyed_at) VALUES ($1,$2,$3,NULL,now())
	ON CONFLICT (key_id) DO UPDATE SET key = NULL, destroyed_at = coalesce(keys.subject_keys.destroyed_at, now())`

// shredUser destroys a removed user's key and clears the row's credentials.
func shredUser(b *pgx.Batch, schema, accountID, userID string) {
	subject := account.UserKeySubject(userID)
	b.Queue(destroyKeySQL, domain.SubjectKeyID(accountID, subject), accountID, subject)
	b.Queue(`UPDATE `+schema+`.chime_users SET personal_pin = NULL, pin_key_id = NULL, pin_sealed = NULL, password_hash = NULL,
		password_key_id = NULL, password_sealed = NULL WHERE user_id = $1`, userID)
}

// shredAccount destroys the keys of every user and bot of a deleted account and clears their rows'
// credentials.
func shredAccount(b *pgx.Batch, schema, accountID string) {
	b.Queue(`UPDATE keys.subject_keys SET key = NULL, destroyed_at = coalesce(destroyed_at, now()) WHERE tenant = $1 AND key IS NOT NULL`, accountID)
	b.Queue(`UPDATE `+schema+`.chime_users SET personal_pin = NULL, pin_key_id = NULL, pin_sealed = NULL, password_hash = NULL,
		password_key_id = NULL, password_sealed = NULL WHERE account_id = $1`, accountID)
	b.Queue(`UPDATE `+schema+`.chime_bots SET security_token = NULL, token_key_id = NULL, token_sealed = NULL WHERE account_id = $1`, accountID)
}

// sealedCol is a credential as a row holds it: sealed, or plain from a legacy event.
type sealedCol struct {
	keyID  *string
	data   []byte
	legacy *string
}

func (c sealedCol) sealed() domain.Sealed {
	if c.keyID == nil {
		return domain.Sealed{}
	}
	return domain.Sealed{KeyID: *c.keyID, Data: c.data}
}

// open reveals a credential: the legacy plain value, or the sealed one opened; "" when there is
// none, when its key was destroyed, or when the store has no Secrets.
func (s *Store) open(ctx context.Context, c sealedCol) (string, error) {
	if c.legacy != nil {
		return *c.legacy, nil
	}
	sealed := c.sealed()
	if sealed.IsZero() || s.secrets == nil {
		return "", nil
	}
	pt, err := s.secrets.OpenSealed(ctx, sealed)
	if errors.Is(err, domain.ErrShredded) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("chimeaccounts: open credential: %w", err)
	}
	return string(pt), nil
}

// warm loads the keys of a page of credentials at once.
func (s *Store) warm(ctx context.Context, cols []sealedCol) error {
	if s.secrets == nil {
		return nil
	}
	var ids []string
	for _, c := range cols {
		if c.keyID != nil && c.legacy == nil {
			ids = append(ids, *c.keyID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := s.secrets.Warm(ctx, ids); err != nil {
		return fmt.Errorf("chimeaccounts: warm keys: %w", err)
	}
	return nil
}
