package blobstore_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/infra/blobstore"
)

// TestStartExportOncePerPeriod: of concurrent requests of an account only one is recorded; a
// failed export does not count; another account is not held back; the listing is written whole and
// read back, and a made-up export id names no file.
func TestStartExportOncePerPeriod(t *testing.T) {
	ctx := context.Background()
	s, _, dir := newStore(t)
	s = s.WithExports(filepath.Join(dir, "exports"))
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	since := now.Add(-attachment.ExportEvery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for range 8 {
		wg.Go(func() {
			_, ok, err := s.StartExport(ctx, attachment.Export{AccountID: "a1", RequestedBy: "arn", RequestedAt: now}, since)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				started++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("%d concurrent requests recorded, want 1", started)
	}
	list, err := s.Exports(ctx, "a1", 10)
	if err != nil || len(list) != 1 || list[0].Status != attachment.ExportRunning {
		t.Fatalf("exports: %+v %v", list, err)
	}
	e := list[0]
	e.Status, e.Error = attachment.ExportFailed, "disk full"
	if err := s.FinishExport(ctx, e); err != nil {
		t.Fatal(err)
	}
	again, ok, err := s.StartExport(ctx, attachment.Export{AccountID: "a1", RequestedBy: "arn", RequestedAt: now.Add(time.Minute)}, since)
	if err != nil || !ok {
		t.Fatalf("a request after a failed one: %v %v", ok, err)
	}
	if _, ok, _ := s.StartExport(ctx, attachment.Export{AccountID: "a2", RequestedBy: "arn", RequestedAt: now}, since); !ok {
		t.Fatal("another account's request was held back")
	}
	if err := s.WriteListing(again.ExportID, func(w io.Writer) error { _, err := io.WriteString(w, "https://x/1\n"); return err }); err != nil {
		t.Fatal(err)
	}
	r, size, err := s.OpenListing(again.ExportID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "https://x/1\n" || size != int64(len(b)) {
		t.Fatalf("listing: %q %d", b, size)
	}
	for _, bad := range []string{"../../etc/passwd", "not-a-uuid", strings.Repeat("a", 36)} {
		if _, _, err := s.OpenListing(bad); !errors.Is(err, blobstore.ErrNoExport) {
			t.Fatalf("listing %q: %v", bad, err)
		}
	}
}
