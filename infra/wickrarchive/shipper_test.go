package wickrarchive_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/wickrarchive"
	rm "github.com/belfry/belfry/projections/wickrarchive"
)

// items is the archive read model's rows in memory (the projection itself runs in the cmd/belfry
// test); the keys, the shipments table and the directory are the real ones.
type items struct {
	mu   sync.Mutex
	rows []rm.Item
}

func (i *items) Pending(context.Context) (map[string]int64, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]int64{}
	for _, r := range i.rows {
		out[r.NetworkID] = max(out[r.NetworkID], r.Seq)
	}
	return out, nil
}

func (i *items) Items(_ context.Context, networkID string, after int64, limit int) ([]rm.Item, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []rm.Item
	for _, r := range i.rows {
		if r.NetworkID == networkID && r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestMain(m *testing.M) { pgtest.Main(m) }

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// lines reads every file of the network in the order they were started.
func lines(t *testing.T, dir, nid string) ([]wickrarchive.Line, int) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, nid, "messages", "*.jsonl"))
	sort.Strings(paths) // started times, then first positions: one file per second at most here
	var out []wickrarchive.Line
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var l wickrarchive.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
	}
	return out, len(paths)
}

func TestShipperWritesOnceAcrossCrashesAndRotates(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	dir := t.TempDir()
	target := objstore.DirTarget{Dir: dir, Name: "archive"}
	clk := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	src := &items{}
	add := func(seq int64, text string) {
		c, _ := json.Marshal(conversation.Content{Text: text})
		id, sealed, err := keys.Seal(ctx, "n1", "wickr-message/c1/m", clk.t, c)
		if err != nil {
			t.Fatal(err)
		}
		src.mu.Lock()
		src.rows = append(src.rows, rm.Item{NetworkID: "12345678", ConversationID: "c1", MessageID: text, SenderKey: "u:12345678:1",
			KeyID: id, Sealed: sealed, Seq: seq, At: clk.t})
		src.mu.Unlock()
	}
	cfg := wickrarchive.Config{FileSize: 1 << 20, Rotate: 10 * time.Minute, Now: clk.Now}
	ship := func(want int) {
		t.Helper()
		n, err := wickrarchive.New(src, keys, target, pool, cfg).Round(ctx) // a fresh shipper: a restart each time
		if err != nil || n != want {
			t.Fatalf("round: %d lines, %v; want %d", n, err, want)
		}
	}
	for i := int64(1); i <= 3; i++ {
		add(i*10, "m"+string(rune('0'+i)))
	}
	ship(3)
	ship(0) // nothing new: nothing written again

	// A crash after the file was written but before the shipment was recorded: the recorded position
	// goes back; the next round writes nothing twice.
	add(40, "m4")
	ship(1)
	if _, err := pool.Exec(ctx, `UPDATE wickrarchive.shipments SET state = jsonb_set(state, '{shipped}', '30')`); err != nil {
		t.Fatal(err)
	}
	add(50, "m5")
	ship(1)
	got, files := lines(t, dir, "12345678")
	if len(got) != 5 || files != 1 || got[3].Message != "m4" || got[4].Message != "m5" {
		t.Fatalf("after a crash: %d files, %+v", files, got)
	}

	// Rotation by time, then by size; a destroyed key leaves the line without its text.
	clk.t = clk.t.Add(11 * time.Minute)
	add(60, "m6")
	ship(1)
	cfg.FileSize = 200
	for i := int64(7); i <= 9; i++ {
		clk.t = clk.t.Add(time.Second)
		add(i*10, "m"+string(rune('0'+i)))
	}
	src.mu.Lock()
	gone := src.rows[len(src.rows)-1].KeyID
	src.mu.Unlock()
	if err := keys.Destroy(ctx, gone); err != nil {
		t.Fatal(err)
	}
	ship(3)
	got, files = lines(t, dir, "12345678")
	if len(got) != 9 || files < 3 {
		t.Fatalf("rotation: %d lines in %d files", len(got), files)
	}
	for i, l := range got {
		if l.Position != int64(i+1)*10 {
			t.Fatalf("line %d at position %d: order or once broken: %+v", i, l.Position, got)
		}
	}
	if last := got[8]; !last.Unavailable || last.Message != "" {
		t.Fatalf("a message whose key was destroyed: %+v", last)
	}
}

