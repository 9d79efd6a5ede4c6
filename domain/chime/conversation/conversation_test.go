package conversation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/conversation"
)

func user(id, acct string) conversation.Candidate {
	return conversation.Candidate{UserID: id, AccountID: acct, Email: id + "@example.com", Registered: true}
}

func fold(t *testing.T, s conversation.State, c conversation.Command) (conversation.State, []conversation.Event) {
	t.Helper()
	evs, err := conversation.Decide(s, c, gAt)
	if err != nil {
		t.Fatalf("%T: %v", c, err)
	}
	for _, e := range evs {
		s = conversation.Evolve(s, e)
	}
	return s, evs
}

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if domain.KindOf(err) != k {
		t.Fatalf("want a %v error, got %v", k, err)
	}
}

func TestDirectConversationIsOnePerPairAndFixed(t *testing.T) {
	s, evs := fold(t, conversation.Initial(), conversation.Create{Kind: conversation.KindDirect, Creator: user("a", "acct1"), Others: []conversation.Candidate{user("b", "acct2")}})
	if len(evs) != 1 || len(s.Members) != 2 {
		t.Fatalf("created: %v %v", evs, s.Members)
	}
	// The pair's second create (from either side) finds it.
	if _, evs := fold(t, s, conversation.Create{Kind: conversation.KindDirect, Creator: user("b", "acct2"), Others: []conversation.Candidate{user("a", "acct1")}}); len(evs) != 0 {
		t.Fatalf("created twice: %v", evs)
	}
	_, err := conversation.Decide(s, conversation.AddMembers{By: "a", Members: []conversation.Candidate{user("c", "acct1")}}, gAt)
	wantKind(t, err, domain.KindUnprocessable)
	_, err = conversation.Decide(s, conversation.Leave{UserID: "a"}, gAt)
	wantKind(t, err, domain.KindUnprocessable)
	_, err = conversation.Decide(conversation.Initial(), conversation.Create{Kind: conversation.KindDirect, Creator: user("a", "x"),
		Others: []conversation.Candidate{user("b", "x"), user("c", "x")}}, gAt)
	wantKind(t, err, domain.KindInvalid)
}

func TestCandidatesAreChecked(t *testing.T) {
	unknown := conversation.Candidate{UserID: "ghost"}
	suspended := user("s", "x")
	suspended.Suspended = true
	invited := user("i", "x")
	invited.Registered = false
	for _, c := range []conversation.Candidate{unknown, suspended, invited, user("a", "x")} {
		_, err := conversation.Decide(conversation.Initial(), conversation.Create{Kind: conversation.KindGroup, Creator: user("a", "x"),
			Others: []conversation.Candidate{c}}, gAt)
		if err == nil || !strings.Contains(err.Error(), "MemberIds") {
			t.Fatalf("candidate %+v: %v", c, err)
		}
	}
}

func TestMessagesEditsAndRedaction(t *testing.T) {
	s, _ := fold(t, conversation.Initial(), conversation.Create{Kind: conversation.KindGroup, Name: "crew", Creator: user("a", "acct1"),
		Others: []conversation.Candidate{user("b", "acct2")}})
	hello := conversation.Content{Text: "hello", KeyID: "k", Sealed: []byte("sealed")}
	s, _ = fold(t, s, conversation.PostMessage{MessageID: "m1", SenderID: "a", Content: hello})

	_, err := conversation.Decide(s, conversation.PostMessage{MessageID: "m2", SenderID: "c", Content: hello}, gAt)
	wantKind(t, err, domain.KindNotFound) // a non-member does not learn the conversation exists
	for _, text := range []string{"", "  \n", strings.Repeat("x", conversation.MaxMessageBytes), "nul\x00", "bad\xffutf8"} {
		_, err := conversation.Decide(s, conversation.PostMessage{MessageID: "m3", SenderID: "a", Content: conversation.Content{Text: text}}, gAt)
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "Content") {
			t.Fatalf("content %q: %v", text, err)
		}
	}
	_, err = conversation.Decide(s, conversation.EditMessage{MessageID: "m1", By: "b", Content: hello}, gAt)
	wantKind(t, err, domain.KindForbidden)
	s, _ = fold(t, s, conversation.EditMessage{MessageID: "m1", By: "a", Content: conversation.Content{Text: "hello!"}})
	_, err = conversation.Decide(s, conversation.DeleteMessage{MessageID: "m1", By: "a"}, gAt)
	if !errors.Is(err, conversation.ErrNoDelete) {
		t.Fatalf("a user deletes: %v", err)
	}
	// Only an administrator of the sender's account redacts; again is a no-op.
	_, err = conversation.Decide(s, conversation.RedactMessage{AccountID: "acct2", MessageID: "m1", By: "admin"}, gAt)
	wantKind(t, err, domain.KindNotFound)
	s, evs := fold(t, s, conversation.RedactMessage{AccountID: "acct1", MessageID: "m1", By: "admin"})
	if len(evs) != 1 {
		t.Fatalf("redact: %v", evs)
	}
	if _, evs := fold(t, s, conversation.RedactMessage{AccountID: "acct1", MessageID: "m1", By: "admin"}); len(evs) != 0 {
		t.Fatalf("redacted twice: %v", evs)
	}
	_, err = conversation.Decide(s, conversation.EditMessage{MessageID: "m1", By: "a", Content: hello}, gAt)
	wantKind(t, err, domain.KindUnprocessable)
}

func TestGroupMembership(t *testing.T) {
	s, _ := fold(t, conversation.Initial(), conversation.Create{Kind: conversation.KindGroup, Creator: user("a", "x"), Others: []conversation.Candidate{user("b", "x")}})
	s, evs := fold(t, s, conversation.AddMembers{By: "b", Members: []conversation.Candidate{user("c", "y"), user("d", "y")}})
	if len(evs) != 2 || len(s.Members) != 4 {
		t.Fatalf("add: %v", evs)
	}
	_, err := conversation.Decide(s, conversation.AddMembers{By: "b", Members: []conversation.Candidate{user("c", "y")}}, gAt)
	wantKind(t, err, domain.KindConflict)
	_, err = conversation.Decide(s, conversation.AddMembers{By: "z", Members: []conversation.Candidate{user("e", "y")}}, gAt)
	wantKind(t, err, domain.KindNotFound)
	s, _ = fold(t, s, conversation.Leave{UserID: "c"})
	if _, ok := s.Members["c"]; ok {
		t.Fatal("c is still a member")
	}
	// Members leave one by one, but the last one stays: a conversation always has a member, whose
	// account its retention follows (guide §4.7.1; the retention purge lists it by its members).
	last, _ := fold(t, s, conversation.Leave{UserID: "b"})
	last, _ = fold(t, last, conversation.Leave{UserID: "d"})
	_, err = conversation.Decide(last, conversation.Leave{UserID: "a"}, gAt)
	wantKind(t, err, domain.KindInvalid)
	if len(last.Members) != 1 {
		t.Fatalf("members left: %v", last.Members)
	}
	many := make([]conversation.Candidate, conversation.MaxMembers)
	for i := range many {
		many[i] = user(strings.Repeat("n", i+1), "x")
	}
	_, err = conversation.Decide(s, conversation.AddMembers{By: "a", Members: many}, gAt)
	wantKind(t, err, domain.KindLimitExceeded)
}
