package usage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/settings"
)

// StreamPrefixes are the streams a Tally reads.
var StreamPrefixes = []string{account.StreamPrefix, meeting.StreamPrefix, conversation.StreamPrefix, room.StreamPrefix,
	SignInStreamPrefix, settings.StreamPrefix}

// Tally folds the log's events, in $all order, into the usage reports of one week.
//
// Invariants: the directory of a Chime account (its name, users and their status) is what its stream
// held at the account's cutoff position (Cutoff; events after it are ignored); activity is counted
// by the events' own instants: meetings attended are distinct meetings a user joined in the week,
// meetings hosted are the meetings a user organised that started in the week, chat sent counts the
// user's posts in 1:1 and group conversations and in rooms (not bots' or webhooks') in the week, and
// the last login is the latest sign-in before the week's end. The result depends on nothing else.
type Tally struct {
	from, to time.Time
	// Cutoff is the position an account's directory is read up to (nil: everything).
	Cutoff func(accountID string) uint64

	accounts  map[string]*directory
	settings  map[string]settings.State
	organizer map[string]string
	attended  map[string]map[string]struct{}
	hosted    map[string]int
	chat      map[string]int
	lastLogin map[string]time.Time
}

type directory struct {
	state   account.State
	created map[string]time.Time
}

// NewTally starts the tally of the week starting weekStart.
func NewTally(weekStart time.Time) *Tally {
	w := WeekStart(weekStart)
	return &Tally{from: w, to: w.Add(Week), accounts: map[string]*directory{}, settings: map[string]settings.State{},
		organizer: map[string]string{}, attended: map[string]map[string]struct{}{}, hosted: map[string]int{}, chat: map[string]int{},
		lastLogin: map[string]time.Time{}}
}

func (t *Tally) inWeek(at time.Time) bool { return !at.Before(t.from) && at.Before(t.to) }

// Wants reports whether an event type counts; Apply needs to see only those.
func Wants(stream, eventType string) bool {
	switch {
	case strings.HasPrefix(stream, account.StreamPrefix), strings.HasPrefix(stream, settings.StreamPrefix):
		return true
	case strings.HasPrefix(stream, meeting.StreamPrefix):
		return eventType == meeting.TypeScheduled || eventType == meeting.TypeStarted || eventType == meeting.TypeAttendeeJoined
	case strings.HasPrefix(stream, conversation.StreamPrefix):
		return eventType == conversation.TypeMessagePosted
	case strings.HasPrefix(stream, room.StreamPrefix):
		return eventType == room.TypeMessagePosted
	}
	return eventType == TypeSignedIn
}

// Apply folds one stored event (its stream, type, $all position and data); events of other streams
// and types are ignored.
func (t *Tally) Apply(stream, eventType string, position uint64, data []byte) error {
	if !Wants(stream, eventType) {
		return nil
	}
	switch {
	case strings.HasPrefix(stream, account.StreamPrefix):
		return t.applyAccount(strings.TrimPrefix(stream, account.StreamPrefix), eventType, position, data)
	case strings.HasPrefix(stream, settings.StreamPrefix):
		e, err := settings.Decode(eventType, data)
		if err == nil {
			aws := strings.TrimPrefix(stream, settings.StreamPrefix)
			t.settings[aws] = settings.Evolve(t.settings[aws], e)
		}
		return err
	case strings.HasPrefix(stream, meeting.StreamPrefix):
		return t.applyMeeting(strings.TrimPrefix(stream, meeting.StreamPrefix), eventType, data)
	case strings.HasPrefix(stream, conversation.StreamPrefix), strings.HasPrefix(stream, room.StreamPrefix):
		var m posted
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("usage: %s: %w", eventType, err)
		}
		if (m.SenderType == "" || m.SenderType == room.MemberUser) && t.inWeek(m.At) {
			t.chat[m.SenderID]++
		}
		return nil
	}
	e, err := Decode(eventType, data)
	if s, ok := e.(SignedIn); ok && s.At.Before(t.to) && s.At.After(t.lastLogin[s.UserID]) {
		t.lastLogin[s.UserID] = s.At
	}
	return err
}

// posted is what the tally reads of a conversation's or a room's MessagePosted (the fields of
// conversation.MessagePosted and room.MessagePosted of the same names; a conversation's has no
// sender type: its senders are users). Decoding these alone skips the sealed content, which is
// most of a message event and which the tally never needs.
type posted struct {
	SenderID   string    `json:"senderId"`
	SenderType string    `json:"senderType"`
	At         time.Time `json:"at"`
}

func (t *Tally) applyAccount(id, eventType string, position uint64, data []byte) error {
	if t.Cutoff != nil && position > t.Cutoff(id) {
		return nil
	}
	e, err := account.Decode(eventType, data)
	if err != nil {
		return err
	}
	d := t.accounts[id]
	if d == nil {
		d = &directory{state: account.Initial(), created: map[string]time.Time{}}
		t.accounts[id] = d
	}
	if u, ok := e.(account.UserAdded); ok {
		d.created[u.UserID] = u.CreatedAt
	}
	d.state = account.Evolve(d.state, e)
	return nil
}

func (t *Tally) applyMeeting(id, eventType string, data []byte) error {
	e, err := meeting.Decode(eventType, data)
	switch e := e.(type) {
	case meeting.Scheduled:
		t.organizer[id] = e.OrganizerID
	case meeting.Started:
		if org := t.organizer[id]; org != "" && t.inWeek(e.At) {
			t.hosted[org]++
		}
	case meeting.AttendeeJoined:
		if t.inWeek(e.At) {
			m := t.attended[e.UserID]
			if m == nil {
				m = map[string]struct{}{}
				t.attended[e.UserID] = m
			}
			m[id] = struct{}{}
		}
	}
	return err
}

// Account is one Chime account as the tally saw it.
type Account struct {
	ID, AwsAccountID, Name string
	Created                time.Time
	// Live: the account existed and was not deleted at its cutoff.
	Live bool
}

// Accounts lists the accounts seen, by id.
func (t *Tally) Accounts() []Account {
	out := make([]Account, 0, len(t.accounts))
	for id, d := range t.accounts {
		out = append(out, Account{ID: id, AwsAccountID: d.state.AwsAccountID, Name: d.state.Name, Created: d.state.CreatedAt, Live: d.state.Live()})
	}
	slices.SortFunc(out, func(a, b Account) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Settings is the settings of an AWS account as of the end of the pass.
func (t *Tally) Settings(awsAccountID string) settings.State { return t.settings[awsAccountID] }

// Rows are the report rows of an account: one per user of its directory (suspended ones included),
// by display name, then e-mail address, then id.
func (t *Tally) Rows(accountID string) []Row {
	d := t.accounts[accountID]
	if d == nil || d.state.Members == nil {
		return nil
	}
	ids, users := d.state.Members.Sorted()
	rows := make([]Row, len(users))
	for i, u := range users {
		rows[i] = Row{DisplayName: cmp.Or(u.DisplayName, u.Username), Email: u.Email, Registration: u.Registration,
			Created: d.created[ids[i]], LastLogin: t.lastLogin[ids[i]], Attended: len(t.attended[ids[i]]), Hosted: t.hosted[ids[i]],
			ChatSent: t.chat[ids[i]]}
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.DisplayName, b.DisplayName), cmp.Compare(a.Email, b.Email))
	})
	return rows
}
