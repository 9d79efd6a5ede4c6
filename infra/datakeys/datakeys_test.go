package datakeys_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func store(t *testing.T) (*datakeys.Store, *pgxpool.Pool) {
	t.Helper()
	s, pool, _ := storeWithRing(t)
	return s, pool
}

// storeWithRing returns a store over a fresh database with a keyring file in a temporary directory.
func storeWithRing(t testing.TB) (*datakeys.Store, *pgxpool.Pool, *datakeys.FileKeyring) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	ring, err := datakeys.OpenFileKeyring(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	return datakeys.New(pool).WithKeyring(ring), pool, ring
}

func TestSealOpenAndDestroy(t *testing.T) {
	ctx := context.Background()
	s, pool := store(t)
	day := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	id, sealed, err := s.Seal(ctx, "acct", "room/r1", day, []byte("secret plans"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) || !strings.HasPrefix(id, "msg/acct/room/r1/2026-11-23/") {
		t.Fatalf("sealed %q under %s", sealed, id)
	}
	again, sealed2, _ := s.Seal(ctx, "acct", "room/r1", day.Add(time.Hour), []byte("secret plans"))
	if again == id || bytes.Equal(sealed, sealed2) {
		t.Fatal("a key per message")
	}
	if next, _, _ := s.Seal(ctx, "acct", "room/r1", day.Add(3*time.Hour), []byte("x")); !strings.HasPrefix(next, "msg/acct/room/r1/2026-11-24/") {
		t.Fatalf("the next UTC day's message: %s", next)
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
	// Destroying the day key destroys every message of the day, in this store and any other.
	if err := s.Destroy(ctx, datakeys.KeyID("acct", "room/r1", day)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{id, again} {
		if _, err := s.Open(ctx, k, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("after destruction: %v", err)
		}
	}
	other := datakeys.New(pool)
	if _, err := other.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("another store after destruction: %v", err)
	}
	if _, err := other.Open(ctx, "msg/acct/room/r9/2026-11-23/x", sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("an unknown key: %v", err)
	}
	if _, _, err := s.Seal(ctx, "acct", "room/r1", day, []byte("again")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing under a destroyed day key: %v", err)
	}
}

func TestSubjectKeysShredCredentials(t *testing.T) {
	ctx := context.Background()
	s, pool := store(t)
	hash := []byte("$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
	sealed, err := s.SealFor(ctx, "acct", "user/u1", hash)
	if err != nil {
		t.Fatal(err)
	}
	if sealed.KeyID != domain.SubjectKeyID("acct", "user/u1") || bytes.Contains(sealed.Data, []byte("$2a$")) {
		t.Fatalf("sealed %+v", sealed)
	}
	pin, _ := s.SealFor(ctx, "acct", "user/u1", []byte("0123456789"))
	other, _ := s.SealFor(ctx, "acct", "user/u2", []byte("9876543210"))
	if pin.KeyID != sealed.KeyID || other.KeyID == sealed.KeyID {
		t.Fatal("one key per subject")
	}
	// A page of credentials: one query warms every key a fresh store has not cached.
	fresh := datakeys.New(pool)
	if err := fresh.Warm(ctx, []string{sealed.KeyID, other.KeyID, "subject/acct/user/never", ""}); err != nil {
		t.Fatal(err)
	}
	if pt, err := fresh.OpenSealed(ctx, other); err != nil || string(pt) != "9876543210" {
		t.Fatalf("open: %q %v", pt, err)
	}
	// Sealed under one subject, the ciphertext does not open under another's key id.
	if _, err := s.Open(ctx, other.KeyID, sealed.Data); err == nil || errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("swapped key id: %v", err)
	}
	if err := s.DestroySubject(ctx, "acct", "user/u1"); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*datakeys.Store{s, datakeys.New(pool)} {
		for _, c := range []domain.Sealed{sealed, pin} {
			if _, err := st.OpenSealed(ctx, c); !errors.Is(err, datakeys.ErrDestroyed) {
				t.Fatalf("after destruction: %v", err)
			}
		}
	}
	// The key bytes are gone from the database, and a deleted subject never gets a key again.
	var k []byte
	if err := pool.QueryRow(ctx, `SELECT key FROM keys.subject_keys WHERE key_id = $1`, sealed.KeyID).Scan(&k); err != nil || k != nil {
		t.Fatalf("key bytes after destruction: %x %v", k, err)
	}
	if _, err := s.SealFor(ctx, "acct", "user/u1", []byte("again")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing for a destroyed subject: %v", err)
	}
	if err := s.DestroySubject(ctx, "acct", "user/never-sealed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SealFor(ctx, "acct", "user/never-sealed", []byte("x")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("a subject destroyed before its first seal: %v", err)
	}
	if pt, err := s.OpenSealed(ctx, other); err != nil || string(pt) != "9876543210" {
		t.Fatalf("another subject's credential: %q %v", pt, err)
	}
	// Evict makes a destruction done by another path (a projection's SQL) effective here at once.
	if _, err := pool.Exec(ctx, `UPDATE keys.subject_keys SET key = NULL WHERE key_id = $1`, other.KeyID); err != nil {
		t.Fatal(err)
	}
	s.Evict("subject/acct/")
	if _, err := s.OpenSealed(ctx, other); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("after evict: %v", err)
	}
}

func TestIndexIsKeyedAndStable(t *testing.T) {
	ctx := context.Background()
	s, pool := store(t)
	a, err := s.Index(ctx, "pin", []byte("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := datakeys.New(pool).Index(ctx, "pin", []byte("0123456789"))
	c, _ := s.Index(ctx, "pin", []byte("0123456780"))
	plain := sha256.Sum256([]byte("0123456789"))
	if a != b || a == c || len(a) != 64 || a == hex.EncodeToString(plain[:]) {
		t.Fatalf("index: %s %s %s", a, b, c)
	}
}
