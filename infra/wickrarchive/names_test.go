package wickrarchive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/wickrarchive"
	rm "github.com/belfry/belfry/projections/wickrarchive"
)

// TestALongFileNameHoldsBackNothing: the upload takes a file name of up to 1,020 bytes, more than a
// directory entry holds (255 bytes) and, under a long folder, more than an S3 key (1,024 bytes): the
// file is archived under a shortened name (its extension kept, the line keeping the whole name), and
// neither it nor the messages after it are held back.
func TestALongFileNameHoldsBackNothing(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	blobs := blobstore.New(t.TempDir(), pool, keys)
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	src := &items{}
	body := []byte("the file's bytes")
	add := func(seq int64, mid, name string) {
		var size int64
		if name != "" {
			a, err := blobs.Put(ctx, bytes.NewReader(body), attachment.Upload{Tenant: "12345678", Scope: conversation.KeyScope("c1", mid), Day: at,
				Name: name, Max: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "wickr", "c1", mid, "u:12345678:1", "text/plain", at
			if err := blobs.Record(ctx, a); err != nil {
				t.Fatal(err)
			}
			size = a.Size
		}
		c, _ := json.Marshal(conversation.Content{Text: "text of " + mid, File: name})
		id, sealed, err := keys.Seal(ctx, "12345678", conversation.KeyScope("c1", mid), at, c)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: "12345678", ConversationID: "c1", MessageID: mid, SenderKey: "u:12345678:1",
			KeyID: id, Sealed: sealed, Seq: seq, At: at, ContentType: "text/plain", Size: size})
	}
	long := strings.Repeat("é", 500) + ".pdf" // 1,004 bytes: within the upload's bound
	add(10, "m1", long)
	add(20, "m2", strings.Repeat("a", 300)+".txt")
	add(30, "m3", "")
	dir := t.TempDir()
	folder := strings.Repeat(strings.Repeat("f", 99)+"/", 5) // 500 bytes: the longest folder the configuration takes
	ship := wickrarchive.New(src, keys, objstore.DirTarget{Dir: dir, Name: "archive"}, pool,
		wickrarchive.Config{Prefix: folder, Files: blobs, Now: func() time.Time { return at }})
	if n, err := ship.Round(ctx); err != nil || n != 3 {
		t.Fatalf("round: %d lines, %v; want 3 and no error", n, err)
	}
	got, _ := lines(t, filepath.Join(dir, folder), "12345678")
	if len(got) != 3 || got[2].Message != "text of m3" {
		t.Fatalf("lines: %+v", got)
	}
	for _, l := range got[:2] {
		f := l.File
		if f == nil || f.Unavailable || f.Path == "" || !strings.HasPrefix(f.Name, "é") && !strings.HasPrefix(f.Name, "a") {
			t.Fatalf("the file of %s: %+v", l.MessageID, f)
		}
		base := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
		if len(base) > 255 || len(f.Path) > 1024 || !utf8.ValidString(base) || filepath.Ext(base) != filepath.Ext(f.Name) {
			t.Fatalf("archived as %q (%d bytes, key of %d bytes) for %q", base, len(base), len(f.Path), f.Name)
		}
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil || !bytes.Equal(b, body) {
			t.Fatalf("the archived file of %s: %q %v", l.MessageID, b, err)
		}
	}
	if got[0].File.Name != long {
		t.Fatalf("the line lost the file's name: %q", got[0].File.Name)
	}
}
