package datakeys_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func store(t *testing.T) (*datakeys.Store, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return datakeys.New(pool), pool
}

func TestSealOpenAndDestroy(t *testing.T) {
	ctx := context.Background()
	s, pool := store(t)
	day := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	id, sealed, err := s.Seal(ctx, "acct", "room/r1", day, []byte("secret plans"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) || id != "acct/room/r1/2026-11-23" {
		t.Fatalf("sealed %q under %s", sealed, id)
	}
	again, sealed2, _ := s.Seal(ctx, "acct", "room/r1", day.Add(time.Hour), []byte("secret plans"))
	if again != id || bytes.Equal(sealed, sealed2) {
		t.Fatal("one key per day, a fresh nonce per message")
	}
	if next, _, _ := s.Seal(ctx, "acct", "room/r1", day.Add(3*time.Hour), []byte("x")); next == id {
		t.Fatal("the next UTC day has its own key")
	}
	pt, err := s.Open(ctx, id, sealed)
	if err != nil || string(pt) != "secret plans" {
		t.Fatalf("open: %q %v", pt, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(ctx, id, tampered); err == nil {
		t.Fatal("tampered content must not open")
	}
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("after destruction: %v", err)
	}
	// Another process (a fresh store, no cache) sees the destruction too; an unknown key opens nothing.
	other := datakeys.New(pool)
	if _, err := other.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("another store after destruction: %v", err)
	}
	if _, err := other.Open(ctx, "acct/room/r9/2026-11-23", sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("an unknown key: %v", err)
	}
}