// TestShipperArchivesFiles: a message's file goes, decrypted and byte for byte, under the messages'
// prefix before the line naming it; a file whose key was destroyed first is unavailable and
// written nowhere.
func TestShipperArchivesFiles(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	blobs := blobstore.New(t.TempDir(), pool, keys)
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	src := &items{}
	body := bytes.Repeat([]byte("archived file bytes\n"), 10_000) // several chunks
	post := func(seq int64, mid, name string) attachment.Stored {
		a, err := blobs.Put(ctx, bytes.NewReader(body), attachment.Upload{Tenant: "12345678", Scope: conversation.KeyScope("c1", mid), Day: at,
			Name: name, Max: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "wickr", "c1", mid, "u:12345678:1", "text/plain", at
		if err := blobs.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		c, _ := json.Marshal(conversation.Content{Text: "see " + name, File: name})
		id, sealed, err := keys.Seal(ctx, "12345678", conversation.KeyScope("c1", mid), at, c)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: "12345678", ConversationID: "c1", MessageID: mid, SenderKey: "u:12345678:1",
			KeyID: id, Sealed: sealed, Seq: seq, At: at, ContentType: "text/plain", Size: a.Size})
		return a
	}
	post(10, "m1", "notes.txt")
	gone := post(20, "m2", "secret.txt")
	if err := keys.Destroy(ctx, gone.KeyID); err != nil { // the file's key only (the text's lives on)
		t.Fatal(err)
	}
	dir := t.TempDir()
	ship := wickrarchive.New(src, keys, objstore.DirTarget{Dir: dir, Name: "archive"}, pool, wickrarchive.Config{Files: blobs, Now: func() time.Time { return at }})
	if n, err := ship.Round(ctx); err != nil || n != 2 {
		t.Fatalf("round: %d, %v", n, err)
	}
	got, _ := lines(t, dir, "12345678")
	if len(got) != 2 || got[0].File == nil || got[0].File.Path != "12345678/attachments/m1/notes.txt" || got[0].File.Unavailable {
		t.Fatalf("the file's line: %+v", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "12345678", "attachments", "m1", "notes.txt")); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("the archived file: %d bytes, %v", len(b), err)
	}
	if f := got[1].File; f == nil || !f.Unavailable || f.Path != "" || got[1].Message != "see secret.txt" {
		t.Fatalf("a file whose key was destroyed: %+v", got[1])
	}
	if _, err := os.Stat(filepath.Join(dir, "12345678", "attachments", "m2")); !os.IsNotExist(err) {
		t.Fatalf("a file whose key was destroyed was written: %v", err)
	}
}

// archiveEnv is a migrated database of its own and a data-key store over a keyring file; the pool
// closes when the test ends.
func archiveEnv(t *testing.T) (*pgxpool.Pool, *datakeys.Store) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	ring, err := datakeys.OpenFileKeyring(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	return pool, datakeys.New(pool).WithKeyring(ring)
}

// failingItems is items whose reads of one network fail (its rows unreachable).
type failingItems struct {
	*items
	bad string
}

func (f failingItems) Items(ctx context.Context, networkID string, after int64, limit int) ([]rm.Item, error) {
	if networkID == f.bad {
		return nil, errors.New("connection reset")
	}
	return f.items.Items(ctx, networkID, after, limit)
}

