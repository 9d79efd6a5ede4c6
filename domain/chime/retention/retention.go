// Package retention models the chat retention settings of a Chime Enterprise account (guide §4.7,
// §4.8; API Get/PutRetentionSettings) and the rules that say, at an instant, which messages are
// hidden and which may be destroyed.
//
// Invariants:
//   - The stream "chime.retention-<account id>" holds one account's settings: a retention period per
//     class (rooms, conversations) of 1 to MaxDays days (15 years of 365 days), or off (0).
//   - A message of a class is hidden from every API once it is older than the class's current
//     period (Policy.HideBefore): the guide's "within 1 day", exactly.
//   - Content may be destroyed only when it is older than every period that was in force at some
//     moment of the last Grace (30 days) (Policy.DestroyBefore); if retention was off at any moment of
//     that window, nothing is destroyed. So for 30 days after retention is set (or shortened),
//     turning it off or lengthening it restores what it hid; after that, messages are destroyed as
//     they pass the period. Destroyable content is always hidden.
//   - Rooms take the retention of the account that created them (every room of a Belfry account is
//     created in it); conversations follow Conversation (§4.7.1).
package retention

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names and limits.
const (
	StreamPrefix    = "chime.retention-"
	TypeSettingsPut = "chime.retention.settings_put.v1"
	// MinDays and MaxDays bound a period: 1 day to 15 years (guide §4.7; 15 × 365 days).
	MinDays = 1
	MaxDays = 5475
	// Grace is how long a retention setting can be undone (guide §4.8).
	Grace = 30 * 24 * time.Hour
	// MixedConversationDays is the automatic retention of a conversation between an Enterprise
	// account's members and anyone outside it (guide §4.7 note and tables). Belfry applies it
	// whatever the accounts' own settings, as the guide's "automatically set to 90 days" reads.
	MixedConversationDays = 90
	// maxChanges bounds the changes a state keeps (those older than Grace are folded away).
	maxChanges = 1000
)

// StreamName is the retention stream of one Chime account.
func StreamName(accountID string) string { return StreamPrefix + accountID }

// Class is what a period applies to.
type Class string

// The classes.
const (
	Rooms         Class = "room"
	Conversations Class = "conversation"
)

// ErrInvalid is a period out of range.
var ErrInvalid = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid retention settings"}

// Settings are the periods in days per class; 0 is off.
type Settings struct {
	RoomDays         int `json:"roomDays"`
	ConversationDays int `json:"conversationDays"`
}

// Days is the period of a class (0: off).
func (s Settings) Days(c Class) int {
	if c == Rooms {
		return s.RoomDays
	}
	return s.ConversationDays
}

// Event is the sealed set of retention events.
type Event interface{ EventType() string }

