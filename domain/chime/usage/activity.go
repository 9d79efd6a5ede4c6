package usage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
)

// ActivityPrefixes are the streams whose events count as activity (Contributes); the directory is
// read from the account and settings streams.
var ActivityPrefixes = []string{meeting.StreamPrefix, conversation.StreamPrefix, room.StreamPrefix, SignInStreamPrefix}

// Kind is what an event contributes to the weekly counts.
type Kind int

// The kinds of contribution.
const (
	// ContribNone: the event counts nowhere.
	ContribNone Kind = iota
	// ContribScheduled: UserID becomes the organiser of MeetingID (the latest schedule before a start wins).
	ContribScheduled
	// ContribStarted: MeetingID started at At; its organiser at that point hosted it, if there is one.
	ContribStarted
	// ContribJoined: UserID joined MeetingID at At (a meeting counts once per user and week).
	ContribJoined
	// ContribPosted: UserID posted a chat message at At (a user's post: bots' and webhooks' are ContribNone).
	ContribPosted
	// ContribSignedIn: UserID signed in at At.
	ContribSignedIn
)

// Contribution is what one activity event adds to the counts of a week: the one definition the
// Tally (a pass over the log) and the read model (projections/chimeusage) both apply.
type Contribution struct {
	Kind              Kind
	UserID, MeetingID string
	At                time.Time
}

// Counts are one user's activity in a week, as its report row shows it.
type Counts struct {
	LastLogin                  time.Time // the latest sign-in before the week's end (zero: none)
	Attended, Hosted, ChatSent int
}

// Contributes is what the stored event (its stream, type and data) contributes; events of other
// streams and types contribute ContribNone. An error is an undecodable payload (its Kind is ContribNone).
func Contributes(stream, eventType string, data []byte) (Contribution, error) {
	switch {
	case strings.HasPrefix(stream, meeting.StreamPrefix):
		id := strings.TrimPrefix(stream, meeting.StreamPrefix)
		if eventType != meeting.TypeScheduled && eventType != meeting.TypeStarted && eventType != meeting.TypeAttendeeJoined {
			return Contribution{}, nil
		}
		e, err := meeting.Decode(eventType, data)
		if err != nil {
			return Contribution{}, err
		}
		switch e := e.(type) {
		case meeting.Scheduled:
			return Contribution{Kind: ContribScheduled, UserID: e.OrganizerID, MeetingID: id}, nil
		case meeting.Started:
			return Contribution{Kind: ContribStarted, MeetingID: id, At: e.At}, nil
		case meeting.AttendeeJoined:
			return Contribution{Kind: ContribJoined, UserID: e.UserID, MeetingID: id, At: e.At}, nil
		}
		return Contribution{}, nil
	case strings.HasPrefix(stream, conversation.StreamPrefix) && eventType == conversation.TypeMessagePosted,
		strings.HasPrefix(stream, room.StreamPrefix) && eventType == room.TypeMessagePosted:
		var m posted
		if err := json.Unmarshal(data, &m); err != nil {
			return Contribution{}, fmt.Errorf("usage: %s: %w", eventType, err)
		}
		if m.SenderType != "" && m.SenderType != room.MemberUser {
			return Contribution{}, nil
		}
		return Contribution{Kind: ContribPosted, UserID: m.SenderID, At: m.At}, nil
	case strings.HasPrefix(stream, SignInStreamPrefix):
		if eventType != TypeSignedIn {
			return Contribution{}, nil
		}
		e, err := Decode(eventType, data)
		if s, ok := e.(SignedIn); ok && err == nil {
			return Contribution{Kind: ContribSignedIn, UserID: s.UserID, At: s.At}, nil
		}
		return Contribution{}, err
	}
	return Contribution{}, nil
}

// posted is what the counts read of a conversation's or a room's MessagePosted (the fields of
// conversation.MessagePosted and room.MessagePosted of the same names; a conversation's has no
// sender type: its senders are users). Decoding these alone skips the sealed content, which is
// most of a message event and which the counts never need.
type posted struct {
	SenderID   string    `json:"senderId"`
	SenderType string    `json:"senderType"`
	At         time.Time `json:"at"`
}
