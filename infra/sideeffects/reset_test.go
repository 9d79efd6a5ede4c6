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

// resetSink records the Wickr password resets' side effects; the first room removal fails.
type resetSink struct {
	mu     sync.Mutex
	mails  []sideeffects.WickrPasswordResetMail
	resets []sideeffects.WickrPasswordReset
}

func (s *resetSink) DeliverWickrPasswordReset(_ context.Context, m sideeffects.WickrPasswordResetMail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails = append(s.mails, m)
	return nil
}

func (s *resetSink) LeaveWickrRooms(_ context.Context, r sideeffects.WickrPasswordReset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resets = append(s.resets, r)
	if len(s.resets) == 1 {
		return fmt.Errorf("room r-1: the event store is unavailable")
	}
	return nil
}

func (s *resetSink) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails), len(s.resets)
}

// TestWickrPasswordResetSideEffects: a reset request queues the mail of its link (its expiry, no
// token), a reset queues the removal from the rooms with its position in the log; a removal that
// fails is delivered again.
func TestWickrPasswordResetSideEffects(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	at := time.Now().UTC()
	stream := roster.StreamName("12345678", "1000000050")
	appendEvent(t, c, stream, roster.TypePasswordResetRequested, roster.PasswordResetRequested{UserID: "1000000050", ExpiresAt: at.Add(roster.PasswordResetTTL), At: at})
	appendEvent(t, c, stream, roster.TypePasswordReset, roster.PasswordReset{UserID: "1000000050",
		Password: domain.Sealed{KeyID: "subject/12345678/user/1000000050", Data: []byte{1}}, At: at})
	startRelay(t, pool, c)
	s := &resetSink{}
	r, err := sideeffects.NewRouter(pool, sideeffects.Handlers{WickrResets: s}, sideeffects.RouterConfig{MaxRetries: 2, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Running()
	t.Cleanup(func() { _ = r.Close() })
	eventually(t, "the mail and the retried removal", func() bool { m, n := s.counts(); return m == 1 && n == 2 })
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mails[0]; m.NetworkID != "12345678" || m.UserID != "1000000050" || !m.ExpiresAt.Equal(at.Add(roster.PasswordResetTTL)) {
		t.Fatalf("mail message %+v", m)
	}
	if p := s.resets[1]; p.NetworkID != "12345678" || p.UserID != "1000000050" || !p.At.Equal(at) || p.Position == 0 || p != s.resets[0] {
		t.Fatalf("reset messages %+v", s.resets)
	}
}
