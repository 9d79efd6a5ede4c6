package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/blobstore"
)

// TestSweepGoesPastAFileItCannotRemove: the retention purge's sweep meets a file it cannot remove
// (here a directory stands at its path). The files and rows of every other purged attachment go all
// the same — those after it too, whatever the batch size — and the error names the one left, whose
// row stays for the next sweep, which removes it once it can.
func TestSweepGoesPastAFileItCannotRemove(t *testing.T) {
	ctx := context.Background()
	s, keys, dir := newStore(t)
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	var all []blobstore.Attachment
	for i := range 3 {
		a, err := s.Put(ctx, bytes.NewReader([]byte{byte('a' + i)}), blobstore.Upload{Tenant: "acct", Scope: "room/r", Day: day, Name: "f.txt", Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "room", "r", "m", "u", "text/plain", day
		if err := s.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b blobstore.Attachment) int { return strings.Compare(a.AttachmentID, b.AttachmentID) })
	stuck := filepath.Join(dir, all[0].Blob[:2], all[0].Blob) // the first the sweep meets
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stuck, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	periods, err := keys.LivePeriods(ctx, "acct", "room", day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.DestroyPeriods(ctx, periods); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep(ctx, 1)
	if n != 2 || err == nil || !strings.Contains(err.Error(), all[0].AttachmentID) {
		t.Fatalf("sweep past a file it cannot remove: %d, %v", n, err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
	if err := os.RemoveAll(stuck); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx, 1); n != 1 || err != nil {
		t.Fatalf("the next sweep: %d, %v", n, err)
	}
}

// TestSweepMessageReportsOnlyItsFiles: a redaction's sweep (SweepMessage) deletes the files and rows of
// its message's attachments whose keys are gone, and only those: another message's attachment whose
// key is gone and whose file cannot be removed is neither named in its error nor touched (it is the
// retention purge's sweep's), and an attachment of the message whose key lives stays.
func TestSweepMessageReportsOnlyItsFiles(t *testing.T) {
	ctx := context.Background()
	s, keys, dir := newStore(t)
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	put := func(msg string) blobstore.Attachment {
		a, err := s.Put(ctx, bytes.NewReader([]byte(msg)), blobstore.Upload{Tenant: "acct", Scope: "room/r", Day: day, Name: "f.txt", Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "room", "r", msg, "u", "text/plain", day
		if err := s.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	other, mine, live := put("other"), put("mine"), put("mine")
	for _, a := range []blobstore.Attachment{other, mine} {
		if err := keys.ShredMessage(ctx, a.KeyID); err != nil {
			t.Fatal(err)
		}
	}
	stuck := filepath.Join(dir, other.Blob[:2], other.Blob)
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stuck, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepMessage(ctx, "mine"); n != 1 || err != nil {
		t.Fatalf("the message's sweep: %d, %v", n, err)
	}
	if _, err := s.Find(ctx, mine.AttachmentID); !errors.Is(err, blobstore.ErrGone) {
		t.Fatalf("the swept attachment: %v", err)
	}
	for _, a := range []blobstore.Attachment{other, live} {
		if _, err := s.Find(ctx, a.AttachmentID); err != nil {
			t.Fatalf("an attachment the message's sweep must leave: %v", err)
		}
	}
	if n, err := s.Sweep(ctx, 10); n != 0 || err == nil || !strings.Contains(err.Error(), other.AttachmentID) {
		t.Fatalf("the purge's sweep still names the other file: %d, %v", n, err)
	}
}
