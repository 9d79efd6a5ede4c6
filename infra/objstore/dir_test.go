package objstore_test

import (
	"context"
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
