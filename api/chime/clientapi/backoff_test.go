package clientapi

import (
	"fmt"
	"testing"
	"time"
)

func TestSignInBackoffLocksAndDoubles(t *testing.T) {
	l := DefaultSignInLimits
	b := NewBackoff(l.Failures, 100, l)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 4; i++ {
		b.Fail("a@example.com", t0.Add(time.Duration(i)*time.Second))
	}
	if w := b.Wait("a@example.com", t0.Add(5*time.Second)); w != 0 {
		t.Fatalf("4 failures must not lock: %s", w)
	}
	b.Fail("a@example.com", t0.Add(5*time.Second)) // the 5th within 15 minutes
	if w := b.Wait("a@example.com", t0.Add(5*time.Second)); w != time.Minute {
		t.Fatalf("first lock: %s", w)
	}
	// After the lock, the next failure (the burst is still within the window) locks twice as long.
	t1 := t0.Add(5*time.Second + time.Minute)
	if w := b.Wait("a@example.com", t1); w != 0 {
		t.Fatalf("lock over: %s", w)
	}
	b.Fail("a@example.com", t1)
	if w := b.Wait("a@example.com", t1); w != 2*time.Minute {
		t.Fatalf("second lock: %s", w)
	}
	t2 := t1.Add(2 * time.Minute)
	b.Fail("a@example.com", t2)
	if w := b.Wait("a@example.com", t2); w != 4*time.Minute {
		t.Fatalf("third lock: %s", w)
	}
	// Locks longer than the window let the burst age out: the next lock needs Failures new failures,
	// and lasts twice as long again, up to Max.
	tn, longest := t2, time.Duration(0)
	for i := 0; i < 100; i++ {
		tn = tn.Add(b.Wait("a@example.com", tn))
		b.Fail("a@example.com", tn)
		longest = max(longest, b.Wait("a@example.com", tn))
	}
	if longest != time.Hour {
		t.Fatalf("capped lock: %s", longest)
	}
	if b.Wait("other@example.com", tn) != 0 || b.Wait("", tn) != 0 {
		t.Fatal("other keys are not locked")
	}
	b.Reset("a@example.com")
	if b.Wait("a@example.com", tn) != 0 {
		t.Fatal("a success clears the key")
	}
}

func TestSignInBackoffMemoryIsBounded(t *testing.T) {
	l := DefaultSignInLimits
	b := NewBackoff(l.Failures, 1000, l)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i++ {
		b.Fail(fmt.Sprintf("u%d@example.com", i), t0)
	}
	if n := b.Len(); n != 1000 {
		t.Fatalf("held %d keys, capacity 1000", n)
	}
	// Idle keys are forgotten after a day, unless still locked.
	for i := 0; i < 5; i++ {
		b.Fail("locked@example.com", t0)
	}
	later := t0.Add(25 * time.Hour)
	b.Fail("fresh@example.com", later)
	if n := b.Len(); n != 1 {
		t.Fatalf("after a day, %d keys held", n)
	}
}

// TestSignInBackoffAdmitsABurstAsASequence: attempts begun at once are admitted only as far as their
// failing would not lock the key (the others wait BusyWait); once they failed the key is locked, and
// after the lock one attempt at a time is admitted while a failure would lock it again.
func TestSignInBackoffAdmitsABurstAsASequence(t *testing.T) {
	l := DefaultSignInLimits
	b := NewBackoff(l.Failures, 100, l)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	admitted := 0
	for range 20 {
		if w := b.Begin("a@example.com", t0); w == 0 {
			admitted++
		} else if w != BusyWait {
			t.Fatalf("a burst is refused with %s", w)
		}
	}
	if admitted != l.Failures {
		t.Fatalf("%d attempts of a burst admitted, want %d", admitted, l.Failures)
	}
	for range admitted {
		b.End("a@example.com", t0, true)
	}
	if w := b.Begin("a@example.com", t0); w != time.Minute {
		t.Fatalf("after the burst failed: %s", w)
	}
	t1 := t0.Add(time.Minute)
	if w := b.Begin("a@example.com", t1); w != 0 {
		t.Fatalf("after the lock: %s", w)
	}
	if w := b.Begin("a@example.com", t1); w != BusyWait {
		t.Fatalf("a second attempt while the first may lock again: %s", w)
	}
	b.End("a@example.com", t1, false)
	b.Reset("a@example.com")
	end, wait := Begin(t1, Keyed{b, "a@example.com"}, Keyed{NewBackoff(1, 10, l), ""})
	if wait != 0 {
		t.Fatalf("after a success: %s", wait)
	}
	end(false)
}
