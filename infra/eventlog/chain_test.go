package eventlog_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventlog/chain"
)

func (e *env) appendN(stream string, n int) {
	e.t.Helper()
	for i := range n {
		ev := esdb.EventData{EventType: "test.happened.v1", ContentType: esdb.ContentTypeJson, Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		if _, err := e.client.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, ev); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) publicKey() ed25519.PublicKey {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, eventlog.PublicKeyFile))
	if err != nil {
		e.t.Fatal(err)
	}
	pub, err := eventlog.ParsePublicKey(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return pub
}

// verify verifies the whole log in one part, and again cut into 2 to 7 parts checked at once,
// which must find exactly the same.
func (e *env) verify() chain.Result {
	e.t.Helper()
	res, err := eventlog.Verify(context.Background(), e.pool, e.publicKey(), eventlog.VerifyRange{Parts: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	for parts := 2; parts <= 7; parts++ {
		cut, err := eventlog.Verify(context.Background(), e.pool, e.publicKey(), eventlog.VerifyRange{Parts: parts})
		if err != nil {
			e.t.Fatal(err)
		}
		if !reflect.DeepEqual(cut, res) {
			e.t.Fatalf("in %d parts:\n%+v\nin one:\n%+v", parts, cut, res)
		}
	}
	return res
}

func kinds(res chain.Result) string {
	var out []string
	for _, p := range res.Problems {
		out = append(out, fmt.Sprintf("%s@%d", p.Kind, p.Position))
	}
	return strings.Join(out, " ")
}

// TestTamperingIsNamed alters one byte of one stored event, deletes one and inserts one, directly in
// PostgreSQL, and checks that verification names each with its position; then rewrites the chain
// consistently after an alteration, which only the signed checkpoint reveals.
func TestTamperingIsNamed(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	e.appendN("orders-1", 30)
	e.appendN("orders-2", 20) // a group of more rows goes through COPY
	_ = e.srv.Close()         // signs a checkpoint at the head (50)
	e.start(eventlog.Config{})
	if res := e.verify(); !res.OK() || res.Rows != 50 || res.SignedUpTo != 50 {
		t.Fatalf("an untouched log verifies: %+v", res)
	}
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE eventlog.events SET data = set_byte(data, 2, get_byte(data, 2) # 1) WHERE position = 7`)
	exec(`DELETE FROM eventlog.events WHERE position = 20`)
	exec(`INSERT INTO eventlog.events (position, stream, revision, event_id, event_type, content_type, created, data, metadata, digest, chain)
		SELECT 51, 'orders-1', 30, $1, event_type, content_type, created, data, metadata, digest, chain FROM eventlog.events WHERE position = 30`, uuid.New())
	res := e.verify()
	want := "altered@7 removed@20 inserted@51"
	if got := kinds(res); got != want {
		t.Fatalf("problems:\n got %s\nwant %s\n%+v", got, want, res.Problems)
	}
	if res.Problems[1].To != 20 {
		t.Fatalf("the removed range: %+v", res.Problems[1])
	}
	// The same findings offline, from an export, with the public key alone.
	dir := t.TempDir()
	if n, err := eventlog.Export(ctx, e.pool, dir, nil); err != nil || n != 50 {
		t.Fatalf("export: %d %v", n, err)
	}
	off, err := eventlog.VerifyExport(dir, e.publicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(off); got != want {
		t.Fatalf("offline:\n got %s\nwant %s", got, want)
	}

	// An attacker who recomputes every digest and chain after altering an event: the links hold, the
	// signed checkpoint does not.
	exec(`DELETE FROM eventlog.events WHERE position = 51`)
	f := startEnv(t, eventlog.Config{})
	f.appendN("ledger", 10)
	_ = f.srv.Close()
	f.start(eventlog.Config{})
	rewrite(t, f, 4)
	if got := kinds(f.verify()); got != "chain-rewritten@10" {
		t.Fatalf("a consistent rewrite is caught at the checkpoint: %s", got)
	}
}

// rewrite changes the event at position pos and recomputes every digest and chain from there.
func rewrite(t *testing.T, e *env, pos uint64) {
	t.Helper()
	ctx := context.Background()
	var base []byte
	if err := e.pool.QueryRow(ctx, `SELECT chain FROM eventlog.events WHERE position = $1`, int64(pos-1)).Scan(&base); err != nil {
		t.Fatal(err)
	}
	head := chain.Hash(base)
	rows, err := e.pool.Query(ctx, `SELECT position, stream, revision, event_id, event_type, content_type, created, data, metadata
		FROM eventlog.events WHERE position >= $1 ORDER BY position`, int64(pos))
	if err != nil {
		t.Fatal(err)
	}
	var evs []chain.Event
	for rows.Next() {
		var ev chain.Event
		var p, r int64
		if err := rows.Scan(&p, &ev.Stream, &r, &ev.EventID, &ev.Type, &ev.ContentType, &ev.Created, &ev.Data, &ev.Metadata); err != nil {
			t.Fatal(err)
		}
		ev.Position, ev.Revision = uint64(p), uint64(r)
		evs = append(evs, ev)
	}
	rows.Close()
	evs[0].Data = []byte(`{"n":999}`)
	for i := range evs {
		d := chain.Digest(&evs[i])
		head = chain.Link(head, d)
		if _, err := e.pool.Exec(ctx, `UPDATE eventlog.events SET data = $2, digest = $3, chain = $4 WHERE position = $1`,
			int64(evs[i].Position), evs[i].Data, d[:], head[:]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOldRowsAreChainedAtStart: rows stored before the chain existed (no digest, no chain) are chained
// when the log opens, and later appends extend that chain.
func TestOldRowsAreChainedAtStart(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	e.appendN("old", 12)
	_ = e.srv.Close()
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE eventlog.events SET digest = NULL, chain = NULL WHERE position > 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM eventlog.checkpoints`); err != nil {
		t.Fatal(err)
	}
	e.start(eventlog.Config{})
	e.appendN("new", 3)
	_ = e.srv.Close()
	e.start(eventlog.Config{})
	if res := e.verify(); !res.OK() || res.Rows != 15 || res.SignedUpTo != 15 {
		t.Fatalf("after chaining the old rows: %+v", res)
	}
}

// TestVerifyInPartsListsWhatOnePassLists: with more findings than are listed (1,500 rows stripped of
// their chain), bad checkpoints among them and rows removed, a verification cut into 2 to 7 parts
// lists and counts exactly what one pass does (verify compares them), and a range given by From and
// To too.
func TestVerifyInPartsListsWhatOnePassLists(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	for i := range 20 {
		evs := make([]esdb.EventData, 100)
		for j := range evs {
			evs[j] = esdb.EventData{EventType: "test.happened.v1", ContentType: esdb.ContentTypeJson, Data: []byte(fmt.Sprintf(`{"n":%d}`, i*100+j))}
		}
		if _, err := e.client.AppendToStream(ctx, fmt.Sprintf("bulk-%d", i), esdb.AppendToStreamOptions{}, evs...); err != nil {
			t.Fatal(err)
		}
	}
	_ = e.srv.Close() // signs a checkpoint at the head
	e.start(eventlog.Config{})
	for _, q := range []string{
		`UPDATE eventlog.events SET digest = NULL WHERE position BETWEEN 300 AND 1799`,
		`DELETE FROM eventlog.events WHERE position BETWEEN 1000 AND 1010 OR position = 1900`,
		`INSERT INTO eventlog.checkpoints (position, chain, signature, key_id) VALUES (1005, '\x00', '\x01', 'x'), (1500, '\x00', '\x01', 'x'), (1950, '\x00', '\x01', 'x')`,
	} {
		if _, err := e.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	res := e.verify()
	if res.Dropped == 0 || len(res.Problems) != chain.DefaultMaxProblems || res.Rows != 1988 {
		t.Fatalf("%d listed, %d more, %d rows", len(res.Problems), res.Dropped, res.Rows)
	}
	var prev uint64
	for _, p := range res.Problems {
		if p.Position < prev {
			t.Fatalf("findings out of position order: %v after %d", p, prev)
		}
		prev = p.Position
	}
	one, err := eventlog.Verify(ctx, e.pool, e.publicKey(), eventlog.VerifyRange{From: 1600, To: 1960, Parts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for parts := 2; parts <= 5; parts++ {
		cut, err := eventlog.Verify(ctx, e.pool, e.publicKey(), eventlog.VerifyRange{From: 1600, To: 1960, Parts: parts})
		if err != nil || !reflect.DeepEqual(cut, one) {
			t.Fatalf("positions 1600-1960 in %d parts (%v):\n%+v\nin one:\n%+v", parts, err, cut, one)
		}
	}
	// No valid checkpoint before 1600: the range is checked from position 1, listing its lowest findings.
	if got := kinds(one); one.Dropped == 0 || !strings.Contains(got, "removed@1000 bad-checkpoint@1005 unchained@1011") {
		t.Fatalf("positions 1600-1960: %d more than listed, %.300s", one.Dropped, got)
	}
}
