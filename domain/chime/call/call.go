// Package call models Amazon Chime Business Calling calls (guide §0.2, §6, §7.2) as conferences: a
// call placed by a user (Outbound), received from the phone network on a user's number (Inbound), or
// between two users' numbers (one Outbound and one Inbound leg) is one conference of one or two legs,
// and every leg yields one call detail record (CDR) when the conference ends.
//
// Invariants:
//   - One stream per conference (StreamName). A conference is placed once, with its legs; a leg is
//     Ringing, then Connected (answered) or not, then Ended, exactly once each; the conference ends
//     (ConferenceEnded, appended with the last LegEnded) when every leg has ended, and nothing happens
//     after that.
//   - Times come from the carrier (the command's At; Decide's now when it gives none), so a CDR
//     regenerated from the log is the same as the one written when the call ended. A carrier's clock
//     behind the call's never moves a leg before it: a leg connects no earlier than the call was
//     placed and ends no earlier than it connected (or, never answered, than the call was placed).
//   - A leg's billable duration is its connected time, End − Connected, rounded up to a whole second;
//     a leg never answered bills 0 (CDR rules in cdr.go).
package call

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names.
const (
	StreamPrefix        = "chime.call-"
	TypeCallPlaced      = "chime.call.placed.v1"
	TypeLegConnected    = "chime.call.leg_connected.v1"
	TypeLegEnded        = "chime.call.leg_ended.v1"
	TypeConferenceEnded = "chime.call.conference_ended.v1"
)

// Directions of a leg, as in the CDR.
const (
	Outbound = "Outbound"
	Inbound  = "Inbound"
)

// End reasons of a leg.
const (
	ReasonCompleted = "Completed"      // a party hung up after the call was answered
	ReasonNoAnswer  = "NoAnswer"       // never answered
	ReasonBusy      = "Busy"           // the far end was busy
	ReasonFailed    = "CarrierFailure" // the carrier dropped the leg
	ReasonCancelled = "Cancelled"      // the caller hung up while it rang
	ReasonRestart   = "ServiceRestart" // Belfry stopped while the leg was up: ended at the restart
)

var reasons = map[string]bool{ReasonCompleted: true, ReasonNoAnswer: true, ReasonBusy: true, ReasonFailed: true, ReasonCancelled: true, ReasonRestart: true}

// StreamName is the stream of one conference.
func StreamName(conferenceID string) string { return StreamPrefix + conferenceID }

// Sentinels.
var (
	ErrNotPlaced  = &domain.Error{Kind: domain.KindNotFound, Msg: "no such call"}
	ErrPlaced     = &domain.Error{Kind: domain.KindConflict, Msg: "the call was already placed"}
	ErrNoLeg      = &domain.Error{Kind: domain.KindNotFound, Msg: "no such call leg"}
	ErrLegState   = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the call leg is not in a state that allows this"}
	ErrInvalidLeg = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid call leg"}
)

// Leg is one leg of a conference as placed.
type Leg struct {
	LegID       string `json:"legId"`
	Direction   string `json:"direction"`
	From        string `json:"from"` // E.164
	To          string `json:"to"`   // E.164
	FromCountry string `json:"fromCountry"`
	ToCountry   string `json:"toCountry"`
	UserID      string `json:"userId,omitempty"` // the Chime user on this leg
}

// Event is the sealed set of call events.
type Event interface{ EventType() string }

// CallPlaced records a conference and its legs, ringing. The organizer is the user who placed the
// call, or the user called for an inbound call.
type CallPlaced struct {
	ConferenceID    string `json:"conferenceId"`
	AwsAccountID    string `json:"awsAccountId"`
	AccountID       string `json:"accountId"`
	OrganizerUserID string `json:"organizerUserId"`
	OrganizerEmail  string `json:"organizerEmail"`
	Legs            []Leg  `json:"legs"`
	// MeetingID is the meeting a dial-out (CreateMeetingDialOut) joins its callee to; empty for a
	// call between numbers.
	MeetingID string    `json:"meetingId,omitempty"`
	At        time.Time `json:"at"`
}

// LegConnected records that a leg was answered.
type LegConnected struct {
	LegID string    `json:"legId"`
	At    time.Time `json:"at"`
}

