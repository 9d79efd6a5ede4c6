// Package meeting models a scheduled Chime meeting: what the calendar add-ins and invites create
// (guide §1.2.1, §4.12), and what a domain's removal disables (guide §1.1.4: users "lose their ability
// to host meetings, including those that have already been scheduled").
//
// Invariants:
//   - The stream "chime.meeting-<id>" holds one meeting. Its PIN is the organiser's personal PIN when
//     it was scheduled; a later ResetPersonalPIN does not rewrite it (Chime does not rewrite invites).
//     The PIN is sealed under the organiser's key (domain.Sealed, account.UserKeySubject): the log
//     never holds it in clear, and removing the organiser shreds it with the user's other credentials.
//   - A title is 1 to MaxTitle bytes of valid UTF-8, one line without control characters or
//     bidirectional overrides (notInTitle); a meeting starts no earlier than an
//     hour ago and no later than year MaxStartYear (UTC): what the event and the read model store.
//   - Only a host may schedule or start: an active (not suspended) Pro or ProTrial user of the account
//     (Basic users have no host role, guide §5.3, §5.5). The caller states the organiser's facts as of the
//     account's state (Host); the decider never reads them itself.
//   - Scheduled → Started → Ended, or Scheduled → Cancelled by the organiser, or Scheduled →
//     Disabled (the organiser lost the host role: a removed domain). A Disabled meeting never starts.
//   - Disable is idempotent and a no-op once the meeting started, ended or was cancelled.
//   - The roster (roster.go): attendees join a scheduled or started meeting (the first join starts
//     it), at most MaxAttendees at once, at most MaxAttendeesPerUser of them one user's (its
//     devices), at most MaxVideoTiles of them sending video and (counted apart) MaxContentShares
//     sharing a screen; when the last attendee leaves, or the meeting ends, or the service restarts
//     (Interrupt), the meeting is Ended with a reason and its roster is empty. An Ended meeting has
//     no attendees.
//   - Moderation (moderation.go): the host's controls — mute, remove, lock, end — are commands of a
//     moderator in the roster; a removed user never joins again, a locked meeting admits only its host.
package meeting

