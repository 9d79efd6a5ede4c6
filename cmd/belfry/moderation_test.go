package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// errorsOf returns the codes of the error messages an attendee received.
func (a *attendee) errorCodes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, m := range a.errs {
		out = append(out, m.Code)
	}
	return out
}

func (a *attendee) noted(action string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.notes, func(m signalMsg) bool { return m.Action == action })
}

// TestMeetingModeration: guide §8.2 over the signalling WebSocket with pion clients — a non-moderator's
// controls are refused; the host mutes bob (carol stops receiving his audio, his video goes on), bob
// unmutes himself; the host locks the meeting (a new join is refused with 409), removes carol (bye
// RemovedByModerator; her user, bob's, is taken out from his other device too and cannot join again:
// 403), and ends the meeting (everyone left's bye MeetingEnded).
// Each action is in the meeting's events.
func TestMeetingModeration(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	ctx := context.Background()
	alice := b.join(t, id, aliceTok) // the organiser: the host and moderator
	bob := b.join(t, id, bobTok)
	carol := b.join(t, id, bobTok) // a second attendee (another device of bob's user would do as well)
	until(t, "audio everywhere", func() bool {
		return carol.c.Received(bob.id, "audio") > 10 && bob.c.Received(alice.id, "audio") > 10 && alice.c.Received(carol.id, "video") > 10
	})

	bob.send(map[string]string{"type": "muteAll"})
	bob.send(map[string]string{"type": "remove", "attendeeId": alice.id})
	until(t, "bob's controls refused", func() bool { return len(bob.errorCodes()) == 2 })
	if codes := bob.errorCodes(); codes[0] != "Forbidden" || codes[1] != "Forbidden" {
		t.Fatalf("a non-moderator's controls: %v", codes)
	}

	alice.send(map[string]string{"type": "mute", "attendeeId": bob.id})
	until(t, "everyone told of the mute", func() bool { return bob.noted("mute") && carol.noted("mute") })
	v := carol.c.Received(bob.id, "video")
	until(t, "bob's video to go on", func() bool { return carol.c.Received(bob.id, "video") > v+20 })
	muted, v := carol.c.Received(bob.id, "audio"), carol.c.Received(bob.id, "video")
	until(t, "bob's video to go on", func() bool { return carol.c.Received(bob.id, "video") > v+50 })
	if got := carol.c.Received(bob.id, "audio"); got != muted {
		t.Fatalf("a muted attendee's audio was forwarded: %d → %d packets", muted, got)
	}
	bob.send(map[string]string{"type": "unmute"})
	until(t, "bob's audio after he unmutes", func() bool { return carol.c.Received(bob.id, "audio") > muted+20 })

	alice.send(map[string]string{"type": "lock"})
	until(t, "the lock", func() bool { return carol.noted("lock") })
	if _, resp, err := b.dialSignal(ctx, id, bobTok); err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("joining a locked meeting: %v %v", err, resp)
	}
	alice.send(map[string]string{"type": "unlock"})
	until(t, "the unlock", func() bool { return carol.noted("unlock") })

	alice.send(map[string]string{"type": "remove", "attendeeId": carol.id})
	if r := <-carol.bye; r != meeting.LeftRemoved {
		t.Fatalf("carol's bye: %q", r)
	}
	// Carol's user is bob's: removing an attendee bars its user, so bob's attendee (the user's
	// other device) is taken out with it, and the user cannot join again.
	if r := <-bob.bye; r != meeting.LeftRemoved {
		t.Fatalf("bob's bye (carol's user, another device): %q", r)
	}
	if _, resp, err := b.dialSignal(ctx, id, bobTok); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a removed user joins again: %v %v", err, resp)
	}

	alice.send(map[string]string{"type": "end"})
	if r := <-alice.bye; r != meeting.LeftMeetingEnded {
		t.Fatalf("bye at the end: %q", r)
	}
	until(t, "the meeting to end", func() bool {
		_, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, aliceTok, nil)
		return out["Meeting"].(map[string]any)["Status"] == "Ended"
	})
	evs := b.meetingEvents(t, id)
	if countEvents(evs, func(e meeting.AttendeeMuted) bool { return e.AttendeeID == bob.id && e.By == alice.id }) != 1 ||
		countEvents(evs, func(e meeting.AttendeeUnmuted) bool { return e.AttendeeID == bob.id }) != 1 ||
		countEvents(evs, func(meeting.Locked) bool { return true }) != 1 || countEvents(evs, func(meeting.Unlocked) bool { return true }) != 1 ||
		countEvents(evs, func(e meeting.AttendeeLeft) bool { return e.AttendeeID == carol.id && e.Reason == meeting.LeftRemoved }) != 1 ||
		countEvents(evs, func(e meeting.AttendeeLeft) bool {
			return e.AttendeeID == bob.id && e.Reason == meeting.LeftRemoved && e.By == alice.id
		}) != 1 ||
		countEvents(evs, func(e meeting.Ended) bool { return e.By == alice.id && e.Reason == meeting.EndReasonEndedByHost }) != 1 ||
		countEvents(evs, func(meeting.AllMuted) bool { return true }) != 0 {
		t.Fatalf("moderation events: %v", evs)
	}
}