// LegEnded records the end of a leg and why.
type LegEnded struct {
	LegID  string    `json:"legId"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// ConferenceEnded records that every leg has ended, at the latest of their ends (whatever order the
// carrier reported them in).
type ConferenceEnded struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (CallPlaced) EventType() string { return TypeCallPlaced }

// EventType implements Event.
func (LegConnected) EventType() string { return TypeLegConnected }

// EventType implements Event.
func (LegEnded) EventType() string { return TypeLegEnded }

// EventType implements Event.
func (ConferenceEnded) EventType() string { return TypeConferenceEnded }

// LegState is one leg's progress.
type LegState struct {
	Leg
	Connected, Ended time.Time // zero until it happens
	Reason           string
}

// State is a conference.
type State struct {
	Placed         CallPlaced
	Legs           []LegState
	Started, Ended time.Time // zero: not placed / not ended
}

// Initial is the state before the call is placed.
func Initial() State { return State{} }

func (s State) leg(id string) int {
	for i, l := range s.Legs {
		if l.LegID == id {
			return i
		}
	}
	return -1
}

// Command is the sealed set of call commands.
type Command interface{ isCallCommand() }

// Place places a conference (its legs ringing). At is the carrier's time; zero means now.
type Place struct {
	ConferenceID, AwsAccountID, AccountID, OrganizerUserID, OrganizerEmail string
	Legs                                                                   []Leg
	MeetingID                                                              string // a dial-out's meeting
	At                                                                     time.Time
}

// Connect records that a leg was answered.
type Connect struct {
	LegID string
	At    time.Time
}

// End ends a leg.
type End struct {
	LegID, Reason string
	At            time.Time
}

func (Place) isCallCommand()   {}
func (Connect) isCallCommand() {}
func (End) isCallCommand()     {}

func at(t, now time.Time) time.Time {
	if t.IsZero() {
		return now.UTC()
	}
	return t.UTC()
}

// Decide applies a command at time now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case Place:
		return decidePlace(s, c, now)
	case Connect:
		i := s.leg(c.LegID)
		switch {
		case s.Started.IsZero():
			return nil, ErrNotPlaced
		case i < 0:
			return nil, domain.Wrapf(ErrNoLeg, "the call has no leg %s", c.LegID)
		case !s.Legs[i].Connected.IsZero() || !s.Legs[i].Ended.IsZero():
			return nil, domain.Wrapf(ErrLegState, "leg %s is no longer ringing", c.LegID)
		}
		t := at(c.At, now)
		if t.Before(s.Started) {
			t = s.Started // a carrier's clock behind the call's placing: no leg connects before it
		}
		return []Event{LegConnected{LegID: c.LegID, At: t}}, nil
	case End:
		return decideEnd(s, c, now)
	}
	return nil, fmt.Errorf("call: unknown command %T", c)
}

func decidePlace(s State, c Place, now time.Time) ([]Event, error) {
	if !s.Started.IsZero() {
		return nil, ErrPlaced
	}
	if c.ConferenceID == "" || len(c.Legs) == 0 || len(c.Legs) > 2 {
		return nil, domain.Wrapf(ErrInvalidLeg, "a call has one or two legs")
	}
	seen := map[string]bool{}
	for _, l := range c.Legs {
		if l.LegID == "" || seen[l.LegID] || (l.Direction != Outbound && l.Direction != Inbound) || l.From == "" || l.To == "" {
			return nil, domain.Wrapf(ErrInvalidLeg, "leg %q: a unique id, a direction (Outbound or Inbound), From and To are required", l.LegID)
		}
		seen[l.LegID] = true
	}
	return []Event{CallPlaced{ConferenceID: c.ConferenceID, AwsAccountID: c.AwsAccountID, AccountID: c.AccountID,
		OrganizerUserID: c.OrganizerUserID, OrganizerEmail: c.OrganizerEmail, Legs: c.Legs, MeetingID: c.MeetingID, At: at(c.At, now)}}, nil
}

func decideEnd(s State, c End, now time.Time) ([]Event, error) {
	i := s.leg(c.LegID)
	switch {
	case s.Started.IsZero():
		return nil, ErrNotPlaced
	case i < 0:
		return nil, domain.Wrapf(ErrNoLeg, "the call has no leg %s", c.LegID)
	case !s.Legs[i].Ended.IsZero():
		return nil, nil // ending an ended leg changes nothing (the carrier may report twice)
	case !reasons[c.Reason]:
		return nil, domain.Wrapf(ErrInvalidLeg, "unknown end reason %q", c.Reason)
	}
	t := at(c.At, now)
	if floor := s.legStart(s.Legs[i]); t.Before(floor) {
		t = floor // a carrier's clock behind: no leg ends before it connected, or before it was placed
	}
	evs := []Event{LegEnded{LegID: c.LegID, Reason: c.Reason, At: t}}
	open, last := 0, t
	for j, l := range s.Legs {
		switch {
		case j == i:
		case l.Ended.IsZero():
			open++
		case l.Ended.After(last):
			last = l.Ended // the carrier reported the legs' ends out of order
		}
	}
	if open == 0 {
		evs = append(evs, ConferenceEnded{At: last})
	}
	return evs, nil
}

// Evolve folds an event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case CallPlaced:
		s.Placed, s.Started = e, e.At
		s.Legs = make([]LegState, len(e.Legs))
		for i, l := range e.Legs {
			s.Legs[i] = LegState{Leg: l}
		}
	case LegConnected:
		if i := s.leg(e.LegID); i >= 0 {
			s.Legs = append([]LegState(nil), s.Legs...)
			s.Legs[i].Connected = e.At
		}
	case LegEnded:
		if i := s.leg(e.LegID); i >= 0 {
			s.Legs = append([]LegState(nil), s.Legs...)
			s.Legs[i].Ended, s.Legs[i].Reason = e.At, e.Reason
		}
	case ConferenceEnded:
		s.Ended = e.At
	}
	return s
}

// Progress is what a carrier reports about a leg it carries: it was answered (Connected), or it
// ended (Reason set), at the carrier's time At.
type Progress struct {
	Connected bool
	Reason    string
	At        time.Time
}
