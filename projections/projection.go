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
