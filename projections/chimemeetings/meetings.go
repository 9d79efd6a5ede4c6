// Package chimemeetings projects scheduled meetings into rm.chime_meetings and answers their queries.
//
// Invariant: one row per meeting stream, keyed by meeting id; its status follows the meeting's last
// event, and attendees is the size of its live roster (joined minus left, 0 once ended). organizer_domain is the part of the organiser's e-mail after '@', lower-cased, so a removed
// domain's scheduled meetings are found by index. The PIN is kept sealed under the organiser's key
// (pin_key_id, pin_sealed) and opened when a query returns it (Secrets); the plain PIN of events stored
// before sealing sits in pin. A meeting whose organiser was deleted shows no PIN. A moderated
// meeting's moderator passcode is kept and opened the same way (passcode_key_id, passcode_sealed).
package chimemeetings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections"
)

// Projection is the meetings read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_meetings" }

// Version of the layout.
func (Projection) Version() int { return 4 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"chime_meetings"} }

// Filter selects meeting streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{meeting.StreamPrefix}}
}

// Setup creates the table.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_meetings (
			meeting_id       text PRIMARY KEY,
			account_id       text NOT NULL,
			organizer_id     text NOT NULL,
			organizer_domain text NOT NULL,
			title            text NOT NULL,
			starts_at        timestamptz NOT NULL,
			pin              text, -- legacy: plain PIN of events stored before sealing
			pin_key_id       text,
			pin_sealed       bytea,
			moderated        boolean NOT NULL DEFAULT false,
			passcode_key_id  text,
			passcode_sealed  bytea,
			status           text NOT NULL,
			disabled_reason  text NOT NULL DEFAULT '',
			attendees        integer NOT NULL DEFAULT 0, -- the live roster's size
			created_at       timestamptz NOT NULL,
			updated_at       timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_meetings (account_id, organizer_id, starts_at);
		CREATE INDEX ON %[1]s.chime_meetings (account_id, organizer_domain) WHERE status = 'Scheduled';
		CREATE INDEX ON %[1]s.chime_meetings (meeting_id) WHERE attendees > 0;`, schema))
	return err
}

// Apply queues one event's statements.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := meeting.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	t := schema + ".chime_meetings"
	id := strings.TrimPrefix(ev.StreamID, meeting.StreamPrefix)
	set := func(status, reason string, at time.Time) {
		b.Queue(`UPDATE `+t+` SET status = $2, disabled_reason = $3, updated_at = $4 WHERE meeting_id = $1`, id, status, reason, at)
	}
	switch e := e.(type) {
	case meeting.Scheduled:
		_, dom, _ := strings.Cut(e.OrganizerEmail, "@")
		var legacy, keyID *string
		var sealed []byte
		if e.LegacyPIN != "" {
			legacy = &e.LegacyPIN
		}
		if !e.PIN.IsZero() {
			keyID, sealed = &e.PIN.KeyID, e.PIN.Data
		}
		var codeKey *string
		if !e.Passcode.IsZero() {
			codeKey = &e.Passcode.KeyID
		}
		b.Queue(`INSERT INTO `+t+` (meeting_id, account_id, organizer_id, organizer_domain, title, starts_at, pin, pin_key_id, pin_sealed, status,
			created_at, updated_at, moderated, passcode_key_id, passcode_sealed) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'Scheduled',$10,$10,$11,$12,$13)
			ON CONFLICT (meeting_id) DO NOTHING`,
			id, e.AccountID, e.OrganizerID, strings.ToLower(dom), e.Title, e.StartsAt, legacy, keyID, sealed, e.At, e.Moderated, codeKey, e.Passcode.Data)
	case meeting.Started:
		set(meeting.StatusStarted, "", e.At)
	case meeting.Ended:
		set(meeting.StatusEnded, "", e.At)
		b.Queue(`UPDATE `+t+` SET attendees = 0 WHERE meeting_id = $1`, id)
	case meeting.AttendeeJoined:
		b.Queue(`UPDATE `+t+` SET attendees = attendees + 1 WHERE meeting_id = $1`, id)
	case meeting.AttendeeLeft:
		b.Queue(`UPDATE `+t+` SET attendees = greatest(attendees - 1, 0) WHERE meeting_id = $1`, id)
	case meeting.Cancelled:
		set(meeting.StatusCancelled, "", e.At)
	case meeting.Disabled:
		set(meeting.StatusDisabled, e.Reason, e.At)
	}
	return nil
}

// Meeting is one row.
type Meeting struct {
	MeetingID      string
	AccountID      string
	OrganizerID    string
	Title          string
	StartsAt       time.Time
	PIN            string
	Status         string
	DisabledReason string
	// Moderated meetings have a moderator passcode (opened like the PIN).
	Moderated bool
	Passcode  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Secrets opens sealed PINs (infra/datakeys implements it); an error matching domain.ErrShredded
// means the organiser was deleted.
type Secrets interface {
	OpenSealed(ctx context.Context, s domain.Sealed) ([]byte, error)
}

// Store answers meeting queries.
type Store struct {
	pool    *pgxpool.Pool
	secrets Secrets
}

// NewStore returns a store over the active generation's views.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// WithSecrets lets the store open sealed PINs; without it a sealed PIN reads as empty.
func (s *Store) WithSecrets(k Secrets) *Store {
	s.secrets = k
	return s
}

const columns = `meeting_id, account_id, organizer_id, title, starts_at, pin, pin_key_id, pin_sealed, status, disabled_reason, created_at, updated_at,
	moderated, passcode_key_id, passcode_sealed`

type row struct {
	Meeting
	legacy, keyID, codeKey *string
	sealed, code           []byte
}

func scan(r pgx.Row) (row, error) {
	var m row
	err := r.Scan(&m.MeetingID, &m.AccountID, &m.OrganizerID, &m.Title, &m.StartsAt, &m.legacy, &m.keyID, &m.sealed, &m.Status,
		&m.DisabledReason, &m.CreatedAt, &m.UpdatedAt, &m.Moderated, &m.codeKey, &m.code)
	return m, err
}

// reveal opens a row's PIN.
func (s *Store) reveal(ctx context.Context, r row) (Meeting, error) {
	m := r.Meeting
	switch {
	case r.legacy != nil:
		m.PIN = *r.legacy
	case r.keyID != nil && s.secrets != nil:
		pt, err := s.secrets.OpenSealed(ctx, domain.Sealed{KeyID: *r.keyID, Data: r.sealed})
		if err != nil && !errors.Is(err, domain.ErrShredded) {
			return Meeting{}, fmt.Errorf("chimemeetings: open PIN: %w", err)
		}
		m.PIN = string(pt)
	}
	if r.codeKey != nil && s.secrets != nil {
		pt, err := s.secrets.OpenSealed(ctx, domain.Sealed{KeyID: *r.codeKey, Data: r.code})
		if err != nil && !errors.Is(err, domain.ErrShredded) {
			return Meeting{}, fmt.Errorf("chimemeetings: open the moderator passcode: %w", err)
		}
		m.Passcode = string(pt)
	}
	return m, nil
}

// Get returns one meeting of an account.
func (s *Store) Get(ctx context.Context, accountID, meetingID string) (Meeting, error) {
	r, err := scan(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+columns+` FROM rm.chime_meetings WHERE meeting_id = $1 AND account_id = $2`), meetingID, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Meeting{}, domain.Wrapf(meeting.ErrNotFound, "meeting %s not found", meetingID)
	}
	if err != nil {
		return Meeting{}, err
	}
	return s.reveal(ctx, r)
}

// List returns an account's meetings by start time, those of one organiser when organizerID is set.
func (s *Store) List(ctx context.Context, accountID, organizerID string) ([]Meeting, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+columns+` FROM rm.chime_meetings
		WHERE account_id = $1 AND ($2 = '' OR organizer_id = $2) ORDER BY starts_at, meeting_id LIMIT 1000`), accountID, organizerID)
	if err != nil {
		return nil, fmt.Errorf("chimemeetings: list: %w", err)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) { return scan(r) })
	if err != nil {
		return nil, err
	}
	out := make([]Meeting, 0, len(found))
	for _, r := range found {
		m, err := s.reveal(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ScheduledInDomain returns the ids of an account's scheduled meetings organised by users of a domain.
func (s *Store) ScheduledInDomain(ctx context.Context, accountID, domainName string) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT meeting_id FROM rm.chime_meetings
		WHERE account_id = $1 AND organizer_domain = $2 AND status = 'Scheduled' ORDER BY meeting_id`), accountID, strings.ToLower(domainName))
	if err != nil {
		return nil, fmt.Errorf("chimemeetings: scheduled in domain: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// LiveMeeting is a meeting with attendees in its roster.
type LiveMeeting struct{ MeetingID, AccountID string }

// Live returns the meetings whose roster is not empty (at most 10,000 per call).
func (s *Store) Live(ctx context.Context) ([]LiveMeeting, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT meeting_id, account_id FROM rm.chime_meetings
		WHERE attendees > 0 ORDER BY meeting_id LIMIT 10000`))
	if err != nil {
		return nil, fmt.Errorf("chimemeetings: live: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[LiveMeeting])
}