// TestOneNetworkHoldsBackNoOther: a network whose shipping fails is retried next round while the
// others ship in this one, and a message whose content does not decode is archived as unreadable
// instead of holding back every message after it.
func TestOneNetworkHoldsBackNoOther(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	dir := t.TempDir()
	target := objstore.DirTarget{Dir: dir, Name: "archive"}
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	src := &items{}
	add := func(nid string, seq int64, plain []byte, msg string) {
		id, sealed, err := keys.Seal(ctx, nid, "wickr-message/c1/"+msg, at, plain)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: nid, ConversationID: "c1", MessageID: msg, SenderKey: "u:" + nid + ":1",
			KeyID: id, Sealed: sealed, Seq: seq, At: at})
	}
	good, _ := json.Marshal(conversation.Content{Text: "hello"})
	add("11111111", 1, []byte("not json"), "garbled")
	add("11111111", 2, good, "after")
	add("22222222", 3, good, "other")
	add("33333333", 4, good, "unreachable")
	cfg := wickrarchive.Config{FileSize: 1 << 20, Rotate: time.Hour, Now: func() time.Time { return at }}
	n, err := wickrarchive.New(failingItems{items: src, bad: "33333333"}, keys, target, pool, cfg).Round(ctx)
	if n != 3 || err == nil {
		t.Fatalf("round: %d lines, %v; want 3 lines and the unreachable network's error", n, err)
	}
	a, _ := lines(t, dir, "11111111")
	if len(a) != 2 || !a[0].Unavailable || a[0].Unreadable == "" || a[1].Message != "hello" {
		t.Fatalf("the network with an undecodable message: %+v", a)
	}
	if b, _ := lines(t, dir, "22222222"); len(b) != 1 || b[0].Message != "hello" {
		t.Fatalf("another network: %+v", b)
	}
	if n, err := wickrarchive.New(src, keys, target, pool, cfg).Round(ctx); n != 1 || err != nil {
		t.Fatalf("the next round ships the network that failed: %d %v", n, err)
	}
}

// TestArchiveOnAnotherServiceStartsOver: the archive moved to a bucket of the same name on another
// S3-compatible service starts from the first item there (its progress was keyed by the bucket's
// name alone, so the new service got nothing shipped before the move).
func TestArchiveOnAnotherServiceStartsOver(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	clk := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	src := &items{}
	for i := int64(1); i <= 3; i++ {
		c, _ := json.Marshal(conversation.Content{Text: "m"})
		id, sealed, err := keys.Seal(ctx, "n1", "wickr-message/c1/m", clk.t, c)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: "12345678", ConversationID: "c1", MessageID: "m" + string(rune('0'+i)),
			SenderKey: "u:12345678:1", KeyID: id, Sealed: sealed, Seq: i, At: clk.t})
	}
	cfg := wickrarchive.Config{FileSize: 1 << 20, Rotate: 10 * time.Minute, Now: clk.Now}
	for _, name := range []string{"first service", "second service"} {
		backend := s3mem.New()
		srv := httptest.NewServer(gofakes3.New(backend).Server())
		defer srv.Close()
		if err := backend.CreateBucket("compliance"); err != nil {
			t.Fatal(err)
		}
		target := objstore.NewS3Target(objstore.S3Config{Bucket: "compliance", Endpoint: srv.URL, Region: "us-east-1"})
		if n, err := wickrarchive.New(src, keys, target, pool, cfg).Round(ctx); err != nil || n != 3 {
			t.Fatalf("%s: %d lines shipped, %v; want all 3", name, n, err)
		}
	}
}