import (
	"cmp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// Stable names.
const (
	StreamPrefix  = "chime.meeting-"
	TypeScheduled = "chime.meeting.scheduled.v1"
	TypeStarted   = "chime.meeting.started.v1"
	TypeEnded     = "chime.meeting.ended.v1"
	TypeCancelled = "chime.meeting.cancelled.v1"
	TypeDisabled  = "chime.meeting.disabled.v1"
	// MaxTitle is the longest title accepted (a calendar subject), in bytes of valid UTF-8 without NUL
	// (what the read model's text column stores).
	MaxTitle = 256
	// MaxStartYear is the last year (UTC) a meeting may start in: the last an event's time encodes.
	MaxStartYear = 9999
	// InviteAddress is the address that puts a meeting on the organiser's Chime schedule (auto-call).
	InviteAddress = "meet@chime.aws"
)

// Statuses.
const (
	StatusScheduled = "Scheduled"
	StatusStarted   = "Started"
	StatusEnded     = "Ended"
	StatusCancelled = "Cancelled"
	StatusDisabled  = "Disabled"
)

// ReasonDomainRemoved is why the meetings of a removed domain's users are disabled.
const ReasonDomainRemoved = "DomainRemoved"

// Sentinels.
var (
	ErrNotFound    = &domain.Error{Kind: domain.KindNotFound, Msg: "meeting not found"}
	ErrExists      = &domain.Error{Kind: domain.KindConflict, Msg: "meeting already exists"}
	ErrNotHost     = &domain.Error{Kind: domain.KindForbidden, Msg: "the organiser cannot host meetings"}
	ErrDisabled    = &domain.Error{Kind: domain.KindConflict, Msg: "the meeting is disabled"}
	ErrNotOpen     = &domain.Error{Kind: domain.KindConflict, Msg: "the meeting is not open"}
	ErrInvalid     = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid meeting"}
	ErrNotOrganise = &domain.Error{Kind: domain.KindForbidden, Msg: "only the organiser may do this"}
)

// StreamName is the stream of one meeting.
func StreamName(id string) string { return StreamPrefix + id }

// PINAddress is the invite address that binds an invitation to the meeting's PIN.
func PINAddress(pin string) string { return "pin+" + pin + "@chime.aws" }

// Host is what the account says of a user who wants to host.
type Host struct {
	UserID    string
	Email     string
	Exists    bool
	Suspended bool
	License   string // Pro, ProTrial, Basic
}

func (h Host) check(userID string) error {
	switch {
	case !h.Exists:
		return domain.Wrapf(ErrNotHost, "user %s is not a member of the account", userID)
	case h.Suspended:
		return domain.Wrapf(ErrNotHost, "user %s is suspended and cannot host meetings", userID)
	case h.License != "Pro" && h.License != "ProTrial":
		return domain.Wrapf(ErrNotHost, "user %s has a %s licence; hosting meetings needs Pro", userID, h.License)
	}
	return nil
}

// Event is the sealed set of meeting events.
type Event interface{ EventType() string }

// Scheduled records a new meeting.
type Scheduled struct {
	AccountID   string `json:"accountId"`
	OrganizerID string `json:"organizerId"`
	// OrganizerEmail lets read models find the meetings of a domain's users.
	OrganizerEmail string    `json:"organizerEmail"`
	Title          string    `json:"title"`
	StartsAt       time.Time `json:"startsAt"`
	// PIN is the organiser's PIN sealed under the organiser's key.
	PIN domain.Sealed `json:"sealedPin,omitzero"`
	// LegacyPIN is the plain PIN of events stored before PINs were sealed (decoded, never written).
	LegacyPIN string `json:"pin,omitempty"`
	// Moderated meetings (guide §8.2) have a moderator passcode, sealed under the organiser's key.
	Moderated bool          `json:"moderated,omitempty"`
	Passcode  domain.Sealed `json:"sealedModeratorPasscode,omitzero"`
	At        time.Time     `json:"at"`
}

// Started records that a host started the meeting.
type Started struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Ended records the end of the meeting; Reason is empty in events stored before the roster
// (EndReason*).
type Ended struct {
	Reason string `json:"reason,omitempty"`
	// By is the moderator (an attendee id) who ended it from the meeting (moderation.go).
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
}

// Cancelled records the organiser's cancellation.
type Cancelled struct {
	At time.Time `json:"at"`
}

// Disabled records that the meeting can no longer start.
type Disabled struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (Scheduled) EventType() string { return TypeScheduled }

// EventType implements Event.
func (Started) EventType() string { return TypeStarted }

// EventType implements Event.
func (Ended) EventType() string { return TypeEnded }

// EventType implements Event.
func (Cancelled) EventType() string { return TypeCancelled }

// EventType implements Event.
func (Disabled) EventType() string { return TypeDisabled }

// State is one meeting.
type State struct {
	AccountID      string
	OrganizerID    string
	Title          string
	StartsAt       time.Time
	Status         string // "" not scheduled
	Moderated      bool   // guide §8.2: others wait for a moderator (moderation.go)
	DisabledReason string
	EndReason      string
	// Chat is the meeting's chat (chat.go), its texts sealed under ChatSubject's key.
	Chat []ChatMessage
	// Attendees is the live roster, by attendee id (roster.go); nil when no one ever joined.
	Attendees map[string]Attendee
	// Locked: only the host may join (moderation.go); Removed are the users a moderator removed.
	Locked  bool
	Removed map[string]bool
	// Recording is the running recording's id ("" when none runs), started at RecordingAt;
	// Recordings counts the recordings ever started (recording.go).
	Recording   string
	RecordingAt time.Time
	Recordings  int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Initial is a meeting never scheduled.
func Initial() State { return State{} }

// Command is the sealed set of meeting commands.
type Command interface{ isMeetingCommand() }

// Schedule creates the meeting for its organiser.
type Schedule struct {
	AccountID string
	Organizer Host
	Title     string
	StartsAt  time.Time
	// PIN is the organiser's personal PIN sealed under the organiser's key.
	PIN domain.Sealed
	// Moderated meetings need Passcode, the moderator passcode sealed under the organiser's key.
	Moderated bool
	Passcode  domain.Sealed
}

// Start starts the meeting; By is a member of the account and Organizer is the organiser now.
type Start struct {
	AccountID string
	By        string
	Organizer Host
}

// End ends a started meeting; its attendees leave first (Reason, default EndReasonEndedByHost). By,
// when set, is the attendee asking from the meeting, who must be a moderator.
type End struct{ AccountID, By, Reason string }

// Cancel is the organiser's cancellation.
type Cancel struct{ AccountID, By string }

// Disable stops a scheduled meeting from ever starting.
type Disable struct{ AccountID, Reason string }

func (Schedule) isMeetingCommand()  {}
func (Start) isMeetingCommand()     {}
func (End) isMeetingCommand()       {}
func (Cancel) isMeetingCommand()    {}
func (Disable) isMeetingCommand()   {}
func (Join) isMeetingCommand()      {}
func (Leave) isMeetingCommand()     {}
func (SetMedia) isMeetingCommand()  {}
func (Interrupt) isMeetingCommand() {}

// accountOf is the account a command names.
func accountOf(c Command) string {
	switch c := c.(type) {
	case Schedule:
		return c.AccountID
	case Start:
		return c.AccountID
	case End:
		return c.AccountID
	case Cancel:
		return c.AccountID
	case Disable:
		return c.AccountID
	case Join:
		return c.AccountID
	case PostChat:
		return c.AccountID
	case Leave:
		return c.AccountID
	case SetMedia:
		return c.AccountID
	case Interrupt:
		return c.AccountID
	case Mute:
		return c.AccountID
	case MuteAll:
		return c.AccountID
	case Unmute:
		return c.AccountID
	case Remove:
		return c.AccountID
	case Lock:
		return c.AccountID
	case Record:
		return c.AccountID
	}
	return ""
}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	if sc, ok := c.(Schedule); ok {
		return decideSchedule(s, sc, now)
	}
	if s.Status == "" || s.AccountID != accountOf(c) {
		return nil, ErrNotFound
	}
	switch c := c.(type) {
	case Start:
		switch s.Status {
		case StatusStarted:
			return nil, nil
		case StatusDisabled:
			return nil, domain.Wrapf(ErrDisabled, "the meeting is disabled (%s): its organiser can no longer host meetings", s.DisabledReason)
		case StatusScheduled:
		default:
			return nil, domain.Wrapf(ErrNotOpen, "the meeting is %s", s.Status)
		}
		if err := c.Organizer.check(s.OrganizerID); err != nil {
			return nil, domain.Wrapf(ErrDisabled, "the meeting cannot start: %s", err.Error())
		}
		if s.Moderated && c.By != s.OrganizerID {
			return nil, domain.Wrapf(ErrWaiting, "a moderated meeting is started by its host or a moderator joining it")
		}
		return []Event{Started{By: c.By, At: now.UTC()}}, nil
	case End:
		if s.Status == StatusEnded {
			return nil, nil
		}
		if s.Status != StatusStarted {
			return nil, domain.Wrapf(ErrNotOpen, "the meeting is %s", s.Status)
		}
		if c.By != "" {
			if err := moderator(s, c.By); err != nil {
				return nil, err
			}
		}
		return endWith(s, cmp.Or(c.Reason, EndReasonEndedByHost), c.By, now), nil
	case Cancel:
		if c.By != s.OrganizerID {
			return nil, ErrNotOrganise
		}
		if s.Status == StatusCancelled {
			return nil, nil
		}
		if s.Status != StatusScheduled && s.Status != StatusDisabled {
			return nil, domain.Wrapf(ErrNotOpen, "the meeting is %s", s.Status)
		}
		return []Event{Cancelled{At: now.UTC()}}, nil
	case Disable:
		if s.Status != StatusScheduled {
			return nil, nil
		}
		return []Event{Disabled{Reason: c.Reason, At: now.UTC()}}, nil
	}
	return decideRoster(s, c, now)
}

// decideSchedule decides a Schedule (the package invariants on titles, start times and hosts).
func decideSchedule(s State, sc Schedule, now time.Time) ([]Event, error) {
	if s.Status != "" {
		return nil, ErrExists
	}
	title := strings.TrimSpace(sc.Title)
	switch {
	case title == "" || len(title) > MaxTitle:
		return nil, domain.Wrapf(ErrInvalid, "Title must be 1 to %d characters", MaxTitle)
	case !utf8.ValidString(title) || strings.IndexByte(title, 0) >= 0:
		return nil, domain.Wrapf(ErrInvalid, "Title must be valid UTF-8 without a NUL character")
	case strings.ContainsFunc(title, notInTitle):
		return nil, domain.Wrapf(ErrInvalid, "Title must be one line without control characters or bidirectional overrides")
	case sc.StartsAt.IsZero():
		return nil, domain.Wrapf(ErrInvalid, "StartsAt is required")
	case sc.StartsAt.Before(now.Add(-time.Hour)):
		return nil, domain.Wrapf(ErrInvalid, "StartsAt %s is in the past", sc.StartsAt.UTC().Format(time.RFC3339))
	case sc.StartsAt.UTC().Year() > MaxStartYear:
		return nil, domain.Wrapf(ErrInvalid, "StartsAt must be in year %d or before (UTC)", MaxStartYear)
	}
	if err := sc.Organizer.check(sc.Organizer.UserID); err != nil {
		return nil, err
	}
	want := domain.SubjectKeyID(sc.AccountID, account.UserKeySubject(sc.Organizer.UserID))
	if len(sc.PIN.Data) == 0 || sc.PIN.KeyID != want {
		return nil, domain.Wrapf(account.ErrUnsealed, "the meeting PIN must be sealed under the organiser's key %s, got key %q", want, sc.PIN.KeyID)
	}
	if sc.Moderated != (len(sc.Passcode.Data) > 0) || (sc.Moderated && sc.Passcode.KeyID != want) {
		return nil, domain.Wrapf(account.ErrUnsealed, "a moderated meeting, and only one, has a moderator passcode sealed under the organiser's key %s", want)
	}
	return []Event{Scheduled{AccountID: sc.AccountID, OrganizerID: sc.Organizer.UserID, OrganizerEmail: sc.Organizer.Email, Title: title,
		StartsAt: sc.StartsAt.UTC(), PIN: sc.PIN, Moderated: sc.Moderated, Passcode: sc.Passcode, At: now.UTC()}}, nil
}

// notInTitle is a rune a title may not hold [derived: the guide is silent; a calendar subject is one
// line]: a control character (C0, DEL, C1: newlines, escapes), a line or paragraph separator, or a
// bidirectional embedding, override or isolate. The invite text places the title on a line of its
// own before "Meeting PIN:", so any of these would let a title forge or visually reorder the lines
// an invitee reads. Other format characters (joiners in emoji sequences) are allowed.
func notInTitle(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// Evolve applies an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Scheduled:
		s = State{AccountID: e.AccountID, OrganizerID: e.OrganizerID, Title: e.Title, StartsAt: e.StartsAt,
			Status: StatusScheduled, Moderated: e.Moderated, CreatedAt: e.At, UpdatedAt: e.At}
	case Started:
		s.Status, s.UpdatedAt = StatusStarted, e.At
	case Ended:
		s.Status, s.EndReason, s.Attendees, s.Recording, s.UpdatedAt = StatusEnded, e.Reason, nil, "", e.At
	case Cancelled:
		s.Status, s.UpdatedAt = StatusCancelled, e.At
	case Disabled:
		s.Status, s.DisabledReason, s.UpdatedAt = StatusDisabled, e.Reason, e.At
	case ChatPosted:
		s = evolveChat(s, e)
	case RecordingStarted, RecordingStopped:
		s = evolveRecording(s, e)
	default:
		s = evolveRoster(s, e)
	}
	return s
}
