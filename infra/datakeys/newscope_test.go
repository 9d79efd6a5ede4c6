package datakeys_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/datakeys"
)

// A message sealed in a new scope of its own opens, in this store and a fresh one (nothing cached),
// and goes with its key, its scope or its period, like one Seal made.
func TestSealNewOpensAndIsDestroyedLikeSeal(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	seal := func(scope string) (string, []byte) {
		t.Helper()
		id, sealed, err := s.SealNew(ctx, "net", scope, day, []byte("burn after reading"))
		if err != nil {
			t.Fatal(err)
		}
		other := datakeys.New(pool).WithKeyring(ring)
		if pt, err := other.Open(ctx, id, sealed); err != nil || string(pt) != "burn after reading" {
			t.Fatalf("open %s in another store: %q %v", id, pt, err)
		}
		return id, sealed
	}
	gone := func(what, id string, sealed []byte) {
		t.Helper()
		for _, st := range []*datakeys.Store{s, datakeys.New(pool).WithKeyring(ring)} {
			if _, err := st.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
				t.Fatalf("%s: open = %v, want ErrDestroyed", what, err)
			}
		}
	}
	id1, sealed1 := seal("wickr-message/c1/m1")
	if err := s.Destroy(ctx, id1); err != nil {
		t.Fatal(err)
	}
	gone("its key destroyed", id1, sealed1)

	id2, sealed2 := seal("wickr-message/c1/m2")
	if err := s.DestroyScope(ctx, "net", "wickr-message/c1/m2"); err != nil {
		t.Fatal(err)
	}
	gone("its scope destroyed", id2, sealed2)
	if _, _, err := s.SealNew(ctx, "net", "wickr-message/c1/m2", day, []byte("x")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing again in a destroyed scope: %v", err)
	}

	id3, sealed3 := seal("wickr-message/c1/m3")
	if _, _, err := s.DestroyPeriods(ctx, []string{datakeys.PeriodKEKID("net", datakeys.Class("wickr-message/c1/m3"), day)}); err != nil {
		t.Fatal(err)
	}
	gone("its period destroyed", id3, sealed3)
}

// A scope that has keys already is sealed in as it is: nothing of the new scope's is stored, and
// the KEK made for it is erased (no live KEK is left that wraps nothing).
func TestSealNewInAScopeThatExistsSealsInIt(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := storeWithRing(t)
	day := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	first, sealedFirst, err := s.Seal(ctx, "net", "room/r1", day, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	sealed := make([][]byte, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() { ids[i], sealed[i], errs[i] = s.SealNew(ctx, "net", "room/r1", day, []byte("two")) })
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if pt, err := s.Open(ctx, ids[i], sealed[i]); err != nil || string(pt) != "two" {
			t.Fatalf("open: %q %v", pt, err)
		}
	}
	if pt, err := s.Open(ctx, first, sealedFirst); err != nil || string(pt) != "one" {
		t.Fatalf("the scope's first message: %q %v", pt, err)
	}
	var live, days int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.keks WHERE kind = 'scope' AND destroyed_at IS NULL`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.data_keys`).Scan(&days); err != nil {
		t.Fatal(err)
	}
	if live != 1 || days != 1 {
		t.Fatalf("live scope KEKs %d, day keys %d; want the scope's one of each", live, days)
	}
}

// Concurrent first seals of one new scope (a caller wrong about its scope being new) agree on one
// scope KEK and one day key.
func TestSealNewConcurrentInOneNewScope(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	sealed := make([][]byte, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			ids[i], sealed[i], errs[i] = s.SealNew(ctx, "net", "wickr-message/c/m", day, []byte("same scope"))
		})
	}
	wg.Wait()
	fresh := datakeys.New(pool).WithKeyring(ring)
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if pt, err := fresh.Open(ctx, ids[i], sealed[i]); err != nil || string(pt) != "same scope" {
			t.Fatalf("open: %q %v", pt, err)
		}
	}
	var live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.keks WHERE kind = 'scope' AND destroyed_at IS NULL`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 1 {
		t.Fatalf("live scope KEKs %d, want 1", live)
	}
}

// A period another process destroyed seals nothing more here, even while this store still trusts
// it as live (CacheTTL): the keyring refuses to wrap under a KEK it erased.
func TestAPeriodDestroyedElsewhereSealsNothing(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if _, _, err := s.SealNew(ctx, "net", "wickr-message/c/m1", day, []byte("x")); err != nil {
		t.Fatal(err)
	}
	other, err := datakeys.OpenFileKeyring(ring.Path())
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := datakeys.New(pool).WithKeyring(other)
	if _, _, err := elsewhere.DestroyPeriods(ctx, []string{datakeys.PeriodKEKID("net", "wickr-message", day)}); err != nil {
		t.Fatal(err)
	}
	for _, seal := range []func() error{
		func() error { _, _, err := s.SealNew(ctx, "net", "wickr-message/c/m2", day, []byte("y")); return err },
		func() error { _, _, err := s.Seal(ctx, "net", "wickr-message/c/m3", day, []byte("z")); return err },
	} {
		if err := seal(); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("sealing in a destroyed period: %v", err)
		}
	}
	file, err := os.ReadFile(ring.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file, []byte("wickr-message/c/m2/")) {
		t.Fatal("the KEK made for the refused seal's scope is left in the keyring")
	}
}

// Destroying a message's own scope destroys its key and its files' content keys, erases the
// scope's KEK from the keyring without replacing it, and is idempotent.
func TestDestroyOwnScopeLeavesNoKEKBehind(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	id, sealed, err := s.SealNew(ctx, "net", "wickr-message/c/m1", day, []byte("expires"))
	if err != nil {
		t.Fatal(err)
	}
	fileKey, _, err := s.NewContentKey(ctx, "net", "wickr-message/c/m1", day)
	if err != nil {
		t.Fatal(err)
	}
	other, otherSealed, err := s.SealNew(ctx, "net", "wickr-message/c/m2", day, []byte("stays"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DestroyOwnScope(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	fresh := datakeys.New(pool).WithKeyring(ring)
	for _, st := range []*datakeys.Store{s, fresh} {
		if _, err := st.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("the message: %v", err)
		}
		if _, err := st.ContentKey(ctx, fileKey); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("its file's content key: %v", err)
		}
		if pt, err := st.Open(ctx, other, otherSealed); err != nil || string(pt) != "stays" {
			t.Fatalf("another message: %q %v", pt, err)
		}
	}
	file, err := os.ReadFile(ring.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file, []byte("wickr-message/c/m1/")) {
		t.Fatal("a KEK of the destroyed scope is left in the keyring")
	}
	if _, _, err := s.SealNew(ctx, "net", "wickr-message/c/m1", day, []byte("again")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing again in the destroyed scope: %v", err)
	}
}
