package mediasignal_test

import (
	"runtime"
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