// TestMeetingJoinByPIN: guide §5.4 — a signed-in user joins with the meeting's PIN (a subprotocol),
// also from another account; a malformed PIN is 400, a wrong one 404, and after 5 wrong PINs even the
// right one is refused with 429 and a Retry-After, while another user is not held back. Once the
// organiser's PIN is reset, the old one opens nothing (404).
func TestMeetingJoinByPIN(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, strangerTok := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	ctx := context.Background()
	_, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, aliceTok, nil)
	pin := out["Meeting"].(map[string]any)["MeetingPIN"].(string)
	byPIN := func(tok, pin string) func(context.Context) (*websocket.Conn, *http.Response, error) {
		return func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
			url := "ws" + b.url[len("http"):] + "/client/v1/meetings/by-pin/signal"
			return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{media.Protocol, "bearer." + tok, "pin." + pin}})
		}
	}
	alice := b.joinVia(t, id, byPIN(aliceTok, pin))
	stranger := b.joinVia(t, id, byPIN(strangerTok, pin))
	until(t, "media both ways", func() bool {
		return alice.c.Received(stranger.id, "video") > 0 && stranger.c.Received(alice.id, "video") > 0
	})

	status := func(tok, pin string) *http.Response {
		_, resp, err := byPIN(tok, pin)(ctx)
		if err == nil || resp == nil {
			t.Fatalf("PIN %q was accepted: %v", pin, err)
		}
		return resp
	}
	if r := status(bobTok, "12345"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed PIN: %d", r.StatusCode)
	}
	wrong := "0000000000"
	if wrong == pin {
		wrong = "0000000001"
	}
	for i := range 5 {
		if r := status(bobTok, wrong); r.StatusCode != http.StatusNotFound {
			t.Fatalf("wrong PIN %d: %d", i+1, r.StatusCode)
		}
	}
	r := status(bobTok, pin)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right PIN after 5 wrong ones: %d %v", r.StatusCode, r.Header)
	}
	b.joinVia(t, id, byPIN(aliceTok, pin)) // another user is not held back
	if n := countEvents(b.meetingEvents(t, id), func(meeting.AttendeeJoined) bool { return true }); n != 3 {
		t.Fatalf("%d joined", n)
	}

	accts, err := b.client.ListAccounts(ctx, &chime.ListAccountsInput{Name: aws.String("Media Corp")})
	if err != nil || len(accts.Accounts) != 1 {
		t.Fatalf("accounts: %v %v", accts, err)
	}
	organizer := out["Meeting"].(map[string]any)["OrganizerId"].(string)
	if _, err := b.client.ResetPersonalPIN(ctx, &chime.ResetPersonalPINInput{AccountId: accts.Accounts[0].AccountId, UserId: aws.String(organizer)}); err != nil {
		t.Fatal(err)
	}
	until(t, "the old PIN to open nothing", func() bool {
		ws, resp, err := byPIN(strangerTok, pin)(ctx)
		if err == nil {
			_ = ws.CloseNow() // the reset not read yet
			return false
		}
		return resp != nil && resp.StatusCode == http.StatusNotFound
	})
}

