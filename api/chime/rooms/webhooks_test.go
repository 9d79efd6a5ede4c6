package rooms

import (
	"fmt"
	"testing"
	"time"
)

func TestWebhookLimiterAllowsOnePerSecondAndForgetsOldEntries(t *testing.T) {
	var l webhookLimiter
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if !l.allow("w", t0) || l.allow("w", t0.Add(999*time.Millisecond)) || !l.allow("w", t0.Add(time.Second)) {
		t.Fatal("one post per second per webhook")
	}
	if !l.allow("other", t0) {
		t.Fatal("webhooks are limited separately")
	}
	for i := range 10_000 {
		l.allow(fmt.Sprint("reply-", i), t0)
	}
	l.allow("late", t0.Add(2*time.Second))
	if len(l.last) > 10 {
		t.Fatalf("%d entries kept after a prune", len(l.last))
	}
}