// SettingsPut records the account's retention settings from At on.
type SettingsPut struct {
	AccountID string    `json:"accountId"`
	Settings  Settings  `json:"settings"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (SettingsPut) EventType() string { return TypeSettingsPut }

// Events is the retention event table.
var Events = domain.NewRegistry("retention", domain.Register[SettingsPut, Event](TypeSettingsPut))

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// Change is a setting and the instant it took effect.
type Change struct {
	At       time.Time
	Settings Settings
}

// Policy is an account's settings over time, oldest first; before the first change retention is off.
type Policy []Change

// Current is the settings in force now (the last change).
func (p Policy) Current() Settings {
	if len(p) == 0 {
		return Settings{}
	}
	return p[len(p)-1].Settings
}

// HideBefore is the instant before which a class's messages are hidden at now; ok is false when
// the class has no retention.
func (p Policy) HideBefore(c Class, now time.Time) (time.Time, bool) {
	d := p.Current().Days(c)
	if d == 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(d) * 24 * time.Hour), true
}

// DestroyBefore is the instant before which a class's content may be destroyed at now: older than
// the longest period in force at any moment of (now-Grace, now]; ok is false when retention was
// off at such a moment.
func (p Policy) DestroyBefore(c Class, now time.Time) (time.Time, bool) {
	from := now.Add(-Grace)
	longest := 0
	for i, ch := range p {
		next := now.Add(time.Nanosecond)
		if i+1 < len(p) {
			next = p[i+1].At
		}
		if !next.After(from) || ch.At.After(now) {
			continue // ended before the window, or not yet in force
		}
		d := ch.Settings.Days(c)
		if d == 0 {
			return time.Time{}, false
		}
		longest = max(longest, d)
	}
	if longest == 0 || len(p) == 0 || p[0].At.After(from) {
		return time.Time{}, false // off before the first change, inside the window
	}
	return now.Add(-time.Duration(longest) * 24 * time.Hour), true
}

// InitiateDeletion is when destruction under the current settings begins (the API's
// InitiateDeletionTimestamp): Grace after the last change that turned a class on or shortened it,
// the latest over the classes that are on; ok is false when no class is on.
func (p Policy) InitiateDeletion() (time.Time, bool) {
	var s State
	for _, ch := range p {
		s = Evolve(s, SettingsPut{Settings: ch.Settings, At: ch.At})
	}
	return s.InitiateDeletion()
}

// State is one account's retention.
type State struct {
	AccountID string
	Policy    Policy // folded: changes that ended more than Grace before the newest are gone
	// since is, per class (classes' order), when the class was last turned on or shortened, over
	// every change (Policy's folding forgets the older ones): InitiateDeletion counts from it.
	since [2]time.Time
}

// classes are the classes in the order of State.since.
var classes = [2]Class{Rooms, Conversations}

// InitiateDeletion is when destruction under the current settings begins (the API's
// InitiateDeletionTimestamp): Grace after the last change that turned a class on or shortened it,
// the latest over the classes that are on, over every change the account made (the ones Policy has
// folded away included: a class turned on, then only lengthened, starts destruction Grace after it
// was turned on, however long ago that was); ok is false when no class is on.
func (s State) InitiateDeletion() (time.Time, bool) {
	var at time.Time
	cur := s.Policy.Current()
	for i, c := range classes {
		if cur.Days(c) == 0 {
			continue
		}
		if t := s.since[i].Add(Grace); t.After(at) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// Initial is an account that never set retention.
func Initial() State { return State{} }

// Command is the sealed set of retention commands.
type Command interface{ isCommand() }

// Put sets the settings (the whole of them: a class left out is off).
type Put struct {
	AccountID string
	Settings  Settings
	By        string
}

func (Put) isCommand() {}

// Validate checks the periods: 0 (off) or MinDays to MaxDays.
func (s Settings) Validate() error {
	for _, f := range []struct {
		name string
		days int
	}{{"RetentionSettings.RoomRetentionSettings.RetentionDays", s.RoomDays},
		{"RetentionSettings.ConversationRetentionSettings.RetentionDays", s.ConversationDays}} {
		if f.days != 0 && (f.days < MinDays || f.days > MaxDays) {
			return domain.Wrapf(ErrInvalid, "%s must be %d to %d days (1 day to 15 years), not %d", f.name, MinDays, MaxDays, f.days)
		}
	}
	return nil
}

// Decide decides a command: new settings are recorded, the same ones again change nothing.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	put, ok := c.(Put)
	if !ok {
		return nil, domain.Errorf(domain.KindInvalid, "unknown retention command %T", c)
	}
	if err := put.Settings.Validate(); err != nil {
		return nil, err
	}
	if len(s.Policy) > 0 && s.Policy.Current() == put.Settings {
		return nil, nil
	}
	return []Event{SettingsPut{AccountID: put.AccountID, Settings: put.Settings, By: put.By, At: now.UTC()}}, nil
}

// Evolve applies an event; changes that ended more than Grace before the newest are folded away
// (the first one kept is the one in force Grace before it).
func Evolve(s State, e Event) State {
	put, ok := e.(SettingsPut)
	if !ok {
		return s
	}
	s.AccountID = put.AccountID
	prev := s.Policy.Current()
	for i, c := range classes {
		switch d := put.Settings.Days(c); {
		case d == 0:
			s.since[i] = time.Time{}
		case prev.Days(c) == 0 || d < prev.Days(c):
			s.since[i] = put.At
		}
	}
	p := append(Policy(nil), s.Policy...)
	p = append(p, Change{At: put.At, Settings: put.Settings})
	from := put.At.Add(-Grace)
	drop := 0
	for drop+1 < len(p) && !p[drop+1].At.After(from) {
		drop++
	}
	if len(p)-drop > maxChanges {
		drop = len(p) - maxChanges
	}
	s.Policy = p[drop:]
	return s
}
