package client

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestSignInBackoffLocksAndDoubles(t *testing.T) {
	l := DefaultSignInLimits
	b := newBackoff(l.Failures, 100, l)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 4; i++ {
		b.fail("a@example.com", t0.Add(time.Duration(i)*time.Second))
	}
	if w := b.wait("a@example.com", t0.Add(5*time.Second)); w != 0 {
		t.Fatalf("4 failures must not lock: %s", w)
	}
	b.fail("a@example.com", t0.Add(5*time.Second)) // the 5th within 15 minutes
	if w := b.wait("a@example.com", t0.Add(5*time.Second)); w != time.Minute {
		t.Fatalf("first lock: %s", w)
	}
	// After the lock, the next failure (the burst is still within the window) locks twice as long.
	t1 := t0.Add(5*time.Second + time.Minute)
	if w := b.wait("a@example.com", t1); w != 0 {
		t.Fatalf("lock over: %s", w)
	}
	b.fail("a@example.com", t1)
	if w := b.wait("a@example.com", t1); w != 2*time.Minute {
		t.Fatalf("second lock: %s", w)
	}
	t2 := t1.Add(2 * time.Minute)
	b.fail("a@example.com", t2)
	if w := b.wait("a@example.com", t2); w != 4*time.Minute {
		t.Fatalf("third lock: %s", w)
	}
	// Locks longer than the window let the burst age out: the next lock needs Failures new failures,
	// and lasts twice as long again, up to Max.
	tn, longest := t2, time.Duration(0)
	for i := 0; i < 100; i++ {
		tn = tn.Add(b.wait("a@example.com", tn))
		b.fail("a@example.com", tn)
		longest = max(longest, b.wait("a@example.com", tn))
	}
	if longest != time.Hour {
		t.Fatalf("capped lock: %s", longest)
	}
	if b.wait("other@example.com", tn) != 0 || b.wait("", tn) != 0 {
		t.Fatal("other keys are not locked")
	}
	b.reset("a@example.com")
	if b.wait("a@example.com", tn) != 0 {
		t.Fatal("a success clears the key")
	}
}

func TestSignInBackoffMemoryIsBounded(t *testing.T) {
	l := DefaultSignInLimits
	b := newBackoff(l.Failures, 1000, l)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i++ {
		b.fail(fmt.Sprintf("u%d@example.com", i), t0)
	}
	if n := b.len(); n != 1000 {
		t.Fatalf("held %d keys, capacity 1000", n)
	}
	// Idle keys are forgotten after a day, unless still locked.
	for i := 0; i < 5; i++ {
		b.fail("locked@example.com", t0)
	}
	later := t0.Add(25 * time.Hour)
	b.fail("fresh@example.com", later)
	if n := b.len(); n != 1 {
		t.Fatalf("after a day, %d keys held", n)
	}
}

func TestDummyHashHasTheCostOfStoredHashes(t *testing.T) {
	g := newSignInGuard(SignInLimits{})
	cost, err := bcrypt.Cost(g.dummy())
	if err != nil || cost != passwordCost {
		t.Fatalf("dummy hash cost %d %v, stored hashes use %d", cost, err, passwordCost)
	}
}
