package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// wickrUpload posts a file to a Wickr conversation (query: Name=…[&Content=…][&Ttl=…]).
func (r *running) wickrUpload(t *testing.T, session, conv, query, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url+"/client/v1/wickr/conversations/"+conv+"/attachments?"+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// wickrDownload gets a message's file.
func (r *running) wickrDownload(t *testing.T, session, conv, messageID string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/client/v1/wickr/conversations/"+conv+"/messages/"+messageID+"/attachment", nil)
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// blobFiles lists the files under the blob store with whether any holds needle.
func blobFiles(t *testing.T, dir string, needle []byte) (files []string, found bool) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		files = append(files, filepath.Base(p))
		b, _ := os.ReadFile(p)
		found = found || bytes.Contains(b, needle)
		return nil
	})
	return files, found
}

// testWickrFiles (a subtest of TestWickrMessaging, whose server bounds files at 1 MiB): alice posts
// a file with a unique sentinel in her direct message with carol; carol downloads it byte for byte
// while her security group allows file download and is refused (403) once it does not; a non-member
// and an unknown message are 404; hostile uploads store nothing; once the message expires (or, for
// another, burns after carol's read) at the injected clock its file is 404 and its blob and row are
// gone, and the sentinel was never in any file of the blob store.
func testWickrFiles(t *testing.T, b *running, clk *clock, nid, gid, dm, alice, carol, outsider string) {
	sentinel := make([]byte, 16)
	_, _ = rand.Read(sentinel)
	mark := []byte("wickr-file-sentinel-" + hex.EncodeToString(sentinel))
	body := bytes.Repeat(append(mark, '\n'), 3000) // ~170 KB: several chunks
	sum := sha256.Sum256(body)
	st, out := b.wickrUpload(t, alice, dm, "Name=r%C3%A9sum%C3%A9.txt&Content=see+attached&Ttl=60", "text/plain; charset=utf-8", body)
	if st != 201 {
		t.Fatalf("upload: %d %v", st, out)
	}
	msg := out["Message"].(map[string]any)
	mid, att := str(msg["MessageId"]), msg["Attachment"].(map[string]any)
	if att["Sha256"] != hex.EncodeToString(sum[:]) || att["Size"].(float64) != float64(len(body)) || att["Name"] != "résumé.txt" {
		t.Fatalf("the posted file: %v", att)
	}
	if got := messagesOf(t, b, carol, dm)["see attached"]["Attachment"].(map[string]any); got["Download"] != true || got["Name"] != "résumé.txt" {
		t.Fatalf("carol's view: %v", got)
	}
	if st, got := b.wickrDownload(t, carol, dm, mid); st != 200 || !bytes.Equal(got, body) {
		t.Fatalf("carol downloads: %d, %d bytes, equal %v", st, len(got), bytes.Equal(got, body))
	}

	// Not a member, an unknown message: 404. Hostile uploads: refused, naming the field, storing nothing.
	if st, _ := b.wickrDownload(t, outsider, dm, mid); st != 404 {
		t.Fatalf("a non-member downloads: %d", st)
	}
	if st, _ := b.wickrDownload(t, carol, dm, uuid.NewString()); st != 404 {
		t.Fatalf("an unknown message: %d", st)
	}
	pool, err := pgxpool.New(context.Background(), b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows := func() (n int) {
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM blobs.attachments`).Scan(&n)
		return n
	}
	blobDir := filepath.Join(b.m.cfg.DataDir, "blobs")
	before, _ := blobFiles(t, blobDir, mark)
	n := rows()
	for _, c := range []struct {
		session, query string
		body           []byte
		status         int
		field          string
	}{
		{alice, "Name=big.bin", make([]byte, 1<<20+1), 413, "body"},
		{alice, "Name=a%00b.txt", body, 400, "Name"},
		{alice, "Name=%FF%FE.txt", body, 400, "Name"},
		{alice, "Name=..%2Fetc.txt", body, 400, "Name"},
		{alice, "Name=x.txt&Ttl=1h", body, 400, "Ttl"},
		{alice, "Name=x.txt&Ttl=3601", body, 400, "Ttl"},
		{outsider, "Name=x.txt", body, 404, ""},
	} {
		if st, out := b.wickrUpload(t, c.session, dm, c.query, "text/plain", c.body); st != c.status ||
			str(out["Field"]) != c.field && !strings.Contains(str(out["Message"]), `"`+c.field+`"`) {
			t.Fatalf("%s: %d %v, want %d naming %q", c.query, st, out, c.status, c.field)
		}
	}
	if st, out := b.wickrUpload(t, alice, dm, "Name=x.txt", "text/*", body); st != 400 || str(out["Field"]) != "Content-Type" {
		t.Fatalf("a wildcard type: %d %v", st, out)
	}
	if after, _ := blobFiles(t, blobDir, mark); rows() != n || len(after) != len(before) {
		t.Fatalf("refused uploads stored something: %d rows (was %d), files %v (were %v)", rows(), n, after, before)
	}
	var blob string
	if err := pool.QueryRow(context.Background(), `SELECT blob FROM blobs.attachments WHERE message_id = $1`, mid).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if files, found := blobFiles(t, blobDir, mark); found || !slices.Contains(files, blob) {
		t.Fatalf("the blob store holds %v (sentinel in plaintext: %v), want %s among them", files, found, blob)
	}

	// Her group disables file download: preview only.
	b.wickrGroup(t, nid, gid, `{"enableFileDownload":false}`)
	if st, got := b.wickrDownload(t, carol, dm, mid); st != 403 || !strings.Contains(string(got), "enableFileDownload") {
		t.Fatalf("download disabled: %d %s", st, got)
	}
	b.wickrGroup(t, nid, gid, `{"enableFileDownload":true}`)

	// The message expires: its file is gone from the API, the disk and the table.
	gone := func(what, mid, blob string) {
		t.Helper()
		if st, _ := b.wickrDownload(t, carol, dm, mid); st != 404 {
			t.Fatalf("%s: %d", what, st)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var left int
			_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM blobs.attachments WHERE message_id = $1`, mid).Scan(&left)
			files, found := blobFiles(t, blobDir, mark)
			if left == 0 && !slices.Contains(files, blob) && !found {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the blob store holds %v (sentinel: %v), %d rows", what, files, found, left)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	clk.Add(61 * time.Second)
	gone("after expiry", mid, blob)

	// Burn-on-read: 10 s after carol first reads it.
	st, out = b.wickrUpload(t, alice, dm, "Name=burn.txt&Bor=10", "text/plain", append([]byte("burn "), mark...))
	if st != 201 {
		t.Fatalf("upload: %d %v", st, out)
	}
	mid = str(out["Message"].(map[string]any)["MessageId"])
	if err := pool.QueryRow(context.Background(), `SELECT blob FROM blobs.attachments WHERE message_id = $1`, mid).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.wickrClient(t, "POST", "/client/v1/wickr/conversations/"+dm+"/read", carol, `{"MessageIds":["`+mid+`"]}`); st != 204 {
		t.Fatalf("read: %d", st)
	}
	clk.Add(11 * time.Second)
	gone("after burning", mid, blob)
}

// TestWickrMaxFileBytesConfig: BELFRY_WICKR_MAX_FILE_BYTES is a number of bytes from 1 to 5 GB.
func TestWickrMaxFileBytesConfig(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "1048576": true, "5368709120": true, "0": false, "-5": false, "1GB": false, "5368709121": false} {
		t.Setenv("BELFRY_WICKR_MAX_FILE_BYTES", v)
		err := ConfigFromEnv().Validate()
		if bad := err != nil && strings.Contains(err.Error(), "BELFRY_WICKR_MAX_FILE_BYTES"); bad == ok {
			t.Errorf("%q: %v", v, err)
		}
	}
	t.Setenv("BELFRY_WICKR_MAX_FILE_BYTES", "")
	if c := ConfigFromEnv(); c.WickrMaxFileBytes != 100<<20 {
		t.Fatalf("the default: %d", c.WickrMaxFileBytes)
	}
}
