package sideeffects

import (
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// TestIdleBackoff: polls come every busy interval while messages flow and for idleAfter after the
// last one, then every idle interval; a message found answers 0 (poll again at once); errors keep
// the default manager's pacing.
func TestIdleBackoff(t *testing.T) {
	log := watermill.NopLogger{}
	b := newIdleBackoff(50*time.Millisecond, 250*time.Millisecond, time.Minute, time.Second)
	if d := b.HandleError(log, true, nil); d != 50*time.Millisecond {
		t.Fatalf("just started: %v", d)
	}
	b.last.Store(time.Now().Add(-time.Hour).UnixNano())
	if d := b.HandleError(log, true, nil); d != 250*time.Millisecond {
		t.Fatalf("idle: %v", d)
	}
	if d := b.HandleError(log, false, nil); d != 0 {
		t.Fatalf("a message: %v", d)
	}
	if d := b.HandleError(log, true, nil); d != 50*time.Millisecond {
		t.Fatalf("just after a message: %v", d)
	}
	if d := b.HandleError(log, true, errors.New("connection refused")); d != time.Second {
		t.Fatalf("an error: %v", d)
	}
	if d := b.HandleError(log, true, errors.New("could not serialize access due to concurrent update")); d != 0 {
		t.Fatalf("a deadlock: %v", d)
	}
}
