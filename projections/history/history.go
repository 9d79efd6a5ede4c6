// Package history projects, for every event of the domain streams, the resources it touched into
// rm.resource_history, so that an auditor can list every event about one user, account, room,
// number, network or security group with who did it and from where (the event's envelope), and the
// audit record of the call it answered (joined by request id).
//
// Invariants: an event touches the resource named by its stream (the part after the stream
// prefix's "-": an account id, a phone number, a domain …) and every id its payload names in a
// top-level member whose name ends in "Id" or "Ids" (case-insensitive) or names a phone number
// (e164, phoneNumber); at most MaxResourcesPerEvent per event, each at most MaxResourceBytes. System
// streams ("$…") and the audit streams are not indexed (audit records are reached through the
// request id). Replays and duplicates change nothing (primary key (resource, position)).
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/envelope"
	"github.com/belfry/belfry/projections"
)

// Limits of the index.
const (
	MaxResourcesPerEvent = 64
	MaxResourceBytes     = 256
)

// Projection is the resource-history read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "history" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"resource_history"} }

// Filter selects every event but system events ($…), which the projection then skips with the audit
// streams. The filter is by event type (system events' types start with "$").
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: `^[^$]`}
}

// Setup creates the table.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.resource_history (
			resource      text        NOT NULL,
			position      bigint      NOT NULL,
			stream        text        NOT NULL,
			revision      bigint      NOT NULL,
			event_type    text        NOT NULL,
			occurred_at   timestamptz NOT NULL,
			actor_type    text        NOT NULL,
			actor         text        NOT NULL,
			principal_arn text        NOT NULL,
			source_ip     text        NOT NULL,
			request_id    text        NOT NULL,
			PRIMARY KEY (resource, position)
		);`, schema))
	return err
}

// columns are resource_history's, in the order of AppendRows' values.
var columns = []string{"resource", "position", "stream", "revision", "event_type", "occurred_at", "actor_type", "actor",
	"principal_arn", "source_ip", "request_id"}

// PartitionedByStream: every row is keyed by its event's position, so the build of a snapshot may
// index different streams on different connections (projections.StreamPartitioned).
func (Projection) PartitionedByStream() {}

// KeyedByPosition: the key is (resource, position) and Resources names each resource once, so a
// snapshot build creates the key at the end (projections.PositionKeyed).
func (Projection) KeyedByPosition() {}

// AppendTable is resource_history: the index is append-only, its key (resource, position).
func (Projection) AppendTable() (string, []string) { return "resource_history", columns }

// AppendRows appends one row per resource the event touched.
func (Projection) AppendRows(rows [][]any, ev *esdb.RecordedEvent) ([][]any, error) {
	if strings.HasPrefix(ev.StreamID, "$") || strings.HasPrefix(ev.StreamID, audit.StreamPrefix) {
		return rows, nil
	}
	env := envelope.Parse(ev.UserMetadata)
	at := env.OccurredAt
	if at.IsZero() {
		at = ev.CreatedDate
	}
	for _, r := range Resources(ev.StreamID, ev.Data) {
		rows = append(rows, []any{r, int64(ev.Position.Commit), ev.StreamID, int64(ev.EventNumber), ev.EventType, at.UTC(),
			env.ActorType, env.Actor, env.PrincipalARN, env.SourceIP, env.RequestID})
	}
	return rows, nil
}

// Apply indexes one event: the rows of AppendRows, in one statement whatever their number (a batch of
// users names up to 50 resources; the rows differ only in the resource).
func (p Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	rows, err := p.AppendRows(nil, ev)
	if err != nil || len(rows) == 0 {
		return err
	}
	rs := make([]string, len(rows))
	for i, r := range rows {
		rs[i] = r[0].(string)
	}
	b.Queue(`INSERT INTO `+schema+`.resource_history (resource, position, stream, revision, event_type, occurred_at,
		actor_type, actor, principal_arn, source_ip, request_id) SELECT r, $2,$3,$4,$5,$6,$7,$8,$9,$10,$11 FROM unnest($1::text[]) AS r
		ON CONFLICT DO NOTHING`, append([]any{rs}, rows[0][1:]...)...)
	return nil
}

// Store answers history queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Entry is one event about a resource.
type Entry struct {
	Position     uint64          `json:"Position"`
	Stream       string          `json:"Stream"`
	Revision     uint64          `json:"Revision"`
	EventType    string          `json:"EventType"`
	OccurredAt   time.Time       `json:"OccurredAt"`
	ActorType    string          `json:"ActorType,omitempty"`
	Actor        string          `json:"Actor,omitempty"`
	PrincipalARN string          `json:"PrincipalArn,omitempty"`
	SourceIP     string          `json:"SourceIp,omitempty"`
	RequestID    string          `json:"RequestId,omitempty"`
	AuditRecord  json.RawMessage `json:"AuditRecord,omitempty"`
}

// ResourceID turns an ARN ("arn:aws:chime::123456789012:meeting/<id>") into the id it ends with;
// anything else is returned as given.
func ResourceID(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Lookup returns up to limit events about resource after position after, oldest first, each with
// the audit record of the call it answered (when there is one).
func (s *Store) Lookup(ctx context.Context, resource string, after uint64, limit int) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT h.position, h.stream, h.revision, h.event_type, h.occurred_at, h.actor_type,
			h.actor, h.principal_arn, h.source_ip, h.request_id, a.record
		FROM rm.resource_history h
		LEFT JOIN LATERAL (SELECT record FROM rm.audit_records r WHERE h.request_id <> '' AND r.request_id = h.request_id
			ORDER BY r.position LIMIT 1) a ON true
		WHERE h.resource = $1 AND h.position > $2 ORDER BY h.position LIMIT $3`), ResourceID(resource), int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("history: lookup: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var pos, rev int64
		var rec []byte
		if err := rows.Scan(&pos, &e.Stream, &rev, &e.EventType, &e.OccurredAt, &e.ActorType, &e.Actor, &e.PrincipalARN,
			&e.SourceIP, &e.RequestID, &rec); err != nil {
			return nil, err
		}
		e.Position, e.Revision = uint64(pos), uint64(rev)
		if rec != nil {
			e.AuditRecord = rec
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
