package eventlog_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestRowsBeforePositionOneAreNamed: a row put at a position the writer never assigns (0 or below)
// is not served by reads of its stream, and verification names it as inserted, online and from an
// export, instead of skipping it because positions start at 1.
func TestRowsBeforePositionOneAreNamed(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	e.appendN("orders-1", 10)
	_ = e.srv.Close() // signs a checkpoint at the head (10)
	ctx := context.Background()
	for _, pos := range []int64{0, -3} {
		rev := 10 - pos // the next revisions of the stream
		if _, err := e.pool.Exec(ctx, `INSERT INTO eventlog.events (position, stream, revision, event_id, event_type, content_type, created, data, metadata, digest, chain)
			SELECT $1, stream, $2, $3, event_type, content_type, created, '{"n":999}', metadata, digest, chain FROM eventlog.events WHERE position = 10`,
			pos, rev, uuid.New()); err != nil {
			t.Fatal(err)
		}
	}
	e.start(eventlog.Config{})
	// The forged rows are not served to the stream's readers.
	rs, err := e.client.ReadStream(ctx, "orders-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	rs.Close()
	if n != 10 {
		t.Fatalf("the stream reads %d events, want the 10 the log wrote", n)
	}
	res := e.verify()
	if got := kinds(res); got != "inserted@0 inserted@0" || res.Rows != 12 {
		t.Fatalf("rows outside the log's positions: %q, %+v", got, res)
	}
	if !strings.Contains(res.Problems[0].Detail, "-3") || !strings.Contains(res.Problems[1].Detail, "position 0") {
		t.Fatalf("the findings name the stored positions: %+v", res.Problems)
	}
	dir := t.TempDir()
	if _, err := eventlog.Export(ctx, e.pool, dir, nil); err != nil {
		t.Fatal(err)
	}
	off, err := eventlog.VerifyExport(dir, e.publicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(off); got != "inserted@0 inserted@0" {
		t.Fatalf("offline: %q %+v", got, off.Problems)
	}
}
