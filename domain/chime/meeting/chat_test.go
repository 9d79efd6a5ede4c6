package meeting_test

import (
	"errors"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// TestMeetingChat: guide §4.8 — attendees of a live meeting chat; someone not in the roster, a
// meeting not started or ended, an unsealed text and a full chat are refused; the chat is kept in
// order and a decided state never changes an earlier one's chat.
func TestMeetingChat(t *testing.T) {
	t.Parallel()
	sealed := domain.Sealed{KeyID: "k", Data: []byte("sealed")}
	if _, _, err := decide(t, given(scheduled), meeting.PostChat{AccountID: "a1", UserID: "u1", MessageID: "m0", Text: sealed}); !errors.Is(err, meeting.ErrNotOpen) {
		t.Fatalf("chat before the start: %v", err)
	}
	s := hostIn(t)
	evs, s1, err := decide(t, s, meeting.PostChat{AccountID: "a1", UserID: "u1", MessageID: "m1", Text: sealed})
	if err != nil || len(evs) != 1 || len(s1.Chat) != 1 || s1.Chat[0].MessageID != "m1" || len(s.Chat) != 0 {
		t.Fatalf("the host chats: %v %v %+v", evs, err, s1.Chat)
	}
	if _, _, err := decide(t, s1, meeting.PostChat{AccountID: "a1", UserID: "stranger", MessageID: "m2", Text: sealed}); !errors.Is(err, meeting.ErrNotAttendee) {
		t.Fatalf("someone not in the roster: %v", err)
	}
	if _, _, err := decide(t, s1, meeting.PostChat{AccountID: "a1", UserID: "u1", MessageID: "m2"}); !errors.Is(err, meeting.ErrInvalid) {
		t.Fatalf("an unsealed text: %v", err)
	}
	full := s1
	for len(full.Chat) < meeting.MaxChatMessages {
		full.Chat = append(full.Chat, meeting.ChatMessage{})
	}
	if _, _, err := decide(t, full, meeting.PostChat{AccountID: "a1", UserID: "u1", MessageID: "mx", Text: sealed}); !errors.Is(err, meeting.ErrChatFull) {
		t.Fatalf("a full chat: %v", err)
	}
	_, ended, err := decide(t, s1, meeting.End{AccountID: "a1", By: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := decide(t, ended, meeting.PostChat{AccountID: "a1", UserID: "u1", MessageID: "m3", Text: sealed}); !errors.Is(err, meeting.ErrNotOpen) {
		t.Fatalf("chat after the end: %v", err)
	}
}
