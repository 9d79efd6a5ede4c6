package eventlog

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
)

func proposed(n int) []Proposed {
	out := make([]Proposed, n)
	for i := range out {
		out[i] = Proposed{EventID: uuid.New(), Type: "t", ContentType: "application/json", Data: []byte(`{}`), Metadata: []byte{}}
	}
	return out
}

// A forward read from past the end of a stream this Log appended to is answered without Postgres;
// an append is seen by the next read; a stream whose metadata or tombstone changes what a read
// answers is always read from Postgres.
func TestReadsPastAKnownEndAskNothing(t *testing.T) {
	ctx := context.Background()
	l, pool := openTestLog(t, LogConfig{})
	appendN := func(stream string, n int) {
		t.Helper()
		if _, err := l.Append(ctx, stream, Expect{Kind: ExpectAny}, proposed(n)); err != nil {
			t.Fatal(err)
		}
	}
	appendN("plain", 3)
	if recs, err := l.ReadStream(ctx, "plain", true, 3, 10, 0); err != nil || len(recs) != 0 {
		t.Fatalf("past the end: %d records, %v", len(recs), err)
	}
	appendN("plain", 1)
	if recs, err := l.ReadStream(ctx, "plain", true, 3, 10, 0); err != nil || len(recs) != 1 || recs[0].Revision != 3 {
		t.Fatalf("the append just answered: %+v, %v", recs, err)
	}
	// A soft-deleted stream is not found, past its end too.
	appendN("deleted", 2)
	if _, err := l.Delete(ctx, "deleted", Expect{Kind: ExpectAny}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ReadStream(ctx, "deleted", true, 5, 10, 0); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("a soft-deleted stream past its end: %v", err)
	}
	appendN("tombstoned", 2)
	if _, err := l.Tombstone(ctx, "tombstoned", Expect{Kind: ExpectAny}); err != nil {
		t.Fatal(err)
	}
	var deleted *StreamDeletedError
	if _, err := l.ReadStream(ctx, "tombstoned", true, 5, 10, 0); !errors.As(err, &deleted) {
		t.Fatalf("a tombstoned stream past its end: %v", err)
	}
	// What is known is answered from memory: with the table gone, only a read that needs it fails.
	if _, err := pool.Exec(ctx, `ALTER TABLE eventlog.events RENAME TO events_elsewhere`); err != nil {
		t.Fatal(err)
	}
	if recs, err := l.ReadStream(ctx, "plain", true, 4, 10, 0); err != nil || len(recs) != 0 {
		t.Fatalf("past the known end with the table gone: %d records, %v", len(recs), err)
	}
	if _, err := l.ReadStream(ctx, "plain", true, 0, 10, 0); err == nil {
		t.Fatal("a read of events must ask the table")
	}
	if _, err := l.ReadStream(ctx, "deleted", true, 5, 10, 0); err == nil || errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("a stream with metadata must be read from the table: %v", err)
	}
}
