package datakeys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/belfry/belfry/infra/datakeys"
)

// TestFileKeyringConcurrentCreates: Creates made at once (they share rewrites of the file) each
// answer only once their KEKs are in the file: another process reading it finds every one of them,
// and a KEK created twice keeps its first key.
func TestFileKeyringConcurrentCreates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring")
	a, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	before, err := a.Wrap(ctx, "shared", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = a.Create(ctx, fmt.Sprintf("k%d", i), "shared", fmt.Sprintf("k%d", (i+1)%n)) })
	}
	wg.Wait()
	b, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		if _, err := b.Wrap(ctx, fmt.Sprintf("k%d", i), []byte("x"), nil); err != nil {
			t.Fatalf("k%d is not in the file: %v", i, err)
		}
	}
	if pt, err := b.Unwrap(ctx, "shared", before, nil); err != nil || string(pt) != "x" {
		t.Fatalf("a KEK created again was replaced: %q %v", pt, err)
	}
	if err := a.Create(ctx, "bad id"); err == nil {
		t.Fatal("an id with a space was accepted")
	}
}

// TestFileKeyringCreateAppends: a Create appends to the file (the same file, grown: its cost does
// not grow with the KEKs it holds), a Destroy writes a new file without the destroyed KEK's bytes.
func TestFileKeyringCreateAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring")
	k, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Create(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if err := k.Create(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || after.Size() <= before.Size() {
		t.Fatalf("a Create rewrote the file (same file %v, size %d → %d)", os.SameFile(before, after), before.Size(), after.Size())
	}
	line := keyLine(t, path, "b")
	if err := k.Destroy(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	destroyed, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if os.SameFile(after, destroyed) || bytes.Contains(data, line) {
		t.Fatalf("a destroyed KEK's line is still in the file")
	}
	for _, id := range []string{"a", "c"} {
		if _, err := k.Wrap(ctx, id, []byte("x"), nil); err != nil {
			t.Fatalf("%s after the destroy: %v", id, err)
		}
	}
}

// TestFileKeyringIgnoresATornAppend: a last line a crash cut short (no newline: its Create never
// answered) is ignored by every reader and cut off by the next append, whose KEKs every reader then
// finds.
func TestFileKeyringIgnoresATornAppend(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring")
	k, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Create(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	kept, err := k.Wrap(ctx, "kept", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("torn QUJD"); err != nil { // half a line, as a crash leaves it
		t.Fatal(err)
	}
	f.Close()
	other, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatalf("a keyring with a torn last line: %v", err)
	}
	if _, err := other.Wrap(ctx, "torn", []byte("x"), nil); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("the torn line's KEK: %v, want ErrDestroyed", err)
	}
	if err := other.Create(ctx, "next"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte("torn")) || !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("the append did not cut the torn line off:\n%s", data)
	}
	for _, r := range []*datakeys.FileKeyring{k, other} {
		if pt, err := r.Unwrap(ctx, "kept", kept, nil); err != nil || string(pt) != "x" {
			t.Fatalf("kept: %q %v", pt, err)
		}
		if _, err := r.Wrap(ctx, "next", []byte("x"), nil); err != nil {
			t.Fatalf("next: %v", err)
		}
	}
}

// keyLine is the file's line of KEK id.
func keyLine(t *testing.T, path, id string) []byte {
	t.Helper()
	data, _ := os.ReadFile(path)
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte(id+" ")) {
			return line
		}
	}
	t.Fatalf("no line for %s", id)
	return nil
}

// BenchmarkFileKeyringCreate: one Create (a new KEK, as each Wickr message makes) in a keyring that
// already holds N KEKs; it appends, so its cost does not follow N (a rewrite of the file did).
func BenchmarkFileKeyringCreate(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("holding_%d", n), func(b *testing.B) {
			ctx := context.Background()
			k, err := datakeys.OpenFileKeyring(filepath.Join(b.TempDir(), "keyring"))
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("scope/acct/wickr-message/c/m%07d/0123456789abcdef", i)
			}
			if err := k.Create(ctx, ids...); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				if err := k.Create(ctx, fmt.Sprintf("new-%d", i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
