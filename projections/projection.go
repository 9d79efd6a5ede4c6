package projections

import (
	"context"
	"fmt"
	"regexp"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
)

// Projection is one read model.
type Projection interface {
	// Name is stable: renaming a projection rebuilds it from position 0.
	Name() string
	// Version is the read model's schema version; a change triggers a rebuild at start.
	Version() int
	// Filter selects the events the projection consumes.
	Filter() *esdb.SubscriptionFilter
	// Tables lists the tables Setup creates; each is exposed as view rm.<table>.
	Tables() []string
	// Setup creates the tables in schema.
	Setup(ctx context.Context, tx pgx.Tx, schema string) error
	// Apply queues the statements that apply one event onto b; the runner sends the whole batch in one
	// round trip inside the batch transaction. It must be deterministic and must not read. An error
	// it returns (an undecodable payload) parks the event: the runner records it in
	// projections.parked_events and moves on (see Retry).
	Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error
}

// Weigher is implemented by a projection some of whose events each write many rows (a batch of users
// in one event): RunnerConfig.AnalyzeEvery then counts Weight(ev) rows for each event instead of 1.
type Weigher interface {
	Weight(ev *esdb.RecordedEvent) int
}

// weight is how many rows a batch of p's events stands for (see Weigher).
func weight(p Projection, batch []*esdb.RecordedEvent) int {
	w, ok := p.(Weigher)
	if !ok {
		return len(batch)
	}
	n := 0
	for _, ev := range batch {
		n += max(1, w.Weight(ev))
	}
	return n
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

func schemaName(name string, gen int) string { return fmt.Sprintf("rm_%s_g%d", name, gen) }

// Appender is a read model that only ever appends rows to one table, each row decided by its event
// alone, rows of different events not sharing a key (the key includes the event's position or id):
// a snapshot build writes its rows with COPY rather than one INSERT each, and the live runner's
// one-round-trip batches as a few multi-row INSERTs. Apply must queue exactly the rows AppendRows
// returns, as INSERT … ON CONFLICT DO NOTHING: the live runner's transaction path uses it (a first
// batch, a batch with a poison event), and so does a snapshot build for a batch whose COPY fails
// (say, on a key seen twice), applied again event by event.
type Appender interface {
	Projection
	// AppendTable is the table the rows go to and its columns, in the order of each row's values.
	AppendTable() (table string, columns []string)
	// AppendRows appends ev's rows to rows; an error parks ev, as Apply's does.
	AppendRows(rows [][]any, ev *esdb.RecordedEvent) ([][]any, error)
}

// StreamPartitioned is a read model whose events of different streams never write the same rows:
// every row it writes is keyed by the event's own position or by ids that belong to the stream's
// aggregate, and no statement reads or counts rows of another aggregate. A snapshot build may then apply its streams on several
// connections at once (each stream's events staying in order on one of them) with the same result.
type StreamPartitioned interface {
	Projection
	PartitionedByStream()
}

// PositionKeyed is an Appender whose table's primary key includes the event's position and whose
// AppendRows never returns two rows with the same key for one event, so no two rows it writes ever
// share a key: a snapshot build then creates that key once, at the end, rather than maintaining it
// row by row (a duplicate would fail the build's end, not pass silently).
type PositionKeyed interface {
	Appender
	KeyedByPosition()
}

// BatchApplier is a read model that can apply a run of events in fewer statements than one each (a
// day's chat counts summed over the batch): the live runner queues ApplyBatch instead of each
// event's Apply. ApplyBatch must leave the tables exactly as Apply of each event in turn would; an
// error it returns sends the batch through Apply event by event, where the culprit is parked.
type BatchApplier interface {
	Projection
	ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error
}
