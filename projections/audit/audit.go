// Package audit projects API-call records into rm.audit_records and answers audit queries.
// Invariant: one row per record, keyed by its event id; replays and duplicates change nothing.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/projections"
)

// Projection is the audit read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "audit" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"audit_records"} }

// Filter selects audit streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{audit.StreamPrefix}}
}

// Setup creates the table.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.audit_records (
			event_id        text PRIMARY KEY,
			position        bigint NOT NULL,
			event_time      timestamptz NOT NULL,
			event_source    text NOT NULL,
			event_name      text NOT NULL,
			access_key_id   text NOT NULL,
			principal_arn   text NOT NULL,
			aws_account_id  text NOT NULL,
			source_ip       text NOT NULL,
			error_code      text,
			request_id      text NOT NULL,
			record          jsonb NOT NULL
		);
		CREATE INDEX ON %[1]s.audit_records (event_time);
		CREATE INDEX ON %[1]s.audit_records (event_name, event_time);
		CREATE INDEX ON %[1]s.audit_records (request_id);`, schema))
	return err
}

// columns are audit_records', in the order of AppendRows' values.
var columns = []string{"event_id", "position", "event_time", "event_source", "event_name", "access_key_id", "principal_arn",
	"aws_account_id", "source_ip", "error_code", "request_id", "record"}

// AppendTable is audit_records: one row per record, keyed by the record's event id.
func (Projection) AppendTable() (string, []string) { return "audit_records", columns }

// AppendRows appends the row of one record.
func (Projection) AppendRows(rows [][]any, ev *esdb.RecordedEvent) ([][]any, error) {
	if ev.EventType != audit.TypeAPICallRecorded {
		return rows, nil
	}
	var r audit.APICallRecorded
	if err := json.Unmarshal(ev.Data, &r); err != nil {
		return rows, fmt.Errorf("audit: decode: %w", err)
	}
	var code *string
	if r.ErrorCode != "" {
		code = &r.ErrorCode
	}
	return append(rows, []any{r.EventID, int64(ev.Position.Commit), r.EventTime, r.EventSource, r.EventName,
		r.UserIdentity.AccessKeyID, r.UserIdentity.ARN, r.RecipientAccountID, r.SourceIPAddress, code, r.RequestID, ev.Data}), nil
}

// Apply stores one record: the row of AppendRows.
func (p Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	rows, err := p.AppendRows(nil, ev)
	for _, r := range rows {
		b.Queue(`INSERT INTO `+schema+`.audit_records (event_id, position, event_time, event_source, event_name,
		access_key_id, principal_arn, aws_account_id, source_ip, error_code, request_id, record)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT DO NOTHING`, r...)
	}
	return err
}

// Store answers audit queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Query narrows a lookup; zero fields do not filter.
type Query struct {
	// AwsAccountID selects that account's records and the records of no account: unauthenticated
	// calls (no caller is known) and the audit writer's AuditRecordsDropped reports.
	AwsAccountID string
	EventName    string
	RequestID    string
	Since, Until time.Time
	Limit        int
}

// Lookup returns matching records, newest first.
func (s *Store) Lookup(ctx context.Context, q Query) ([]audit.APICallRecorded, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	if q.Until.IsZero() {
		q.Until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT record FROM rm.audit_records
		WHERE ($1 = '' OR aws_account_id = $1 OR aws_account_id = '') AND ($2 = '' OR event_name = $2) AND ($3 = '' OR request_id = $3)
		AND event_time >= $4 AND event_time < $5 ORDER BY event_time DESC, position DESC LIMIT $6`),
		q.AwsAccountID, q.EventName, q.RequestID, q.Since, q.Until, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: lookup: %w", err)
	}
	defer rows.Close()
	var out []audit.APICallRecorded
	for rows.Next() {
		var b []byte
		var r audit.APICallRecorded
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TrailQuery selects records for a CloudTrail trail (infra/cloudtrail): event time in [From, To) and
// position in (AfterPosition, UpToPosition]. Account and Region stand in for a record that has no
// recipientAccountId or awsRegion.
type TrailQuery struct {
	From, To                    time.Time
	AfterPosition, UpToPosition uint64
	Account, Region             string
}

// TrailRow is one record of a TrailQuery with the 5-minute window of its event time, and its
// account and region (defaulted).
type TrailRow struct {
	Window          time.Time
	Account, Region string
	Record          audit.APICallRecorded
}

// TrailScan calls fn with the records of q ordered by (window, account, region, event time, event
// id): a stable order that does not depend on when or how the read model was built. A record's
// region is its awsRegion when that has the shape of a region, else q.Region (the home region): a
// record stored before the API refused to record a caller's made-up region names no object key
// outside the trail's layout and starts no digest chain.
func (s *Store) TrailScan(ctx context.Context, q TrailQuery, fn func(TrailRow) error) error {
	upTo := int64(q.UpToPosition)
	if q.UpToPosition > 1<<63-1 {
		upTo = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `
		SELECT w, acct, region, record FROM (
			SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '1970-01-01 00:00:00Z') AS w,
				COALESCE(NULLIF(aws_account_id, ''), $5) AS acct, CASE WHEN record->>'awsRegion' ~ '^[a-z]{2}(-[a-z]+){1,3}-[0-9]{1,2}$' THEN record->>'awsRegion' ELSE $6 END AS region,
				event_time, event_id, record
			FROM rm.audit_records
			WHERE event_time >= $1 AND event_time < $2 AND position > $3 AND position <= $4) r
		ORDER BY w, acct, region, event_time, event_id`,
		q.From, q.To, int64(min(q.AfterPosition, 1<<63-1)), upTo, q.Account, q.Region)
	if err != nil {
		return fmt.Errorf("audit: trail scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var row TrailRow
		var b []byte
		if err := rows.Scan(&row.Window, &row.Account, &row.Region, &b); err != nil {
			return fmt.Errorf("audit: trail scan: %w", err)
		}
		if err := json.Unmarshal(b, &row.Record); err != nil {
			return fmt.Errorf("audit: trail scan: record: %w", err)
		}
		row.Window = row.Window.UTC()
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FirstEventTime is the event time of the oldest record, and false when there is none.
func (s *Store) FirstEventTime(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(event_time) FROM rm.audit_records`).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("audit: first record: %w", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// CountBetween counts the records whose event time is in [from, to).
func (s *Store) CountBetween(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM rm.audit_records WHERE event_time >= $1 AND event_time < $2`, from, to).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit: count records: %w", err)
	}
	return n, nil
}

// DeleteBefore removes up to limit records whose event time is before horizon (the oldest first)
// and returns how many it removed; the events stay in the log. Call it until it returns 0.
func (s *Store) DeleteBefore(ctx context.Context, horizon time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rm.audit_records WHERE event_id IN (
		SELECT event_id FROM rm.audit_records WHERE event_time < $1 ORDER BY event_time LIMIT $2)`, horizon, limit)
	if err != nil {
		return 0, fmt.Errorf("audit: delete expired records: %w", err)
	}
	return tag.RowsAffected(), nil
}
