package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/belfry/belfry/infra/objstore"
)

// TestDirPutWholeFiles: objects written at once into one directory, then written again over
// themselves, read back whole with their metadata, and leave no temporary file behind.
func TestDirPutWholeFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tgt := objstore.DirTarget{Dir: dir, Name: "cdrs"}
	key := func(i int) string { return fmt.Sprintf("json/2026/11/29/%04d.json", i) }
	for round, body := range []string{"first", "second, longer than the first"} {
		var wg sync.WaitGroup
		errs := make([]error, 64)
		for i := range 64 {
			wg.Go(func() {
				errs[i] = tgt.Put(ctx, key(i), []byte(fmt.Sprintf("%s %d", body, i)), map[string]string{"round": body})
			})
		}
		wg.Wait()
		for i := range 64 {
			if errs[i] != nil {
				t.Fatalf("round %d, put %d: %v", round, i, errs[i])
			}
			b, meta, err := tgt.Get(ctx, key(i))
			if err != nil || string(b) != fmt.Sprintf("%s %d", body, i) || meta["round"] != body {
				t.Fatalf("round %d, object %d: %q %v %v", round, i, b, meta, err)
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".part-") {
			t.Errorf("a temporary file is left: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, key(0))); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
}

// TestDirTargetKeepsKeysInside: a key that would name a file outside the directory (a ".."
// component that leaves it, nothing, the directory itself) is refused by every call, and nothing is
// written beside the directory; a key whose ".." stays inside, or with a leading "/", is a key like
// any other.
func TestDirTargetKeepsKeysInside(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	d := objstore.DirTarget{Dir: filepath.Join(parent, "trail"), Name: "trail"}
	for _, key := range []string{"../escaped", "AWSLogs/1/CloudTrail/../../../../escaped/x.json.gz", "/../escaped", "", ".", "/"} {
		errs := []error{d.Put(ctx, key, []byte("x"), map[string]string{"k": "v"}), d.PutStream(ctx, key, strings.NewReader("x"), 1)}
		_, _, err := d.Get(ctx, key)
		errs = append(errs, err)
		_, err = d.Same(ctx, key, []byte("x"), nil)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, objstore.ErrKeyOutside) {
				t.Errorf("key %q, call %d: %v, want ErrKeyOutside", key, i, err)
			}
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) > 1 {
		t.Fatalf("written beside the directory: %v", entries)
	}
	for _, key := range []string{"a/../b.json", "/belfry/c.json"} {
		if err := d.Put(ctx, key, []byte("x"), nil); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
}
