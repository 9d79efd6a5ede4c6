// Package chimeaccounts projects Chime account events into rm.chime_accounts and answers the
// account queries of the Chime API.
//
// Invariants: one row per account ever created; deleted accounts keep their row with deleted_at set
// and are invisible to every query. Rows belong to one AWS account (tenant) and queries never cross
// tenants. Credentials (password hashes, PINs, bot security tokens) are kept as the events carry them,
// sealed under their subject's key (domain.Sealed), and opened only when a query returns them (Secrets);
// the plain values of events stored before sealing sit in the legacy columns. Removing a user, or
// deleting the account, destroys the subjects' keys in the same transaction as the read-model change
// and its checkpoint (so a crash replays both), and clears the legacy plain values.
package chimeaccounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections"
)

// Projection is the accounts read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_accounts" }

// Version of the table layout.
func (Projection) Version() int { return 12 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_accounts", "chime_account_emails", "chime_users", "chime_domains", "chime_bots", "chime_invites", "chime_domain_purges"}
}

// Filter selects account streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{account.StreamPrefix}}
}

// tables are the DDL of the read model, one entry per table with its indexes (%[1]s is the schema).
var tables = []string{
	// chime_accounts
	`
		CREATE TABLE %[1]s.chime_accounts (
			account_id             text PRIMARY KEY,
			aws_account_id         text NOT NULL,
			name                   text NOT NULL,
			account_type           text NOT NULL,
			account_status         text NOT NULL,
			default_license        text NOT NULL,
			supported_licenses     text[] NOT NULL,
			created_at             timestamptz NOT NULL,
			disable_remote_control boolean NOT NULL DEFAULT false,
			enable_dial_out        boolean NOT NULL DEFAULT false,
			users                  int NOT NULL DEFAULT 0,
			signin_delegate_groups text[] NOT NULL DEFAULT '{}',
			deleted_at             timestamptz
		);
		CREATE INDEX ON %[1]s.chime_accounts (aws_account_id, account_id) WHERE deleted_at IS NULL;
		CREATE INDEX ON %[1]s.chime_accounts (aws_account_id, name text_pattern_ops) WHERE deleted_at IS NULL;`,
	// chime_account_emails
	`
		-- user e-mail addresses per account, for ListAccounts' user-email filter
		CREATE TABLE %[1]s.chime_account_emails (
			account_id text NOT NULL,
			email      text NOT NULL,
			user_id    text NOT NULL,
			PRIMARY KEY (email, account_id)
		);`,
	// chime_users
	`
		CREATE TABLE %[1]s.chime_users (
			user_id             text PRIMARY KEY,
			account_id          text NOT NULL,
			email               text NOT NULL,
			username            text NOT NULL,
			user_type           text NOT NULL,
			license_type        text NOT NULL,
			registration_status text NOT NULL,
			personal_pin        text, -- legacy: plain PIN of events stored before sealing
			pin_key_id          text,
			pin_sealed          bytea,
			alexa_enabled       boolean,
			alexa_room_arn      text,
			logged_out_at       timestamptz,
			removed             boolean NOT NULL DEFAULT false,
			inbound_calling     boolean NOT NULL DEFAULT false,
			outbound_calling    boolean NOT NULL DEFAULT false,
			sms                 boolean NOT NULL DEFAULT false,
			primary_number      text,
			invitation_status   text,
			invited_on          timestamptz,
			registered_on       timestamptz,
			display_name        text NOT NULL DEFAULT '',
			password_hash       text, -- legacy: plain bcrypt hash of events stored before sealing
			password_key_id     text,
			password_sealed     bytea,
			created_at          timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_users (account_id, user_id) WHERE NOT removed;
		CREATE INDEX ON %[1]s.chime_users (email);`,
	// chime_domains
	`
		CREATE TABLE %[1]s.chime_domains (
			account_id  text NOT NULL,
			domain      text NOT NULL,
			status      text NOT NULL,
			txt_name    text NOT NULL,
			txt_value   text NOT NULL,
			claimed_at  timestamptz NOT NULL,
			verified_at timestamptz,
			PRIMARY KEY (account_id, domain)
		);`,
	// chime_bots
	`
		CREATE TABLE %[1]s.chime_bots (
			bot_id         text PRIMARY KEY,
			account_id     text NOT NULL,
			user_id        text NOT NULL,
			display_name   text NOT NULL,
			email          text NOT NULL,
			security_token text, -- legacy: plain token of events stored before sealing
			token_key_id   text,
			token_sealed   bytea,
			disabled       boolean NOT NULL DEFAULT false,
			lambda_arn     text,
			https_endpoint text,
			has_events     boolean NOT NULL DEFAULT false,
			created_at     timestamptz NOT NULL,
			updated_at     timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_bots (account_id, bot_id);`,
	// chime_domain_purges
	`
		CREATE TABLE %[1]s.chime_domain_purges (
			account_id      text NOT NULL,
			domain          text NOT NULL,
			delete_users_at timestamptz NOT NULL,
			done            boolean NOT NULL DEFAULT false,
			PRIMARY KEY (account_id, domain)
		);`,
	// chime_invites
	`
		CREATE TABLE %[1]s.chime_invites (
			invite_id    text PRIMARY KEY,
			account_id   text NOT NULL,
			user_id      text NOT NULL,
			email        text NOT NULL,
			token_hash   text UNIQUE,
			expires_at   timestamptz NOT NULL,
			email_status text NOT NULL DEFAULT 'NotSent',
			used         boolean NOT NULL DEFAULT false
		);`,
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	for _, ddl := range tables {
		if _, err := tx.Exec(ctx, fmt.Sprintf(ddl, schema)); err != nil {
			return err
		}
	}
	return nil
}

