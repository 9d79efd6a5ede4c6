package projections_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/projections"
)

// notesV1 is the notes read model with a secondary index (a snapshot build defers it).
type notesV1 struct{ *notes }

func (n notesV1) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	if err := n.notes.Setup(ctx, tx, schema); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "CREATE INDEX ON "+schema+".notes (stream)")
	return err
}

// notesV2 is the next schema version of the notes read model: its table gains a column, which its
// Apply writes.
type notesV2 struct{ *notes }

func (n notesV2) Version() int { return 2 }
func (n notesV2) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, "CREATE TABLE "+schema+".notes (position bigint PRIMARY KEY, stream text NOT NULL, body jsonb NOT NULL, size int NOT NULL); CREATE INDEX ON "+schema+".notes (stream)")
	return err
}
func (n notesV2) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	b.Queue("INSERT INTO "+schema+".notes (position, stream, body, size) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		int64(ev.Position.Commit), ev.StreamID, ev.Data, len(ev.Data))
	return nil
}

// TestSnapshotOfAnotherReadModelVersionIsNeitherServedNorResumed: a snapshot built by a version of
// the code whose read models had another schema is not what the stores of this version can read,
// and a build resumed by this version would apply its statements to the other version's tables
// (each failing event skipped as unappliable: a "ready" snapshot missing rows). Serving refuses it,
// and building it again starts it over under this version's schema.
func TestSnapshotOfAnotherReadModelVersionIsNeitherServedNorResumed(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	pos := appendRaw(t, client, "note-v", "note", []byte(`{"n":1}`), []byte(`{"n":2}`))
	v1 := &notes{name: "vnotes"}
	old := projections.NewSnapshots(pool, client, []projections.Projection{notesV1{v1}})
	if _, err := old.Create(ctx, "vsnap", strconv.FormatUint(pos[1], 10)); err != nil {
		t.Fatal(err)
	}
	if err := old.Build(ctx, "vsnap", nil); err != nil {
		t.Fatal(err)
	}

	// The code is upgraded: the read model's schema is version 2.
	cur := projections.NewSnapshots(pool, client, []projections.Projection{notesV2{v1}})
	if _, err := cur.Serving(ctx, "vsnap"); !errors.Is(err, projections.ErrSnapshotNotReady) || domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("a snapshot of another read-model version must not be served: %v", err)
	}
	if err := cur.Build(ctx, "vsnap", nil); err != nil {
		t.Fatal(err)
	}
	sn, err := cur.Get(ctx, "vsnap")
	if err != nil || sn.Status != projections.SnapshotReady || sn.Parked != 0 {
		t.Fatalf("after building it again: %+v %v", sn, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(size) FROM snap_vsnap.notes").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows of the version 2 table: %d %v", n, err)
	}
	if _, err := cur.Serving(ctx, "vsnap"); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotOfReadModelsWithoutSecondaryIndexes: a snapshot of read models that have no index to
// defer is built like any other (its list of deferred indexes is empty, never NULL).
func TestSnapshotOfReadModelsWithoutSecondaryIndexes(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	pos := appendRaw(t, client, "note-plain", "note", []byte(`{"n":1}`))
	s := projections.NewSnapshots(pool, client, []projections.Projection{&notes{name: "plainnotes"}})
	if _, err := s.Create(ctx, "plainsnap", strconv.FormatUint(pos[0], 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Build(ctx, "plainsnap", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Serving(ctx, "plainsnap"); err != nil {
		t.Fatalf("a snapshot without secondary indexes: %v", err)
	}
}
