package usage

import (
	"cmp"
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
// and types are ignored. Activity is what Contributes says the event adds.
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
	}
	c, err := Contributes(stream, eventType, data)
	switch c.Kind {
	case ContribScheduled:
		t.organizer[c.MeetingID] = c.UserID
	case ContribStarted:
		if org := t.organizer[c.MeetingID]; org != "" && t.inWeek(c.At) {
			t.hosted[org]++
		}
	case ContribJoined:
		if t.inWeek(c.At) {
			m := t.attended[c.UserID]
			if m == nil {
				m = map[string]struct{}{}
				t.attended[c.UserID] = m
			}
			m[c.MeetingID] = struct{}{}
		}
	case ContribPosted:
		if t.inWeek(c.At) {
			t.chat[c.UserID]++
		}
	case ContribSignedIn:
		if c.At.Before(t.to) && c.At.After(t.lastLogin[c.UserID]) {
			t.lastLogin[c.UserID] = c.At
		}
	}
	return err
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

// Users are the ids of an account's directory (suspended users included), sorted.
func (t *Tally) Users(accountID string) []string {
	d := t.accounts[accountID]
	if d == nil || d.state.Members == nil {
		return nil
	}
	ids, _ := d.state.Members.Sorted()
	return ids
}

// Counts is a user's activity in the week as this tally counted it.
func (t *Tally) Counts(userID string) Counts {
	return Counts{LastLogin: t.lastLogin[userID], Attended: len(t.attended[userID]), Hosted: t.hosted[userID], ChatSent: t.chat[userID]}
}

// Rows are the report rows of an account with the activity this tally counted (Counts).
func (t *Tally) Rows(accountID string) []Row { return t.RowsWith(accountID, t.Counts) }

// RowsWith are the report rows of an account: one per user of its directory (suspended ones
// included), by display name, then e-mail address, then id; each user's activity is counts(id)
// (the tally's own, or the read model's: the directory still comes from the tally).
func (t *Tally) RowsWith(accountID string, counts func(userID string) Counts) []Row {
	d := t.accounts[accountID]
	if d == nil || d.state.Members == nil {
		return nil
	}
	ids, users := d.state.Members.Sorted()
	rows := make([]Row, len(users))
	for i, u := range users {
		c := counts(ids[i])
		rows[i] = Row{DisplayName: cmp.Or(u.DisplayName, u.Username), Email: u.Email, Registration: u.Registration,
			Created: d.created[ids[i]], LastLogin: c.LastLogin, Attended: c.Attended, Hosted: c.Hosted, ChatSent: c.ChatSent}
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.DisplayName, b.DisplayName), cmp.Compare(a.Email, b.Email))
	})
	return rows
}
