package sessions_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/sessions"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// keep is the bound the tests open sessions with (the client slice's MaxSessionsPerDevice).
const keep = 5

func wickrStore(t *testing.T) (*sessions.WickrStore, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return sessions.NewWickr(pool), pool
}

// deviceRows counts the session rows of a device.
func deviceRows(t *testing.T, pool *pgxpool.Pool, w sessions.WickrSession) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM client.wickr_sessions
		WHERE network_id = $1 AND user_id = $2 AND app_id = $3 AND guest_hash = $4`, w.NetworkID, w.UserID, w.AppID, w.GuestHash).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func device(w sessions.WickrSession) string {
	return fmt.Sprintf("%s/%s/%s/%s", w.NetworkID, w.UserID, w.GuestHash, w.AppID)
}

// TestWickrOpenKeepsTheNewestSessionsOfADevice: signing in again and again from one device (a user's
// or a guest's) leaves its newest sessions only, the new one always among them; the sessions of the
// user's other devices and of other users are untouched.
func TestWickrOpenKeepsTheNewestSessionsOfADevice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, pool := wickrStore(t)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	phone := sessions.WickrSession{NetworkID: "n1", UserID: "u1", AppID: "phone"}
	others := []sessions.WickrSession{{NetworkID: "n1", UserID: "u1", AppID: "laptop"}, {NetworkID: "n1", UserID: "u2", AppID: "phone"},
		{NetworkID: "n2", UserID: "u1", AppID: "phone"}, {GuestHash: "g2", AppID: "phone"}}
	for i, w := range others {
		for j := range 2 {
			w.IssuedAt = base.Add(time.Duration(j) * time.Minute)
			if err := st.Open(ctx, fmt.Sprintf("other-%d-%d", i, j), w, keep); err != nil {
				t.Fatal(err)
			}
		}
	}
	guest := sessions.WickrSession{GuestHash: "g1", AppID: "phone"}
	for i := range keep + 2 {
		for _, w := range []sessions.WickrSession{phone, guest} {
			w.IssuedAt = base.Add(time.Duration(i) * time.Minute)
			if err := st.Open(ctx, fmt.Sprintf("%s-%d", w.GuestHash+w.UserID, i), w, keep); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, w := range []sessions.WickrSession{phone, guest} {
		if n := deviceRows(t, pool, w); n != keep {
			t.Fatalf("device %s: %d sessions after %d sign-ins, want the newest %d", device(w), n, keep+2, keep)
		}
		name := w.GuestHash + w.UserID
		for i := range keep + 2 {
			_, err := st.Lookup(ctx, fmt.Sprintf("%s-%d", name, i))
			if gone := domain.KindOf(err) == domain.KindNotFound; gone != (i < 2) {
				t.Fatalf("%s session %d: %v (the oldest two go)", name, i, err)
			}
		}
	}
	for _, w := range others {
		if n := deviceRows(t, pool, w); n != 2 {
			t.Fatalf("device %s: %d sessions, want its 2 untouched", device(w), n)
		}
	}
	// A session issued before the kept ones (a clock set back) is still the one that stays.
	phone.IssuedAt = base.Add(-time.Hour)
	if err := st.Open(ctx, "u1-early", phone, keep); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lookup(ctx, "u1-early"); err != nil || deviceRows(t, pool, phone) != keep {
		t.Fatalf("the new session must stay: %v, %d sessions", err, deviceRows(t, pool, phone))
	}
}

// TestWickrOpenBoundHoldsUnderConcurrentSignIns: sign-ins racing from one device leave no more than
// the bound.
func TestWickrOpenBoundHoldsUnderConcurrentSignIns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, pool := wickrStore(t)
	tablet := sessions.WickrSession{NetworkID: "n1", UserID: "u3", AppID: "tablet", IssuedAt: time.Now()}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Go(func() { errs <- st.Open(ctx, fmt.Sprintf("t-%d", i), tablet, keep) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := deviceRows(t, pool, tablet); n != keep {
		t.Fatalf("%d sessions after 24 concurrent sign-ins, want %d", n, keep)
	}
}

// TestWickrAfterPagesEverySessionOnce: keyset pages in token hash order, each session once, with
// what it was opened with.
func TestWickrAfterPagesEverySessionOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := wickrStore(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	want := map[string]sessions.WickrSession{}
	for i := range 7 {
		w := sessions.WickrSession{NetworkID: "n1", UserID: fmt.Sprintf("u%d", i), AppID: "phone", IssuedAt: at}
		if i == 6 {
			w = sessions.WickrSession{GuestHash: "g1", AppID: "phone", IssuedAt: at}
		}
		h := fmt.Sprintf("h%d", (i*5)%7) // opened out of hash order
		want[h] = w
		if err := st.Open(ctx, h, w, keep); err != nil {
			t.Fatal(err)
		}
	}
	after, seen := "", 0
	for {
		page, err := st.After(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			w, ok := want[r.TokenHash]
			if !ok || r.TokenHash <= after || r.UserID != w.UserID || r.GuestHash != w.GuestHash || !r.IssuedAt.Equal(at) {
				t.Fatalf("page after %q: %+v", after, r)
			}
			delete(want, r.TokenHash)
			after, seen = r.TokenHash, seen+1
		}
		if len(page) < 3 {
			break
		}
	}
	if seen != 7 || len(want) != 0 {
		t.Fatalf("%d sessions paged, %v never", seen, want)
	}
}