// TestDamagedContentHoldsBackNothing: a message whose sealed text does not open under its key (its
// bytes damaged) is archived as unreadable, and one whose file's stored bytes are damaged keeps its
// text with the file unreadable and written nowhere: neither holds back the messages after them, round
// after round.
func TestDamagedContentHoldsBackNothing(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	blobDir := t.TempDir()
	blobs := blobstore.New(blobDir, pool, keys)
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	src := &items{}
	add := func(seq int64, mid string, c conversation.Content, size int64) []byte {
		plain, _ := json.Marshal(c)
		id, sealed, err := keys.Seal(ctx, "12345678", conversation.KeyScope("c1", mid), at, plain)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: "12345678", ConversationID: "c1", MessageID: mid, SenderKey: "u:12345678:1",
			KeyID: id, Sealed: sealed, Seq: seq, At: at, ContentType: "text/plain", Size: size})
		return sealed
	}
	garbled := add(10, "m1", conversation.Content{Text: "garbled"}, 0)
	garbled[len(garbled)-1] ^= 1
	body := bytes.Repeat([]byte("damaged file\n"), 10_000)
	a, err := blobs.Put(ctx, bytes.NewReader(body), attachment.Upload{Tenant: "12345678", Scope: conversation.KeyScope("c1", "m2"), Day: at,
		Name: "broken.txt", Max: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "wickr", "c1", "m2", "u:12345678:1", "text/plain", at
	if err := blobs.Record(ctx, a); err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(blobDir, a.Blob[:2], a.Blob)
	raw, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(stored, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	add(20, "m2", conversation.Content{Text: "see broken.txt", File: "broken.txt"}, a.Size)
	add(30, "m3", conversation.Content{Text: "after"}, 0)
	dir := t.TempDir()
	ship := wickrarchive.New(src, keys, objstore.DirTarget{Dir: dir, Name: "archive"}, pool, wickrarchive.Config{Files: blobs, Now: func() time.Time { return at }})
	for round, want := range []int{3, 0} {
		if n, err := ship.Round(ctx); err != nil || n != want {
			t.Fatalf("round %d: %d lines, %v; want %d and no error", round, n, err, want)
		}
	}
	got, _ := lines(t, dir, "12345678")
	if len(got) != 3 || !got[0].Unavailable || got[0].Unreadable == "" || got[0].Message != "" {
		t.Fatalf("the garbled message: %+v", got)
	}
	if f := got[1].File; got[1].Message != "see broken.txt" || f == nil || !f.Unavailable || f.Unreadable == "" || f.Path != "" {
		t.Fatalf("the message whose file is damaged: %+v %+v", got[1], f)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "12345678", "attachments", "m2")); len(left) != 0 {
		t.Fatalf("a damaged file was archived, or part of it: %v", left)
	}
	if got[2].Message != "after" {
		t.Fatalf("the message after them: %+v", got[2])
	}
}

// TestShipperMetrics: the archive's progress is observable: the lines written, the networks whose
// shipping failed, and how many networks are behind after each round.
func TestShipperMetrics(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	src := &items{}
	good, _ := json.Marshal(conversation.Content{Text: "hello"})
	for i, nid := range []string{"11111111", "11111111", "22222222", "33333333"} {
		id, sealed, err := keys.Seal(ctx, nid, "wickr-message/c1/m", at, good)
		if err != nil {
			t.Fatal(err)
		}
		src.rows = append(src.rows, rm.Item{NetworkID: nid, ConversationID: "c1", MessageID: fmt.Sprint("m", i), SenderKey: "u:" + nid + ":1",
			KeyID: id, Sealed: sealed, Seq: int64(i + 1), At: at})
	}
	m := wickrarchive.NewMetrics(prometheus.NewRegistry())
	cfg := wickrarchive.Config{Now: func() time.Time { return at }, Metrics: m}
	target := objstore.DirTarget{Dir: t.TempDir(), Name: "archive"}
	if _, err := wickrarchive.New(failingItems{items: src, bad: "33333333"}, keys, target, pool, cfg).Round(ctx); err == nil {
		t.Fatal("a round with an unreachable network")
	}
	if l, f, b := testutil.ToFloat64(m.Lines), testutil.ToFloat64(m.Failures), testutil.ToFloat64(m.Behind); l != 3 || f != 1 || b != 1 {
		t.Fatalf("after a round with a failure: lines %v, failures %v, networks behind %v", l, f, b)
	}
	if _, err := wickrarchive.New(src, keys, target, pool, cfg).Round(ctx); err != nil {
		t.Fatal(err)
	}
	if l, f, b := testutil.ToFloat64(m.Lines), testutil.ToFloat64(m.Failures), testutil.ToFloat64(m.Behind); l != 4 || f != 1 || b != 0 {
		t.Fatalf("after the round that caught up: lines %v, failures %v, networks behind %v", l, f, b)
	}
}