// TestMeetingScreenShare: a screen share reaches the others through Belfry as its own track, beside
// the sharer's camera; a second attendee sharing at the same time is refused (one share at a time,
// not a video tile) with ResourceLimitExceeded, and its camera still goes out.
func TestMeetingScreenShare(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	dial := func(tok string) func(context.Context) (*websocket.Conn, *http.Response, error) {
		return func(ctx context.Context) (*websocket.Conn, *http.Response, error) { return b.dialSignal(ctx, id, tok) }
	}
	alice := b.joinVia(t, id, dial(aliceTok), sfuclient.Options{Content: true})
	bob := b.joinVia(t, id, dial(bobTok), sfuclient.Options{Content: true})
	// Both share: whichever published first keeps the share, the other is refused.
	sharer, other := alice, bob
	until(t, "one share forwarded, the other refused", func() bool {
		if slices.Contains(alice.errorCodes(), "ResourceLimitExceeded") {
			sharer, other = bob, alice
		}
		return other.c.Received(sharer.id, "content") > 10 && slices.Contains(other.errorCodes(), "ResourceLimitExceeded")
	})
	until(t, "both cameras", func() bool {
		return other.c.Received(sharer.id, "video") > 10 && sharer.c.Received(other.id, "video") > 10
	})
	if n := sharer.c.Received(other.id, "content"); n != 0 {
		t.Fatalf("a second share was forwarded: %d packets", n)
	}
	if n := countEvents(b.meetingEvents(t, id), func(e meeting.MediaStarted) bool { return e.Kind == meeting.MediaContent }); n != 1 {
		t.Fatalf("%d shares recorded", n)
	}
}

// TestModeratedMeeting: guide §8.2 — a moderated meeting's organiser gets a moderator passcode (no
// one else sees it); no one joins before a moderator (409); a wrong passcode is 403; whoever gives the
// right one joins as a moderator and starts it, then the others join, and that moderator's controls
// work.
func TestModeratedMeeting(t *testing.T) {
	t.Parallel()
	b, _, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	ctx := context.Background()
	st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]any{"Title": "Board", "Moderated": true,
		"StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	mt := out["Meeting"].(map[string]any)
	code, _ := mt["ModeratorPasscode"].(string)
	if st != 201 || mt["Moderated"] != true || len(code) != 8 {
		t.Fatalf("schedule a moderated meeting: %d %v", st, out)
	}
	id := mt["MeetingId"].(string)
	if _, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, bobTok, nil); out["Meeting"].(map[string]any)["ModeratorPasscode"] != nil {
		t.Fatalf("another member sees the passcode: %v", out)
	}
	dial := func(tok, code string) func(context.Context) (*websocket.Conn, *http.Response, error) {
		return func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
			url := "ws" + b.url[len("http"):] + "/client/v1/meetings/" + id + "/signal"
			protos := []string{media.Protocol, "bearer." + tok}
			if code != "" {
				protos = append(protos, "moderator."+code)
			}
			return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos})
		}
	}
	wrong := "00000000"
	if wrong == code {
		wrong = "00000001"
	}
	for _, tc := range []struct {
		code string
		want int
	}{{"", http.StatusConflict}, {wrong, http.StatusForbidden}} {
		if _, resp, err := dial(bobTok, tc.code)(ctx); err == nil || resp == nil || resp.StatusCode != tc.want {
			t.Fatalf("bob with passcode %q: %v %v, want %d", tc.code, err, resp, tc.want)
		}
	}
	delegate := b.joinVia(t, id, dial(bobTok, code)) // bob as a moderator
	other := b.joinVia(t, id, dial(bobTok, ""))      // now anyone joins
	until(t, "media", func() bool { return other.c.Received(delegate.id, "audio") > 0 })
	delegate.send(map[string]string{"type": "muteAll"})
	until(t, "the delegate's mute", func() bool { return other.noted("muteAll") })
	if codes := delegate.errorCodes(); len(codes) != 0 {
		t.Fatalf("the delegate's control refused: %v", codes)
	}
	evs := b.meetingEvents(t, id)
	if countEvents(evs, func(e meeting.AttendeeJoined) bool { return e.AttendeeID == delegate.id && e.Moderator }) != 1 ||
		countEvents(evs, func(e meeting.AllMuted) bool {
			return e.By == delegate.id && slices.Equal(e.AttendeeIDs, []string{other.id})
		}) != 1 {
		t.Fatalf("events: %v", evs)
	}
}