// PartitionedByStream: every row an account's events write is keyed by the account's id or by ids
// its own events created (users, bots, invitations, domain claims, key subjects), so the build of a
// snapshot may apply the streams of different accounts on different connections
// (projections.StreamPartitioned).
func (Projection) PartitionedByStream() {}

// Apply applies one event; every statement is idempotent for its event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := account.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	a := applier{b: b, schema: schema, id: ev.StreamID[len(account.StreamPrefix):]}
	for _, apply := range []func(account.Event) bool{a.accounts, a.users, a.domains, a.bots, a.invites} {
		if apply(e) {
			return nil
		}
	}
	return fmt.Errorf("chimeaccounts: unhandled event %s", ev.EventType)
}

// applier queues the statements of one event of account id, by event family.
type applier struct {
	b          *pgx.Batch
	schema, id string
}

// accounts applies the account's own events (chime_accounts); false when e is not one of them.
func (a applier) accounts(e account.Event) bool {
	b, schema, id, t := a.b, a.schema, a.id, a.schema+".chime_accounts"
	switch e := e.(type) {
	case account.Created:
		b.Queue(`INSERT INTO `+t+` (account_id, aws_account_id, name, account_type, account_status,
			default_license, supported_licenses, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`,
			e.AccountID, e.AwsAccountID, e.Name, e.AccountType, account.StatusActive, e.DefaultLicense, e.SupportedLicenses, e.CreatedAt)
	case account.Renamed:
		b.Queue(`UPDATE `+t+` SET name = $2 WHERE account_id = $1`, id, e.Name)
	case account.DefaultLicenseChanged:
		b.Queue(`UPDATE `+t+` SET default_license = $2 WHERE account_id = $1`, id, e.DefaultLicense)
	case account.SettingsUpdated:
		b.Queue(`UPDATE `+t+` SET disable_remote_control = $2, enable_dial_out = $3 WHERE account_id = $1`,
			id, e.DisableRemoteControl, e.EnableDialOut)
	case account.Deleted:
		b.Queue(`UPDATE `+t+` SET deleted_at = $2 WHERE account_id = $1`, id, e.DeletedAt)
		shredAccount(b, schema, id)
	case account.DelegateGroupsAssociated:
		b.Queue(`UPDATE `+t+` SET signin_delegate_groups = ARRAY(SELECT DISTINCT unnest(signin_delegate_groups || $2::text[]) ORDER BY 1) WHERE account_id = $1`, id, e.Groups)
	case account.DelegateGroupsDisassociated:
		b.Queue(`UPDATE `+t+` SET signin_delegate_groups = ARRAY(SELECT g FROM unnest(signin_delegate_groups) g WHERE NOT g = ANY($2::text[]) ORDER BY 1) WHERE account_id = $1`, id, e.Groups)
	case account.AccountTypeChanged:
		b.Queue(`UPDATE `+t+` SET account_type = $2 WHERE account_id = $1`, id, e.AccountType)
	default:
		return false
	}
	return true
}

