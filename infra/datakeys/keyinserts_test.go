package datakeys_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/datakeys"
)

// TestConcurrentSealsWithRedactions: seals of one conversation's day run concurrently (their keys
// stored in groups) while messages of that day are shredded (each shred replaces the day key and
// rewraps the day's message keys): every message not shredded opens, from this store and from a
// fresh one (nothing stored under a replaced day key), and every shredded one is destroyed.
func TestConcurrentSealsWithRedactions(t *testing.T) {
	s, pool, ring := storeWithRing(t)
	ctx := context.Background()
	day := time.Date(2027, 3, 4, 10, 0, 0, 0, time.UTC)
	type sealed struct {
		id, text string
		ct       []byte
	}
	var mu sync.Mutex
	var all []sealed
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 25 {
				text := fmt.Sprintf("w%d m%d", w, i)
				id, ct, err := s.Seal(ctx, "t1", "conversation/c1", day, []byte(text))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, sealed{id, text, ct})
				mu.Unlock()
			}
		})
	}
	shredded := map[string]bool{}
	for range 10 {
		mu.Lock()
		var victim string
		for _, m := range all {
			if !shredded[m.id] {
				victim = m.id
				break
			}
		}
		mu.Unlock()
		if victim == "" {
			time.Sleep(time.Millisecond)
			continue
		}
		if err := s.ShredMessage(ctx, victim); err != nil {
			t.Fatal(err)
		}
		shredded[victim] = true
	}
	wg.Wait()
	if len(all) != 400 {
		t.Fatalf("%d messages sealed, want 400", len(all))
	}
	for _, st := range []*datakeys.Store{s, datakeys.New(pool).WithKeyring(ring)} {
		for _, m := range all {
			pt, err := st.Open(ctx, m.id, m.ct)
			switch {
			case shredded[m.id] && !errors.Is(err, datakeys.ErrDestroyed):
				t.Fatalf("shredded %s opens: %q %v", m.id, pt, err)
			case !shredded[m.id] && (err != nil || string(pt) != m.text):
				t.Fatalf("message %s: %q %v, want %q", m.id, pt, err, m.text)
			}
		}
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.message_keys`).Scan(&rows); err != nil || rows != 400-len(shredded) {
		t.Fatalf("%d message keys stored, want %d: %v", rows, 400-len(shredded), err)
	}
}
