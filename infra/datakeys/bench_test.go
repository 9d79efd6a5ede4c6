package datakeys_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/datakeys"
)

// BenchmarkDestroyScopeDays: the conversation purge's key destruction — the days before a cutoff
// of N conversations, each its own scope — beside the rooms' floor, the period KEKs of the same days
// destroyed at once (one op = all of them; seeded outside the timer).
func BenchmarkDestroyScopeDays(b *testing.B) {
	const conversations, days = 200, 3
	ctx := context.Background()
	day := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	seed := func(b *testing.B, class string) (*datakeys.Store, []string, []time.Time) {
		s, _, _ := storeWithRing(b)
		var scopes []string
		var befores []time.Time
		for c := range conversations {
			scope := fmt.Sprintf("%s/c%04d", class, c)
			for d := range days {
				if _, _, err := s.Seal(ctx, "acct", scope, day.Add(time.Duration(d)*24*time.Hour), []byte("x")); err != nil {
					b.Fatal(err)
				}
			}
			scopes, befores = append(scopes, scope), append(befores, day.Add(2*24*time.Hour).Truncate(24*time.Hour))
		}
		return s, scopes, befores
	}
	b.Run("scopes", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s, scopes, befores := seed(b, "conversation")
			b.StartTimer()
			if n, damaged, err := s.DestroyScopeDaysBefore(ctx, scopes, befores); err != nil || n != conversations*2 || len(damaged) != 0 {
				b.Fatal(n, damaged, err)
			}
		}
	})
	b.Run("periods-floor", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s, _, befores := seed(b, "room")
			b.StartTimer()
			ids, err := s.LivePeriods(ctx, "acct", "room", befores[0])
			if err != nil {
				b.Fatal(err)
			}
			if scopes, _, err := s.DestroyPeriods(ctx, ids); err != nil || len(scopes) != conversations*2 {
				b.Fatal(len(scopes), err)
			}
		}
	})
}
