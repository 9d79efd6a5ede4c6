package datakeys_test

import (
	"context"
	"fmt"
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
