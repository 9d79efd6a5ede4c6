package meeting

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Meeting chat (guide §4.8): messages the attendees of a live meeting send one another. It is
// ephemeral: the text is sealed under a key of the meeting alone (ChatSubject), which is destroyed
// when the meeting ends, so the events keep only bytes nothing opens.
const (
	TypeChatPosted = "chime.meeting.chat_posted.v1"
	// MaxChatMessages bounds a meeting's chat (the state keeps them; the guide names no limit).
	MaxChatMessages = 1000
	// MaxChatBytes bounds one message's text before sealing (the guide names no limit).
	MaxChatBytes = 4096
)

// ErrChatFull refuses a message past MaxChatMessages.
var ErrChatFull = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the meeting's chat is full"}

// ChatSubject is the key subject that seals a meeting's chat.
func ChatSubject(meetingID string) string { return "meeting-chat/" + meetingID }

// ChatMessage is one message of a meeting's chat.
type ChatMessage struct {
	MessageID, UserID string
	Text              domain.Sealed
	At                time.Time
}

// PostChat posts a message to the chat of a meeting in progress; the sender must be in its roster.
type PostChat struct {
	AccountID, UserID, MessageID string
	Text                         domain.Sealed
}

func (PostChat) isMeetingCommand() {}

// ChatPosted records a chat message, its text sealed under the meeting's chat key.
type ChatPosted struct {
	MessageID string        `json:"messageId"`
	UserID    string        `json:"userId"`
	Text      domain.Sealed `json:"text"`
	At        time.Time     `json:"at"`
}

// EventType implements Event.
func (ChatPosted) EventType() string { return TypeChatPosted }

// InRoster reports whether userID is an attendee of the live roster.
func (s State) InRoster(userID string) bool {
	for _, a := range s.Attendees {
		if a.UserID == userID {
			return true
		}
	}
	return false
}

func decideChat(s State, c PostChat, now time.Time) ([]Event, error) {
	switch {
	case s.Status != StatusStarted:
		return nil, domain.Wrapf(ErrNotOpen, "the meeting is %s: its chat is closed", s.Status)
	case !s.InRoster(c.UserID):
		return nil, domain.Wrapf(ErrNotAttendee, "only the meeting's attendees chat in it")
	case c.MessageID == "" || len(c.Text.Data) == 0 || c.Text.KeyID == "":
		return nil, domain.Wrapf(ErrInvalid, "a chat message needs an id and a sealed text")
	case len(s.Chat) >= MaxChatMessages:
		return nil, domain.Wrapf(ErrChatFull, "the meeting already has %d chat messages, the most it keeps", MaxChatMessages)
	}
	return []Event{ChatPosted{MessageID: c.MessageID, UserID: c.UserID, Text: c.Text, At: now.UTC()}}, nil
}

// evolveChat appends to a copy: a cached state's slice is never written in place.
func evolveChat(s State, e ChatPosted) State {
	s.Chat = append(slices.Clip(s.Chat), ChatMessage{MessageID: e.MessageID, UserID: e.UserID, Text: e.Text, At: e.At})
	s.UpdatedAt = e.At
	return s
}

// CheckChatText applies the chat rules before sealing: text, not only blanks, valid UTF-8 without
// NUL, at most MaxChatBytes. The error names the field Content.
func CheckChatText(text string) error {
	switch {
	case len(text) > MaxChatBytes:
		return domain.Wrapf(ErrInvalid, "Content is %d bytes; a chat message holds at most %d", len(text), MaxChatBytes)
	case !utf8.ValidString(text):
		return domain.Wrapf(ErrInvalid, "Content is not valid UTF-8")
	case strings.IndexByte(text, 0) >= 0:
		return domain.Wrapf(ErrInvalid, "Content must not contain a NUL character")
	case strings.TrimSpace(text) == "":
		return domain.Wrapf(ErrInvalid, "Content is required")
	}
	return nil
}
