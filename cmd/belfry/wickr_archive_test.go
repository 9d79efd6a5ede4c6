package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/wickrarchive"
)

// archiveLines reads every line the data-retention archive wrote for a network, file by file in the
// order they were started, and checks each file's bound.
func archiveLines(t *testing.T, dir, nid string, maxFile int) (lines []wickrarchive.Line, files int) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, nid, "messages", "receivedMessages_*.jsonl"))
	first := func(p string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSuffix(p[strings.LastIndexByte(p, '_')+1:], ".jsonl"), 10, 64)
		return n
	}
	sort.Slice(paths, func(i, j int) bool { return first(paths[i]) < first(paths[j]) })
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var l wickrarchive.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %q: %v", p, sc.Text(), err)
			}
			lines = append(lines, l)
			n++
		}
		if len(body) > maxFile && n > 1 {
			t.Fatalf("%s holds %d bytes in %d lines: over the file size", p, len(body), n)
		}
	}
	return lines, len(paths)
}

// TestWickrDataRetentionArchive: once a network's data-retention bot is created and retention
// enabled, every message of its users' conversations — internal, federated, with a guest — is written
// to the archive in order, once, rotated by size; messages before enabling, after disabling, and of
// networks without retention are not; the archive outlives the network.
func TestWickrDataRetentionArchive(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.SweepEvery = 50 * time.Millisecond
		m.WickrArchiveFileSize = 600
	})
	dir := filepath.Join(b.m.cfg.DataDir, "wickr-retention")
	ctx := context.Background()
	const alice, carol, bob = "alice@dr.example", "carol@dr.example", "bob@other.example"
	nidA, gidA, sA := wickrMsgUsers(t, b, outbox, alice, carol)
	nidB, gidB, sB := wickrMsgUsers(t, b, outbox, bob)
	b.wickrGroup(t, nidA, gidA, `{"federationMode":1,"enableGuestFederation":true}`)
	b.wickrGroup(t, nidB, gidB, `{"federationMode":1}`)
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}
	userOf := func(session string) string {
		_, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "")
		return str(out["User"].(map[string]any)["UserId"])
	}
	conv := func(session, body string) string {
		t.Helper()
		st, out := call("POST", "", session, body)
		if st != 201 {
			t.Fatalf("create %s: %d %v", body, st, out)
		}
		return str(out["Conversation"].(map[string]any)["ConversationId"])
	}
	post := func(session, c, content string) {
		t.Helper()
		if st, out := call("POST", "/"+c+"/messages", session, `{"Content":"`+content+`"}`); st != 201 {
			t.Fatalf("post %s: %d %v", content, st, out)
		}
	}
	dm := conv(sA[alice], `{"Kind":"DM","Members":[{"NetworkId":"`+nidA+`","UserId":"`+userOf(sA[carol])+`"}]}`)
	fed := conv(sB[bob], `{"Kind":"DM","Members":[{"NetworkId":"`+nidA+`","UserId":"`+userOf(sA[alice])+`"}]}`)
	gus, _ := b.guestSignUp(t, "gus@guest.example", "Guest-pass-1")
	withGuest := conv(gus, `{"Kind":"DM","Members":[{"NetworkId":"`+nidA+`","UserId":"`+userOf(sA[carol])+`"}]}`)
	post(sA[alice], dm, "before retention")
	if _, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", sA[carol], ""); out["DataRetentionNotice"] != false {
		t.Fatalf("a notice before retention: %v", out)
	}

	r := b.m.wickr.retention
	if err := r.CreateBot(ctx, b.awsAcct, "us-east-1", nidA); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateChallenge(ctx, b.awsAcct, "us-east-1", nidA); err != nil {
		t.Fatal(err)
	}
	if err := r.Update(ctx, b.awsAcct, "us-east-1", nidA, "ENABLE"); err != nil {
		t.Fatal(err)
	}
	if _, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", sA[carol], ""); out["DataRetentionNotice"] != true {
		t.Fatalf("carol is not shown the data-retention notice: %v", out)
	}
	var want []string
	for i := range 6 {
		c := "internal " + strconv.Itoa(i) + " " + strings.Repeat("x", 40)
		sender := sA[alice]
		if i%2 == 1 {
			sender = sA[carol]
		}
		post(sender, dm, c)
		want = append(want, c)
	}
	post(sB[bob], fed, "federated from B")
	post(gus, withGuest, "from a guest")
	want = append(want, "federated from B", "from a guest")
	if err := r.Update(ctx, b.awsAcct, "us-east-1", nidA, "DISABLE"); err != nil {
		t.Fatal(err)
	}
	post(sA[alice], dm, "after retention")
	// The marker: retention on again, one message; once it is archived, everything before it is.
	if err := r.Update(ctx, b.awsAcct, "us-east-1", nidA, "ENABLE"); err != nil {
		t.Fatal(err)
	}
	markerFile := []byte(strings.Repeat("the marker's file\n", 5000)) // the marker carries a file (guide §8: messages and files)
	if st, out := b.wickrUpload(t, sA[carol], dm, "Name=marker.txt&Content=marker", "text/plain", markerFile); st != 201 {
		t.Fatalf("marker: %d %v", st, out)
	}
	want = append(want, "marker")

	deadline := time.Now().Add(20 * time.Second)
	var lines []wickrarchive.Line
	var files int
	for {
		lines, files = archiveLines(t, dir, nidA, 600)
		if len(lines) > 0 && lines[len(lines)-1].Message == "marker" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var got []string
	for i, l := range lines {
		got = append(got, l.Message)
		if i > 0 && l.Position <= lines[i-1].Position {
			t.Fatalf("line %d out of order or repeated: %+v after %+v", i, l, lines[i-1])
		}
		if l.NetworkID != nidA || l.Time.IsZero() || len(l.Sender) == 0 {
			t.Fatalf("line %+v", l)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("archived:\n%q\nwant:\n%q", got, want)
	}
	if files < 2 {
		t.Fatalf("%d files: the size rotation did not happen", files)
	}
	if l := lines[len(want)-3]; l.Sender["networkId"] != nidB {
		t.Fatalf("the federated message's sender: %+v", l)
	}
	if l := lines[len(want)-2]; l.Sender["guestHash"] == "" {
		t.Fatalf("the guest's message's sender: %+v", l)
	}
	if f := lines[len(lines)-1].File; f == nil || f.Name != "marker.txt" || f.Path != nidA+"/attachments/"+lines[len(lines)-1].MessageID+"/marker.txt" {
		t.Fatalf("the marker's file: %+v", f)
	} else if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil || !bytes.Equal(b, markerFile) {
		t.Fatalf("the archived file: %d bytes, %v", len(b), err)
	}
	if other, _ := archiveLines(t, dir, nidB, 600); len(other) != 0 {
		t.Fatalf("network B has no retention, yet: %+v", other)
	}

	// Deleting the network keeps its archive.
	if st, out := b.wickrAdmin(t, "DELETE", "/networks/"+nidA, ""); st != 200 {
		t.Fatalf("DeleteNetwork: %d %v", st, out)
	}
	time.Sleep(200 * time.Millisecond)
	if after, _ := archiveLines(t, dir, nidA, 600); len(after) != len(lines) {
		t.Fatalf("after the network's deletion: %d lines, had %d", len(after), len(lines))
	}
}
