package legalhold_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/legalhold"
)

// cancelAfter is a key store that cancels the export's context after n opens: an interruption in
// the middle of a page.
type cancelAfter struct {
	n      *int
	cancel context.CancelFunc
}

func (c cancelAfter) Open(ctx context.Context, _ string, sealed []byte) ([]byte, error) {
	if *c.n--; *c.n < 0 {
		c.cancel()
		return nil, ctx.Err()
	}
	return sealed, nil
}

// TestExportFileResumesToTheSameBytes: an export cut at any byte (a crash between two writes) or
// interrupted after any message (its context cancelled) and run again on the same file gives the
// bytes of an export run once: nothing repeated, nothing skipped.
func TestExportFileResumesToTheSameBytes(t *testing.T) {
	t0 := exportQuery().From
	var all []key
	for i := range 23 {
		c, room := "c", i%3 == 0
		if room {
			c = "r"
		}
		all = append(all, key{at: t0.Add(time.Duration(i/2) * time.Second), container: c, message: fmt.Sprintf("m%02d", i), text: fmt.Sprint("text ", i), isRoom: room})
	}
	src := source{all: all}
	deps := func(keys legalhold.Keys) legalhold.Deps {
		return legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: plain{}, Keys: keys, Attachments: plain{}, Page: 4}
	}
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	if _, _, err := legalhold.New(deps(plain{})).ExportFile(context.Background(), exportQuery(), whole, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(whole)
	part := filepath.Join(dir, "part.jsonl")
	for cut := range len(want) + 1 {
		if err := os.WriteFile(part, want[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := legalhold.New(deps(plain{})).ExportFile(context.Background(), exportQuery(), part, nil); err != nil {
			t.Fatalf("cut at byte %d: %v", cut, err)
		}
		if got, _ := os.ReadFile(part); !bytes.Equal(got, want) {
			t.Fatalf("cut at byte %d: the resumed export differs:\n%s\nwant\n%s", cut, got, want)
		}
	}
	for stop := range len(all) {
		_ = os.Remove(part)
		ctx, cancel := context.WithCancel(context.Background())
		n := stop
		_, _, err := legalhold.New(deps(cancelAfter{n: &n, cancel: cancel})).ExportFile(ctx, exportQuery(), part, nil)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted after %d messages: %v", stop, err)
		}
		if _, _, err := legalhold.New(deps(plain{})).ExportFile(context.Background(), exportQuery(), part, nil); err != nil {
			t.Fatalf("resumed after %d messages: %v", stop, err)
		}
		if got, _ := os.ReadFile(part); !bytes.Equal(got, want) {
			t.Fatalf("interrupted after %d messages: the resumed export differs:\n%s\nwant\n%s", stop, got, want)
		}
	}
}
