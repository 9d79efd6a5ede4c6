package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// envOf is an environment lookup over a map (the defaults of the rest).
func envOf(vars map[string]string) func(k, def string) string {
	return func(k, def string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return def
	}
}

// TestWickrArchiveToAConfiguredBucket: with the bot's variables naming a bucket and a folder
// (WICKRIO_S3_BUCKET_NAME, WICKRIO_S3_FOLDER_NAME, WICKRIO_COMP_BASENAME) and an S3-compatible
// endpoint, a retained network's messages and their files land in that bucket under that folder,
// together, and nothing is written to the default directory. The bucket is missing at first: a
// message that expires before the archive can ship it is gone from the API at its expiry, and still
// archived with its text once the bucket exists (its key waits for the archive).
func TestWickrArchiveToAConfiguredBucket(t *testing.T) {
	backend := s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDARCHIVE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "archive-secret")
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.SweepEvery = 50 * time.Millisecond
		m.cfg.WickrArchive = wickrArchiveConfigFromEnv(envOf(map[string]string{"WICKRIO_S3_BUCKET_NAME": "bot-compliance",
			"WICKRIO_S3_FOLDER_NAME": "/network1234567890/", "WICKRIO_COMP_BASENAME": "dr", "BELFRY_WICKR_ARCHIVE_S3_ENDPOINT": s3srv.URL}),
			m.cfg.DataDir, "us-east-1")
		if err := m.cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	const alice, carol = "alice@s3dr.example", "carol@s3dr.example"
	nid, _, s := wickrMsgUsers(t, b, outbox, alice, carol)
	r := b.m.wickr.retention
	for _, step := range []func() error{
		func() error { return r.CreateBot(ctx, b.awsAcct, "us-east-1", nid) },
		func() error { _, err := r.CreateChallenge(ctx, b.awsAcct, "us-east-1", nid); return err },
		func() error { return r.Update(ctx, b.awsAcct, "us-east-1", nid, "ENABLE") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	_, me := b.wickrClient(t, "GET", "/client/v1/wickr/me", s[carol], "")
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations", s[alice],
		`{"Kind":"DM","Members":[{"NetworkId":"`+nid+`","UserId":"`+str(me["User"].(map[string]any)["UserId"])+`"}]}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	conv := str(out["Conversation"].(map[string]any)["ConversationId"])
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations/"+conv+"/messages", s[alice], `{"Content":"to the bucket","Ttl":1}`); st != 201 {
		t.Fatalf("post: %d %v", st, out)
	}
	waitFor(t, func() bool { return messagesOf(t, b, s[carol], conv)["to the bucket"] == nil })
	time.Sleep(500 * time.Millisecond) // sweeps of expired messages (every 50 ms) pass while the bucket is missing
	if err := backend.CreateBucket("bot-compliance"); err != nil {
		t.Fatal(err)
	}
	file := []byte(strings.Repeat("archived bytes\n", 100))
	st, out = b.wickrUpload(t, s[carol], conv, "Name=notes.txt&Content=with+a+file", "text/plain", file)
	if st != 201 {
		t.Fatalf("upload: %d %v", st, out)
	}
	msgID := str(out["Message"].(map[string]any)["MessageId"])

	prefix := "network1234567890/" + nid + "/"
	var lines, fileBody []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lines, fileBody = nil, nil
		objs, err := backend.ListBucket("bot-compliance", &gofakes3.Prefix{Prefix: prefix, HasPrefix: true}, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs.Contents {
			body := getObject(t, backend, o.Key)
			switch {
			case strings.HasPrefix(o.Key, prefix+"messages/dr_") && strings.HasSuffix(o.Key, ".jsonl"):
				lines = append(lines, body...)
			case o.Key == prefix+"attachments/"+msgID+"/notes.txt":
				fileBody = body
			default:
				t.Fatalf("unexpected object %q", o.Key)
			}
		}
		if bytes.Contains(lines, []byte("with a file")) {
			break
		}
	}
	if !bytes.Contains(lines, []byte(`"to the bucket"`)) || !bytes.Contains(lines, []byte(`"path":"`+prefix+"attachments/"+msgID+`/notes.txt"`)) {
		t.Fatalf("the archived lines:\n%s", lines)
	}
	if !bytes.Equal(fileBody, file) {
		t.Fatalf("the archived file: %d bytes", len(fileBody))
	}
	if _, err := os.Stat(filepath.Join(b.m.cfg.DataDir, "wickr-retention")); !os.IsNotExist(err) {
		t.Fatalf("the default directory was written: %v", err)
	}
}

func getObject(t *testing.T, backend *s3mem.Backend, key string) []byte {
	t.Helper()
	obj, err := backend.GetObject("bot-compliance", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Contents.Close()
	body, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestConfigChecksTheWickrArchiveSettings: each bad value of the archive's variables is refused with
// a message naming the variable; good ones pass.
func TestConfigChecksTheWickrArchiveSettings(t *testing.T) {
	t.Parallel()
	base := Config{DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:2113", HTTPAddr: "127.0.0.1:8080", Region: "us-east-1"}
	for env, name := range map[string]string{
		"WICKRIO_S3_BUCKET_NAME=Bad_Bucket":           "WICKRIO_S3_BUCKET_NAME",
		"WICKRIO_S3_FOLDER_NAME=a/../b":               "WICKRIO_S3_FOLDER_NAME",
		"WICKRIO_S3_FOLDER_NAME=a\x00b":               "WICKRIO_S3_FOLDER_NAME",
		"WICKRIO_COMP_BASENAME=../x":                  "WICKRIO_COMP_BASENAME",
		"WICKRIO_COMP_FILESIZE=1000000000":            "WICKRIO_COMP_FILESIZE",
		"WICKRIO_COMP_FILESIZE=0":                     "WICKRIO_COMP_FILESIZE",
		"WICKRIO_COMP_TIMEROTATE=-1":                  "WICKRIO_COMP_TIMEROTATE",
		"WICKRIO_COMP_TIMEROTATE=ten":                 "WICKRIO_COMP_TIMEROTATE",
		"BELFRY_WICKR_ARCHIVE_S3_ENDPOINT=http://x:9": "BELFRY_WICKR_ARCHIVE_S3_ENDPOINT",
	} {
		k, v, _ := strings.Cut(env, "=")
		c := base
		c.WickrArchive = wickrArchiveConfigFromEnv(envOf(map[string]string{k: v}), c.DataDir, c.Region)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v", env, err)
		}
	}
	c := base
	c.WickrArchive = wickrArchiveConfigFromEnv(envOf(map[string]string{"WICKRIO_S3_BUCKET_NAME": "bot-compliance",
		"WICKRIO_S3_FOLDER_NAME": "network1234567890", "WICKRIO_COMP_FILESIZE": "2048", "WICKRIO_COMP_TIMEROTATE": "10"}), c.DataDir, c.Region)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if a := c.WickrArchive; a.prefix() != "network1234567890/" || a.fileSize() != 2<<20 || a.rotate() != 10*time.Minute ||
		a.target(c.DataDir).String() != "s3://bot-compliance" {
		t.Fatalf("%+v", a)
	}
}
