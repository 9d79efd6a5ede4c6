package mediasignal_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/belfry/belfry/api/mediasignal"
)

// slowRoom is a Room whose Left blocks until released (a leave being recorded).
type slowRoom struct{ release chan struct{} }

func (slowRoom) Join(mediasignal.Peer) (mediasignal.Participant, error) { return nil, nil }
func (slowRoom) MediaStarted(string) error                              { return nil }
func (slowRoom) MediaStopped(string)                                    {}
func (r slowRoom) Left(string)                                          { <-r.release }
func (slowRoom) Handle(*mediasignal.Session, mediasignal.Message) bool  { return false }
func (slowRoom) Types() string                                          { return "" }

// TestAFullOutboxClosesOnce: sends that find a session's outbox full (a client that does not read)
// take the participant out once; they do not start a goroutine each while the leave is recorded.
func TestAFullOutboxClosesOnce(t *testing.T) {
	room := slowRoom{release: make(chan struct{})}
	x := mediasignal.NewSession(nil, room, func(string, ...any) {})
	before := runtime.NumGoroutine()
	for range mediasignal.OutboxLen + 1000 {
		x.Send(mediasignal.Message{Type: "candidate"})
	}
	after := runtime.NumGoroutine() // what the sends started is blocked on the leave until released
	close(room.release)
	if after-before > 5 {
		t.Fatalf("%d goroutines started by sends to a full outbox, want 1", after-before)
	}
}

// TestBearerIsBounded: a bearer token over MaxToken bytes, in the header or the subprotocol, is no
// token (the caller is refused as unauthenticated before any lookup).
func TestBearerIsBounded(t *testing.T) {
	long := strings.Repeat("t", mediasignal.MaxToken+1)
	for _, set := range []func(r *http.Request, tok string){
		func(r *http.Request, tok string) { r.Header.Set("Authorization", "Bearer "+tok) },
		func(r *http.Request, tok string) {
			r.Header.Set("Sec-WebSocket-Protocol", mediasignal.Protocol+", bearer."+tok)
		},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		set(r, long)
		if got := mediasignal.Bearer(r); got != "" {
			t.Fatalf("a %d-byte token was taken", len(got))
		}
		set(r, "abc")
		if got := mediasignal.Bearer(r); got != "abc" {
			t.Fatalf("a short token: %q", got)
		}
	}
}
