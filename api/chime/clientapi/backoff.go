package clientapi

import (
	"container/list"
	"sync"
	"time"
)

// SignInLimits is the back-off after failed sign-ins: Failures failures within Window lock the key
// (an e-mail address, or a source address) for First, doubled at each further lock up to Max. A
// locked key is refused without checking the password; a successful sign-in clears the e-mail's
// count (never the source's). Keys idle for a day are forgotten, and at most Capacity keys are kept
// (the least recently used go first), so memory is bounded whatever the callers send.
type SignInLimits struct {
	Failures        int
	Window          time.Duration
	First, Max      time.Duration
	Capacity        int
	FailuresPerIP   int
	CapacityPerIP   int
	forgetAfterIdle time.Duration
}

// DefaultSignInLimits: 5 failures per e-mail address or 20 per source address in 15 minutes lock for
// 1 minute, then 2, 4, … up to 1 hour.
var DefaultSignInLimits = SignInLimits{Failures: 5, Window: 15 * time.Minute, First: time.Minute, Max: time.Hour,
	Capacity: 100_000, FailuresPerIP: 20, CapacityPerIP: 100_000, forgetAfterIdle: 24 * time.Hour}

// Backoff counts failures per key in a bounded LRU (see SignInLimits).
type Backoff struct {
	limit    int
	capacity int
	l        SignInLimits
	mu       sync.Mutex
	lru      *list.List // of *failures, most recently touched first
	byKey    map[string]*list.Element
}

type failures struct {
	key         string
	at          []time.Time // failures within the window, oldest first
	lockedUntil time.Time
	locks       int
	touched     time.Time
	pending     int // attempts admitted by Begin and not ended yet
}

func NewBackoff(limit, capacity int, l SignInLimits) *Backoff {
	if l.forgetAfterIdle <= 0 {
		l.forgetAfterIdle = 24 * time.Hour
	}
	return &Backoff{limit: limit, capacity: capacity, l: l, lru: list.New(), byKey: map[string]*list.Element{}}
}

// Wait is how long key stays locked (0 when it is not).
func (b *Backoff) Wait(key string, now time.Time) time.Duration {
	if key == "" {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.byKey[key]; ok {
		if f := el.Value.(*failures); now.Before(f.lockedUntil) {
			return f.lockedUntil.Sub(now)
		}
	}
	return 0
}

// BusyWait is the wait Begin answers while as many attempts are being checked as would lock the key
// if they failed: they end within moments.
const BusyWait = time.Second

// Begin admits an attempt for key that is about to be checked, or answers how long key stays
// locked. Attempts sent at once are admitted as if they came one after the other: while attempts
// are in progress, one more is refused (BusyWait) if their failing would lock the key, so a burst
// gets no more checks than the failures that lock it. An admitted attempt is in progress until End.
func (b *Backoff) Begin(key string, now time.Time) time.Duration {
	if key == "" {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.entry(key, now)
	if now.Before(f.lockedUntil) {
		return f.lockedUntil.Sub(now)
	}
	recent := 0
	for _, t := range f.at {
		if now.Sub(t) < b.l.Window {
			recent++
		}
	}
	if f.pending > 0 && recent+f.pending >= b.limit {
		return BusyWait
	}
	f.pending++
	b.prune(now)
	return 0
}

// Keyed is a backoff and the key an attempt counts under in it.
type Keyed struct {
	B   *Backoff
	Key string
}

// Begin admits an attempt under every key (Backoff.Begin) or under none, answering then the longest
// wait. Once admitted, the attempt must be ended exactly once with end, failed or not.
func Begin(now time.Time, keys ...Keyed) (end func(failed bool), wait time.Duration) {
	var admitted []Keyed
	for _, k := range keys {
		if w := k.B.Begin(k.Key, now); w > 0 {
			wait = max(wait, w)
		} else {
			admitted = append(admitted, k)
		}
	}
	if wait > 0 {
		for _, k := range admitted {
			k.B.End(k.Key, now, false)
		}
		return nil, wait
	}
	return func(failed bool) {
		for _, k := range keys {
			k.B.End(k.Key, now, failed)
		}
	}, 0
}

// End ends an attempt that Begin admitted: failed records it as a failure (see Fail).
func (b *Backoff) End(key string, now time.Time, failed bool) {
	if key == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.byKey[key]; ok {
		f := el.Value.(*failures)
		f.pending = max(f.pending-1, 0)
	}
	if failed {
		b.fail(key, now)
	}
}

// entry is key's record, made if there is none, as the most recently used. b.mu is held.
func (b *Backoff) entry(key string, now time.Time) *failures {
	var f *failures
	if el, ok := b.byKey[key]; ok {
		f = el.Value.(*failures)
		b.lru.MoveToFront(el)
	} else {
		f = &failures{key: key}
		b.byKey[key] = b.lru.PushFront(f)
	}
	f.touched = now
	return f
}

// Fail records a failure and locks the key once limit failures fall within the window; while the
// failures that caused a lock are still in the window, every further failure locks again, twice as long.
func (b *Backoff) Fail(key string, now time.Time) {
	if key == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail(key, now)
}

// fail is Fail with b.mu held.
func (b *Backoff) fail(key string, now time.Time) {
	f := b.entry(key, now)
	kept := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < b.l.Window {
			kept = append(kept, t)
		}
	}
	f.at = append(kept, now)
	if len(f.at) > b.limit {
		f.at = f.at[len(f.at)-b.limit:]
	}
	if len(f.at) >= b.limit {
		d := b.l.First << min(f.locks, 30)
		if d <= 0 || d > b.l.Max {
			d = b.l.Max
		}
		f.lockedUntil, f.locks = now.Add(d), f.locks+1
	}
	b.prune(now)
}

// prune forgets keys idle for a day (and no longer locked), then the least recently used beyond capacity.
func (b *Backoff) prune(now time.Time) {
	for el := b.lru.Back(); el != nil; el = b.lru.Back() {
		f := el.Value.(*failures)
		idle := now.Sub(f.touched) >= b.l.forgetAfterIdle && !now.Before(f.lockedUntil)
		if !idle && b.lru.Len() <= b.capacity {
			return
		}
		b.lru.Remove(el)
		delete(b.byKey, f.key)
	}
}

// Reset forgets a key (a successful sign-in).
func (b *Backoff) Reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.byKey[key]; ok {
		b.lru.Remove(el)
		delete(b.byKey, key)
	}
}

// Len is the number of keys held (for tests of the bound).
func (b *Backoff) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}