// TestDelegateModerates: guide §8.2 and §1.2.3 — a user cannot make someone outside its contacts a
// delegate (404); once alice makes her contact bob her delegate (listed by GET /delegates), bob joins
// alice's moderated meeting without the passcode as a moderator — where before he waited (409) — and
// his controls work; once the delegation ends, a new join of his is an ordinary attendee's.
func TestDelegateModerates(t *testing.T) {
	t.Parallel()
	b, _, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	ctx := context.Background()
	st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]any{"Title": "Board", "Moderated": true,
		"StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	id := out["Meeting"].(map[string]any)["MeetingId"].(string)
	_, me := b.clientCall(t, "GET", "/client/v1/me", bobTok, nil)
	bobID := str(me["User"].(map[string]any)["UserId"])
	if _, resp, err := b.dialSignal(ctx, id, bobTok); err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("bob before any moderator: %v %v, want 409", err, resp)
	}
	if st, out := b.clientCall(t, "PUT", "/client/v1/contacts/"+bobID+"/delegate", aliceTok, nil); st != 404 {
		t.Fatalf("a delegate outside the contacts: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "PUT", "/client/v1/contacts/"+strings.Repeat("x", 65)+"/delegate", aliceTok, nil); st != 400 ||
		!strings.Contains(str(out["Message"]), "userId") {
		t.Fatalf("an over-long user id: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "PUT", "/client/v1/contacts/%ff%00/delegate", aliceTok, nil); st != 400 && st != 404 {
		t.Fatalf("a user id of invalid UTF-8 and NUL: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/contacts", aliceTok, map[string]string{"UserId": bobID}); st != 200 {
		t.Fatalf("add bob: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "PUT", "/client/v1/contacts/"+bobID+"/delegate", aliceTok, nil); st != 204 {
		t.Fatalf("make bob a delegate: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "GET", "/client/v1/delegates", aliceTok, nil); st != 200 || len(out["Delegates"].([]any)) != 1 ||
		out["Delegates"].([]any)[0].(map[string]any)["UserId"] != bobID {
		t.Fatalf("alice's delegates: %d %v", st, out)
	}
	bob := b.join(t, id, bobTok) // without the passcode: as alice's delegate
	alice := b.join(t, id, aliceTok)
	until(t, "media", func() bool { return alice.c.Received(bob.id, "audio") > 0 })
	bob.send(map[string]string{"type": "lock"})
	until(t, "bob's lock", func() bool { return alice.noted("lock") })
	if codes := bob.errorCodes(); len(codes) != 0 {
		t.Fatalf("the delegate's control refused: %v", codes)
	}
	bob.send(map[string]string{"type": "unlock"})
	until(t, "bob's unlock", func() bool { return alice.noted("unlock") })
	if st, out := b.clientCall(t, "DELETE", "/client/v1/contacts/"+bobID+"/delegate", aliceTok, nil); st != 204 {
		t.Fatalf("end the delegation: %d %v", st, out)
	}
	again := b.join(t, id, bobTok)
	evs := b.meetingEvents(t, id)
	if countEvents(evs, func(e meeting.AttendeeJoined) bool { return e.AttendeeID == bob.id && e.Moderator }) != 1 ||
		countEvents(evs, func(e meeting.AttendeeJoined) bool { return e.AttendeeID == again.id && !e.Moderator }) != 1 {
		t.Fatalf("events: %v", evs)
	}
}