// users applies the user events (chime_users, chime_account_emails); false when e is not one of them.
func (a applier) users(e account.Event) bool {
	b, schema, id, t, u := a.b, a.schema, a.id, a.schema+".chime_accounts", a.schema+".chime_users"
	switch e := e.(type) {
	case account.UserAdded:
		// The count moves only when the row is new, so a replayed event changes nothing.
		b.Queue(`WITH ins AS (INSERT INTO `+u+` (user_id, account_id, email, username, user_type, license_type,
			registration_status, personal_pin, pin_key_id, pin_sealed, created_at) VALUES ($1,$2,$3,$4,$5,$6,'Unregistered',$7,$8,$9,$10)
			ON CONFLICT DO NOTHING RETURNING 1)
			UPDATE `+t+` SET users = users + (SELECT count(*) FROM ins) WHERE account_id = $2`,
			e.UserID, id, e.Email, e.Username, e.UserType, e.LicenseType, legacy(e.LegacyPIN), keyID(e.PIN), data(e.PIN), e.CreatedAt)
		b.Queue(`INSERT INTO `+schema+`.chime_account_emails (account_id, email, user_id) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
			id, e.Email, e.UserID)
	case account.UserUpdated:
		var enabled *bool
		var arn *string
		if e.Alexa != nil {
			enabled, arn = &e.Alexa.Enabled, &e.Alexa.RoomARN
		}
		b.Queue(`UPDATE `+u+` SET license_type = $2, user_type = $3, alexa_enabled = $4, alexa_room_arn = $5 WHERE user_id = $1`,
			e.UserID, e.LicenseType, e.UserType, enabled, arn)
	case account.UserSuspended:
		b.Queue(`UPDATE `+u+` SET registration_status = 'Suspended' WHERE user_id = $1`, e.UserID)
	case account.UserUnsuspended:
		b.Queue(`UPDATE `+u+` SET registration_status = $2 WHERE user_id = $1`, e.UserID, e.Registration)
	case account.UserRemoved:
		b.Queue(`WITH upd AS (UPDATE `+u+` SET removed = true WHERE user_id = $1 AND NOT removed RETURNING 1)
			UPDATE `+t+` SET users = users - (SELECT count(*) FROM upd) WHERE account_id = $2`, e.UserID, id)
		shredUser(b, schema, id, e.UserID)
		b.Queue(`DELETE FROM `+schema+`.chime_account_emails WHERE user_id = $1`, e.UserID)
	case account.UserLoggedOut:
		b.Queue(`UPDATE `+u+` SET logged_out_at = $2 WHERE user_id = $1`, e.UserID, e.At)
	case account.PersonalPINReset:
		b.Queue(`UPDATE `+u+` SET personal_pin = $2, pin_key_id = $3, pin_sealed = $4 WHERE user_id = $1`,
			e.UserID, legacy(e.LegacyPIN), keyID(e.PIN), data(e.PIN))
	case account.UserNumberAssigned:
		b.Queue(`UPDATE `+u+` SET primary_number = $2 WHERE user_id = $1`, e.UserID, e.E164)
	case account.UserNumberUnassigned:
		b.Queue(`UPDATE `+u+` SET primary_number = NULL WHERE user_id = $1`, e.UserID)
	case account.UserSettingsUpdated:
		b.Queue(`UPDATE `+u+` SET inbound_calling = $2, outbound_calling = $3, sms = $4 WHERE user_id = $1`,
			e.UserID, e.InboundCalling, e.OutboundCalling, e.SMS)
	default:
		return false
	}
	return true
}

// domains applies the domain-claim events (chime_domains, chime_domain_purges); false when e is not
// one of them.
func (a applier) domains(e account.Event) bool {
	b, schema, id := a.b, a.schema, a.id
	switch e := e.(type) {
	case account.DomainClaimAdded:
		b.Queue(`INSERT INTO `+schema+`.chime_domains (account_id, domain, status, txt_name, txt_value, claimed_at)
			VALUES ($1,$2,'PendingVerification',$3,$4,$5) ON CONFLICT DO NOTHING`, id, e.Domain, e.TXTName, e.TXTValue, e.At)
	case account.DomainVerified:
		b.Queue(`UPDATE `+schema+`.chime_domains SET status = 'Verified', verified_at = $3 WHERE account_id = $1 AND domain = $2`, id, e.Domain, e.At)
	case account.DomainClaimRemoved:
		b.Queue(`DELETE FROM `+schema+`.chime_domains WHERE account_id = $1 AND domain = $2`, id, e.Domain)
		if e.WasVerified {
			b.Queue(`INSERT INTO `+schema+`.chime_domain_purges (account_id, domain, delete_users_at) VALUES ($1,$2,$3)
				ON CONFLICT (account_id, domain) DO UPDATE SET delete_users_at = $3, done = false`, id, e.Domain, e.DeleteUsersAt)
		}
	case account.DomainUsersPurged:
		b.Queue(`UPDATE `+schema+`.chime_domain_purges SET done = true WHERE account_id = $1 AND domain = $2`, id, e.Domain)
	default:
		return false
	}
	return true
}

// bots applies the bot events (chime_bots); false when e is not one of them.
func (a applier) bots(e account.Event) bool {
	b, schema, id := a.b, a.schema, a.id
	switch e := e.(type) {
	case account.BotCreated:
		b.Queue(`INSERT INTO `+schema+`.chime_bots (bot_id, account_id, user_id, display_name, email, security_token, token_key_id, token_sealed,
			created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9) ON CONFLICT DO NOTHING`,
			e.BotID, id, e.UserID, e.DisplayName, e.Email, legacy(e.LegacySecurityToken), keyID(e.SecurityToken), data(e.SecurityToken), e.At)
	case account.BotUpdated:
		b.Queue(`UPDATE `+schema+`.chime_bots SET disabled = $2, updated_at = $3 WHERE bot_id = $1`, e.BotID, e.Disabled, e.At)
	case account.BotTokenRegenerated:
		b.Queue(`UPDATE `+schema+`.chime_bots SET security_token = $2, token_key_id = $3, token_sealed = $4, updated_at = $5 WHERE bot_id = $1`,
			e.BotID, legacy(e.LegacySecurityToken), keyID(e.SecurityToken), data(e.SecurityToken), e.At)
	case account.BotEventsConfigured:
		b.Queue(`UPDATE `+schema+`.chime_bots SET lambda_arn = nullif($2, ''), https_endpoint = nullif($3, ''), has_events = true WHERE bot_id = $1`,
			e.BotID, e.LambdaARN, e.HTTPSEndpoint)
	case account.BotEventsConfigurationDeleted:
		b.Queue(`UPDATE `+schema+`.chime_bots SET lambda_arn = NULL, https_endpoint = NULL, has_events = false WHERE bot_id = $1`, e.BotID)
	default:
		return false
	}
	return true
}

// invites applies the invitation and registration events (chime_invites, chime_users); false when e
// is not one of them.
func (a applier) invites(e account.Event) bool {
	b, schema, id, u := a.b, a.schema, a.id, a.schema+".chime_users"
	switch e := e.(type) {
	case account.UserInvited:
		b.Queue(`INSERT INTO `+schema+`.chime_invites (invite_id, account_id, user_id, email, expires_at) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT DO NOTHING`, e.InviteID, id, e.UserID, e.Email, e.ExpiresAt)
		b.Queue(`UPDATE `+u+` SET invitation_status = 'Pending', invited_on = $2 WHERE user_id = $1`, e.UserID, e.At)
	case account.InviteTokenIssued:
		b.Queue(`UPDATE `+schema+`.chime_invites SET token_hash = $2 WHERE invite_id = $1`, e.InviteID, e.TokenHash)
	case account.InviteEmailResult:
		b.Queue(`UPDATE `+schema+`.chime_invites SET email_status = $2 WHERE invite_id = $1`, e.InviteID, e.Status)
	case account.UserRegistered:
		b.Queue(`UPDATE `+schema+`.chime_invites SET used = true WHERE invite_id = $1`, e.InviteID)
		b.Queue(`UPDATE `+u+` SET registration_status = 'Registered', invitation_status = 'Accepted', registered_on = $2,
			display_name = $3, password_hash = $4, password_key_id = $5, password_sealed = $6 WHERE user_id = $1`,
			e.UserID, e.At, e.DisplayName, legacy(e.LegacyPasswordHash), keyID(e.PasswordHash), data(e.PasswordHash))
		if !e.PIN.IsZero() || e.LegacyPIN != "" {
			b.Queue(`UPDATE `+u+` SET personal_pin = $2, pin_key_id = $3, pin_sealed = $4 WHERE user_id = $1`,
				e.UserID, legacy(e.LegacyPIN), keyID(e.PIN), data(e.PIN))
		}
	default:
		return false
	}
	return true
}

// Account is one row of the read model.
type Account struct {
	AccountID            string
	AwsAccountID         string
	Name                 string
	AccountType          string
	AccountStatus        string
	DefaultLicense       string
	SupportedLicenses    []string
	CreatedAt            time.Time
	DisableRemoteControl bool
	EnableDialOut        bool
	DelegateGroups       []string
}

// Store answers account queries from rm.chime_accounts.
type Store struct {
	pool    *pgxpool.Pool
	secrets Secrets
	domainOwners
}

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, domainOwners: domainOwners{pool}} }

const cols = `account_id, aws_account_id, name, account_type, account_status, default_license, supported_licenses,
	created_at, disable_remote_control, enable_dial_out, signin_delegate_groups`

func scan(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.AccountID, &a.AwsAccountID, &a.Name, &a.AccountType, &a.AccountStatus, &a.DefaultLicense,
		&a.SupportedLicenses, &a.CreatedAt, &a.DisableRemoteControl, &a.EnableDialOut, &a.DelegateGroups)
	return a, err
}

// Get returns a live account of the tenant; KindNotFound otherwise.
func (s *Store) Get(ctx context.Context, awsAccountID, id string) (Account, error) {
	a, err := scan(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+cols+` FROM rm.chime_accounts
		WHERE account_id = $1 AND aws_account_id = $2 AND deleted_at IS NULL`), id, awsAccountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, domain.Wrapf(account.ErrNotFound, "The account %s does not exist", id)
	}
	if err != nil {
		return Account{}, fmt.Errorf("chimeaccounts: get %s: %w", id, err)
	}
	return a, nil
}

// ListFilter narrows List.
type ListFilter struct {
	NamePrefix string
	UserEmail  string
}

// List returns a page of the tenant's live accounts ordered by id, and the token of the next page.
func (s *Store) List(ctx context.Context, awsAccountID string, f ListFilter, token string, limit int) ([]Account, string, error) {
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + cols + ` FROM rm.chime_accounts a WHERE aws_account_id = $1 AND deleted_at IS NULL AND account_id > $2
		AND ($3 = '' OR name LIKE replace(replace(replace($3, '\', '\\'), '%', '\%'), '_', '\_') || '%')`
	args := []any{awsAccountID, after, f.NamePrefix, limit + 1}
	if f.UserEmail != "" {
		q += ` AND EXISTS (SELECT 1 FROM rm.chime_account_emails m WHERE m.account_id = a.account_id AND m.email = lower($5))`
		args = append(args, f.UserEmail)
	}
	q += ` ORDER BY account_id LIMIT $4`
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("chimeaccounts: list: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := projections.Page(out, limit, func(a Account) string { return a.AccountID })
	return out, next, nil
}

// User is one row of rm.chime_users.
type User struct {
	UserID             string
	AccountID          string
	Email              string
	Username           string
	UserType           string
	LicenseType        string
	RegistrationStatus string
	PersonalPIN        string
	AlexaEnabled       *bool
	AlexaRoomARN       *string
	Telephony          account.Telephony
	PrimaryNumber      *string
	InvitationStatus   *string
	InvitedOn          *time.Time
	RegisteredOn       *time.Time
	CreatedAt          time.Time
}

// ErrUserNotFound is returned for a user that is not in the tenant's account.
var ErrUserNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "user not found"}

const userCols = `u.user_id, u.account_id, u.email, u.username, u.user_type, u.license_type, u.registration_status,
	u.personal_pin, u.pin_key_id, u.pin_sealed, u.alexa_enabled, u.alexa_room_arn, u.inbound_calling, u.outbound_calling, u.sms, u.primary_number,
	u.invitation_status, u.invited_on, u.registered_on, u.created_at`

// scanUser reads a user row; its PIN is still sealed (the second result) until reveal opens it.
func scanUser(row pgx.Row) (User, sealedCol, error) {
	var u User
	var pin sealedCol
	err := row.Scan(userDest(&u, &pin)...)
	return u, pin, err
}

// userDest is where the columns of userCols are scanned.
func userDest(u *User, pin *sealedCol) []any {
	return []any{&u.UserID, &u.AccountID, &u.Email, &u.Username, &u.UserType, &u.LicenseType, &u.RegistrationStatus,
		&pin.legacy, &pin.keyID, &pin.data, &u.AlexaEnabled, &u.AlexaRoomARN, &u.Telephony.InboundCalling, &u.Telephony.OutboundCalling,
		&u.Telephony.SMS, &u.PrimaryNumber, &u.InvitationStatus, &u.InvitedOn, &u.RegisteredOn, &u.CreatedAt}
}

// oneUser reads one user row and opens its PIN.
func (s *Store) oneUser(ctx context.Context, row pgx.Row) (User, error) {
	u, pin, err := scanUser(row)
	if err != nil {
		return User{}, err
	}
	u.PersonalPIN, err = s.open(ctx, pin)
	return u, err
}

// GetUser returns a member of a live account of the tenant.
func (s *Store) GetUser(ctx context.Context, awsAccountID, accountID, userID string) (User, error) {
	u, err := s.oneUser(ctx, s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.chime_users u JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.user_id = $1 AND u.account_id = $2 AND NOT u.removed AND a.aws_account_id = $3 AND a.deleted_at IS NULL`),
		userID, accountID, awsAccountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", userID, accountID)
	}
	if err != nil {
		return User{}, fmt.Errorf("chimeaccounts: get user: %w", err)
	}
	return u, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Email    string
	UserType string
}

// ListUsers returns a page of an account's members ordered by id, and the next page's token.
func (s *Store) ListUsers(ctx context.Context, awsAccountID, accountID string, f UserFilter, token string, limit int) ([]User, string, error) {
	if _, err := s.Get(ctx, awsAccountID, accountID); err != nil {
		return nil, "", err
	}
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.chime_users u
		WHERE u.account_id = $1 AND NOT u.removed AND u.user_id > $2 AND ($3 = '' OR u.email = lower($3)) AND ($4 = '' OR u.user_type = $4)
		ORDER BY u.user_id LIMIT $5`), accountID, after, f.Email, f.UserType, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("chimeaccounts: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	var pins []sealedCol
	for rows.Next() {
		u, pin, err := scanUser(rows)
		if err != nil {
			return nil, "", err
		}
		out, pins = append(out, u), append(pins, pin)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if err := s.warm(ctx, pins); err != nil {
		return nil, "", err
	}
	for i := range out {
		if out[i].PersonalPIN, err = s.open(ctx, pins[i]); err != nil {
			return nil, "", err
		}
	}
	out, next := projections.Page(out, limit, func(u User) string { return u.UserID })
	return out, next, nil
}

// Domain is one row of rm.chime_domains.
type Domain struct {
	Name       string
	Status     string
	TXTName    string
	TXTValue   string
	ClaimedAt  time.Time
	VerifiedAt *time.Time
}

// ListDomains returns the domain claims of an account of the tenant.
func (s *Store) ListDomains(ctx context.Context, awsAccountID, accountID string) ([]Domain, error) {
	if _, err := s.Get(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT domain, status, txt_name, txt_value, claimed_at, verified_at FROM rm.chime_domains
		WHERE account_id = $1 ORDER BY domain`), accountID)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: list domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		if err := rows.Scan(&d.Name, &d.Status, &d.TXTName, &d.TXTValue, &d.ClaimedAt, &d.VerifiedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Bot is one row of rm.chime_bots.
type Bot struct {
	BotID, AccountID, UserID, DisplayName, Email, SecurityToken string
	Disabled                                                    bool
	LambdaARN, HTTPSEndpoint                                    *string
	HasEvents                                                   bool
	CreatedAt, UpdatedAt                                        time.Time
}

// ErrBotNotFound is returned for a bot that is not in the tenant's account.
var ErrBotNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "bot not found"}

const botCols = `bot_id, account_id, user_id, display_name, email, security_token, token_key_id, token_sealed, disabled, lambda_arn,
	https_endpoint, has_events, created_at, updated_at`

// scanBot reads a bot row; its security token is still sealed (the second result).
func scanBot(row pgx.Row) (Bot, sealedCol, error) {
	var b Bot
	var tok sealedCol
	err := row.Scan(&b.BotID, &b.AccountID, &b.UserID, &b.DisplayName, &b.Email, &tok.legacy, &tok.keyID, &tok.data, &b.Disabled, &b.LambdaARN,
		&b.HTTPSEndpoint, &b.HasEvents, &b.CreatedAt, &b.UpdatedAt)
	return b, tok, err
}

// oneBot reads one bot row and opens its security token.
func (s *Store) oneBot(ctx context.Context, row pgx.Row) (Bot, error) {
	b, tok, err := scanBot(row)
	if err != nil {
		return Bot{}, err
	}
	b.SecurityToken, err = s.open(ctx, tok)
	return b, err
}

// GetBot returns a bot of an account of the tenant.
func (s *Store) GetBot(ctx context.Context, awsAccountID, accountID, botID string) (Bot, error) {
	if _, err := s.Get(ctx, awsAccountID, accountID); err != nil {
		return Bot{}, err
	}
	b, err := s.oneBot(ctx, s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+botCols+` FROM rm.chime_bots WHERE bot_id = $1 AND account_id = $2`), botID, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Bot{}, domain.Wrapf(ErrBotNotFound, "bot %s does not exist in account %s", botID, accountID)
	}
	if err != nil {
		return Bot{}, fmt.Errorf("chimeaccounts: get bot: %w", err)
	}
	return b, nil
}

// BotByID returns a bot whatever its account (for side effects, which act for no tenant).
func (s *Store) BotByID(ctx context.Context, botID string) (Bot, error) {
	b, err := s.oneBot(ctx, s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+botCols+` FROM rm.chime_bots WHERE bot_id = $1`), botID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Bot{}, domain.Wrapf(ErrBotNotFound, "bot %s does not exist", botID)
	}
	if err != nil {
		return Bot{}, fmt.Errorf("chimeaccounts: bot by id: %w", err)
	}
	return b, nil
}

// ListBots returns a page of an account's bots.
func (s *Store) ListBots(ctx context.Context, awsAccountID, accountID, token string, limit int) ([]Bot, string, error) {
	if _, err := s.Get(ctx, awsAccountID, accountID); err != nil {
		return nil, "", err
	}
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+botCols+` FROM rm.chime_bots WHERE account_id = $1 AND bot_id > $2 ORDER BY bot_id LIMIT $3`),
		accountID, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("chimeaccounts: list bots: %w", err)
	}
	defer rows.Close()
	var out []Bot
	var toks []sealedCol
	for rows.Next() {
		b, tok, err := scanBot(rows)
		if err != nil {
			return nil, "", err
		}
		out, toks = append(out, b), append(toks, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if err := s.warm(ctx, toks); err != nil {
		return nil, "", err
	}
	for i := range out {
		if out[i].SecurityToken, err = s.open(ctx, toks[i]); err != nil {
			return nil, "", err
		}
	}
	out, next := projections.Page(out, limit, func(b Bot) string { return b.BotID })
	return out, next, nil
}

// Invitation is an invitation found by its token hash.
type Invitation struct {
	InviteID, AccountID, UserID, Email string
}

// InviteByTokenHash finds an invitation (used or not) by the hash of its token.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string) (Invitation, error) {
	var i Invitation
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT invite_id, account_id, user_id, email FROM rm.chime_invites WHERE token_hash = $1`), hash).
		Scan(&i.InviteID, &i.AccountID, &i.UserID, &i.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		return Invitation{}, domain.Errorf(domain.KindForbidden, "the invitation token is not valid")
	}
	return i, err
}

// Credential is what sign-in checks for one registered user; PasswordHash is the opened bcrypt hash.
type Credential struct {
	UserID, AccountID, PasswordHash, Registration string
	LoggedOutAt                                   *time.Time
}

// CredentialsByEmail returns the registered, live users with that address (one per account) whose
// password hash can be opened (a destroyed key leaves the user out).
func (s *Store) CredentialsByEmail(ctx context.Context, email string) ([]Credential, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT u.user_id, u.account_id, u.password_hash, u.password_key_id, u.password_sealed, u.registration_status,
		u.logged_out_at FROM rm.chime_users u JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.email = lower($1) AND NOT u.removed AND (u.password_hash IS NOT NULL OR u.password_sealed IS NOT NULL) AND a.deleted_at IS NULL`), email)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: credentials: %w", err)
	}
	var found []Credential
	var hashes []sealedCol
	for rows.Next() {
		var c Credential
		var h sealedCol
		if err := rows.Scan(&c.UserID, &c.AccountID, &h.legacy, &h.keyID, &h.data, &c.Registration, &c.LoggedOutAt); err != nil {
			rows.Close()
			return nil, err
		}
		found, hashes = append(found, c), append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Credential
	for i, c := range found {
		if c.PasswordHash, err = s.open(ctx, hashes[i]); err != nil {
			return nil, err
		}
		if c.PasswordHash != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

// CredentialByUser returns the sign-in facts of one user (without the password hash: sessions do not
// need it).
func (s *Store) CredentialByUser(ctx context.Context, userID string) (Credential, error) {
	var c Credential
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT u.user_id, u.account_id, u.registration_status, u.logged_out_at
		FROM rm.chime_users u JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.user_id = $1 AND NOT u.removed AND a.deleted_at IS NULL`), userID).Scan(&c.UserID, &c.AccountID, &c.Registration, &c.LoggedOutAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Credential{}, domain.Errorf(domain.KindForbidden, "the user no longer exists")
	}
	return c, err
}

// ErrNoSessionUser is a session token that opens no session of a live user: the session is
// unknown, or its user was removed, or the user's account deleted.
var ErrNoSessionUser = domain.Errorf(domain.KindNotFound, "no live user holds this session")

// SessionUser returns, in one query over the client sessions (infra/sessions' table) and this read
// model, the live user a session token's hash opens, when the session was issued, and when the user
// was last logged out (nil: never), which revokes the sessions issued before it. The user's
// PersonalPIN is left empty (opening it costs a key lookup every request would pay): a caller that
// answers with the PIN reads the user with GetUserAnyTenant.
func (s *Store) SessionUser(ctx context.Context, tokenHash string) (User, time.Time, *time.Time, error) {
	var u User
	var pin sealedCol
	var issued time.Time
	var loggedOut *time.Time
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+userCols+`, s.issued_at, u.logged_out_at FROM client.sessions s
		JOIN rm.chime_users u ON u.user_id = s.user_id AND u.account_id = s.account_id
		JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE s.token_hash = $1 AND NOT u.removed AND a.deleted_at IS NULL`), tokenHash).
		Scan(append(userDest(&u, &pin), &issued, &loggedOut)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, time.Time{}, nil, ErrNoSessionUser
	}
	if err != nil {
		return User{}, time.Time{}, nil, fmt.Errorf("chimeaccounts: session user: %w", err)
	}
	return u, issued, loggedOut, nil
}

// GetUserAnyTenant returns a member of a live account without a tenant check (for the client API,
// whose callers are the users themselves).
func (s *Store) GetUserAnyTenant(ctx context.Context, accountID, userID string) (User, error) {
	u, err := s.oneUser(ctx, s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+userCols+` FROM rm.chime_users u JOIN rm.chime_accounts a ON a.account_id = u.account_id
		WHERE u.user_id = $1 AND u.account_id = $2 AND NOT u.removed AND a.deleted_at IS NULL`), userID, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", userID, accountID)
	}
	return u, err
}

// DuePurge is a removed domain whose users are due for deletion.
type DuePurge struct{ AccountID, Domain string }

// DuePurges returns the removed domains whose 90 days have passed at now.
func (s *Store) DuePurges(ctx context.Context, now time.Time) ([]DuePurge, error) {
	return s.purges(ctx, `SELECT account_id, domain FROM rm.chime_domain_purges WHERE NOT done AND delete_users_at <= $1`, now)
}

// PendingPurges returns every removed domain whose users are not deleted yet.
func (s *Store) PendingPurges(ctx context.Context) ([]DuePurge, error) {
	return s.purges(ctx, `SELECT account_id, domain FROM rm.chime_domain_purges WHERE NOT done`)
}

func (s *Store) purges(ctx context.Context, query string, args ...any) ([]DuePurge, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, query), args...)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: purges: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[DuePurge])
}

// InviteEmailStatuses returns the e-mail status of invitations by id.
func (s *Store) InviteEmailStatuses(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT invite_id, email_status FROM rm.chime_invites WHERE invite_id = ANY($1)`), ids)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: invite statuses: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}
