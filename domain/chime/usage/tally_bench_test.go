package usage_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/usage"
)

// BenchmarkTally folds an account of 100,000 users, their sign-ins and 300,000 messages.
func BenchmarkTally(b *testing.B) {
	type raw struct {
		stream, typ string
		data        []byte
	}
	var evs []raw
	add := func(stream string, e interface{ EventType() string }) {
		d, _ := json.Marshal(e)
		evs = append(evs, raw{stream, e.EventType(), d})
	}
	week := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add(account.StreamName("acc"), account.Created{AccountID: "acc", AwsAccountID: "111122223333", Name: "Bench"})
	const users = 100_000
	for i := range users {
		add(account.StreamName("acc"), account.UserAdded{UserID: fmt.Sprintf("u%06d", i), Email: fmt.Sprintf("u%06d@example.com", i), LicenseType: "Pro"})
	}
	for i := range users {
		add(usage.SignInStream(fmt.Sprintf("u%06d", i)), usage.SignedIn{AccountID: "acc", UserID: fmt.Sprintf("u%06d", i), At: week.Add(time.Hour)})
	}
	sealed := make([]byte, 180)
	for i := range 3 * users {
		add(conversation.StreamName("c"), conversation.MessagePosted{MessageID: fmt.Sprint(i), SenderID: fmt.Sprintf("u%06d", i%users), KeyID: "k", Sealed: sealed, At: week.Add(time.Minute)})
	}
	b.ResetTimer()
	for range b.N {
		t := usage.NewTally(week)
		for i, e := range evs {
			if err := t.Apply(e.stream, e.typ, uint64(i+1), e.data); err != nil {
				b.Fatal(err)
			}
		}
		if rows := t.Rows("acc"); len(rows) != users {
			b.Fatal(len(rows))
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
