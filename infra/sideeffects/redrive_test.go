package sideeffects_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/sideeffects"
)

// flakyRooms fails a reset's room step its first fails attempts (a read model rebuilding).
type flakyRooms struct {
	mu              sync.Mutex
	fails, attempts int
	done            int
}

func (f *flakyRooms) DeliverWickrPasswordReset(context.Context, sideeffects.WickrPasswordResetMail) error {
	return nil
}

func (f *flakyRooms) LeaveWickrRooms(context.Context, sideeffects.WickrPasswordReset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.attempts++; f.attempts <= f.fails {
		return fmt.Errorf("the conversations read model is behind (attempt %d)", f.attempts)
	}
	f.done++
	return nil
}

func (f *flakyRooms) counts() (attempts, done int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts, f.done
}

// runResets appends one password reset and runs the relay and a router over f.
func runResets(t *testing.T, f *flakyRooms, cfg sideeffects.RouterConfig) {
	t.Helper()
	pool, c := eventlogtest.Start(t)
	at := time.Now().UTC()
	appendEvent(t, c, roster.StreamName("12345678", "1000000050"), roster.TypePasswordReset, roster.PasswordReset{UserID: "1000000050",
		Password: domain.Sealed{KeyID: "subject/12345678/user/1000000050", Data: []byte{1}}, At: at})
	startRelay(t, pool, c)
	r, err := sideeffects.NewRouter(pool, sideeffects.Handlers{WickrResets: f}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Running()
	t.Cleanup(func() { _ = r.Close() })
}

// TestPoisonedRoomStepIsRedriven: a reset's room step that fails past its retries (the read model it
// waits for is rebuilding) is not lost on the poison topic: it is delivered again later, until it
// succeeds.
func TestPoisonedRoomStepIsRedriven(t *testing.T) {
	f := &flakyRooms{fails: 5} // 3 attempts a delivery (MaxRetries 2): poisoned once, then done
	runResets(t, f, sideeffects.RouterConfig{MaxRetries: 2, RetryInterval: 5 * time.Millisecond, RedriveDelay: 10 * time.Millisecond})
	eventually(t, "the room step re-driven until it succeeds", func() bool { _, done := f.counts(); return done == 1 })
	if attempts, _ := f.counts(); attempts != 6 {
		t.Fatalf("%d attempts, want 6 (3, poisoned, then 3 more)", attempts)
	}
}

// TestRedrivesAreBounded: a room step that never succeeds is given up after MaxRedrives re-drives.
func TestRedrivesAreBounded(t *testing.T) {
	f := &flakyRooms{fails: 1 << 30}
	runResets(t, f, sideeffects.RouterConfig{MaxRetries: 1, RetryInterval: 5 * time.Millisecond, RedriveDelay: 10 * time.Millisecond, MaxRedrives: 2})
	eventually(t, "the deliveries and their re-drives", func() bool { attempts, _ := f.counts(); return attempts >= 6 })
	time.Sleep(500 * time.Millisecond)
	if attempts, _ := f.counts(); attempts != 6 {
		t.Fatalf("%d attempts, want 6 (2 a delivery: the first and 2 re-drives)", attempts)
	}
}
