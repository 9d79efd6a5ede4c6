package blobstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) (*blobstore.Store, *datakeys.Store, string) {
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
	keys := datakeys.New(pool).WithKeyring(ring)
	dir := t.TempDir()
	return blobstore.New(dir, pool, keys), keys, dir
}

// files lists the regular files under dir with their contents.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoundTripSizesAndShred stores attachments of sizes around the chunk boundaries, reads each back
// byte for byte, finds no plaintext on disk, addresses each file by the SHA-256 of its content, and
// after a shred finds neither the attachment nor its file.
func TestRoundTripSizesAndShred(t *testing.T) {
	ctx := context.Background()
	s, keys, dir := newStore(t)
	day := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sentinel := []byte("sentinel-" + hex.EncodeToString(make([]byte, 8)))
	var stored []blobstore.Attachment
	var want [][]byte
	for _, n := range []int{0, 1, blobstore.ChunkSize - 1, blobstore.ChunkSize, blobstore.ChunkSize + 1, 3*blobstore.ChunkSize + 17} {
		body := make([]byte, n)
		_, _ = rand.Read(body)
		if n > len(sentinel) {
			copy(body[n/2:], sentinel)
		}
		a, err := s.Put(ctx, bytes.NewReader(body), blobstore.Upload{Tenant: "acct", Scope: "room/r1", Day: day, Name: "f.bin", Max: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "room", "r1", "m", "u", "application/octet-stream", day
		if err := s.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.Size != int64(n) {
			t.Fatalf("size %d, want %d", a.Size, n)
		}
		stored, want = append(stored, a), append(want, body)
	}
	for i, a := range stored {
		r, err := s.Open(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Fatalf("attachment %d of %d bytes: read %d bytes, %v", i, len(want[i]), len(got), err)
		}
		m, err := s.Meta(ctx, a)
		sum := sha256.Sum256(want[i])
		if err != nil || m.Name != "f.bin" || m.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("meta %+v %v", m, err)
		}
	}
	for p, b := range files(t, dir) {
		if bytes.Contains(b, sentinel) {
			t.Fatalf("plaintext in %s", p)
		}
		sum := sha256.Sum256(b)
		if filepath.Base(p) != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s is not named by its SHA-256", p)
		}
	}
	// A damaged file does not open.
	p := filepath.Join(dir, stored[5].Blob[:2], stored[5].Blob)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)-20], 0o600); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Open(ctx, stored[5])
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("a truncated blob read without error")
	}
	// Shredding the message's attachments destroys their keys and deletes their files and rows.
	if err := s.ShredMessage(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left after the shred: %v", len(f))
	}
	if _, err := s.Get(ctx, "r1", stored[1].AttachmentID); !errors.Is(err, blobstore.ErrGone) {
		t.Fatalf("get after the shred: %v", err)
	}
	if _, err := keys.ContentKey(ctx, stored[1].KeyID); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("key after the shred: %v", err)
	}
}

// TestTooLargeLeavesNothing refuses an upload over its bound and leaves no file and no live key.
func TestTooLargeLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, _, dir := newStore(t)
	_, err := s.Put(ctx, bytes.NewReader(make([]byte, 1001)), blobstore.Upload{Tenant: "a", Scope: "room/r", Day: time.Now(), Max: 1000})
	if !errors.Is(err, blobstore.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
	if _, err := s.Put(ctx, bytes.NewReader(make([]byte, 1000)), blobstore.Upload{Tenant: "a", Scope: "room/r", Day: time.Now(), Max: 1000}); err != nil {
		t.Fatalf("exactly the bound: %v", err)
	}
}

// TestPurgedDaySweeps: destroying the day's period (retention) makes the attachment unreadable and
// the sweep deletes its file.
func TestPurgedDaySweeps(t *testing.T) {
	ctx := context.Background()
	s, keys, dir := newStore(t)
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	a, err := s.Put(ctx, bytes.NewReader([]byte("hello")), blobstore.Upload{Tenant: "acct", Scope: "room/r", Day: day, Name: "a.txt", Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "room", "r", "m", "u", "text/plain", day
	if err := s.Record(ctx, a); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx, 10); err != nil || n != 0 {
		t.Fatalf("sweep of live attachments: %d %v", n, err)
	}
	periods, err := keys.LivePeriods(ctx, "acct", "room", day.AddDate(0, 0, 1))
	if err != nil || len(periods) != 1 {
		t.Fatalf("periods %v %v", periods, err)
	}
	if _, _, err := keys.DestroyPeriods(ctx, periods); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, a); !errors.Is(err, blobstore.ErrGone) {
		t.Fatalf("open after the purge: %v", err)
	}
	if n, err := s.Sweep(ctx, 10); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
}
