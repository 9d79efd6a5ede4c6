// Package portdocs stores the documents of port-in orders (LOAs, bills) in PostgreSQL and collects
// the ones no event references. It is an adapter: the porting slice (api/chime/porting) declares the
// port it implements and decides what is stored.
//
// Invariants: a blob is content-addressed by its SHA-256 (a CHECK constraint proves the key), so
// storing the same bytes again is a no-op and a retried upload is idempotent; a blob is deleted only
// when no DocumentUploaded event of the orders it was uploaded for names it and it was stored (or last
// uploaded again) more than the grace period ago.
package portdocs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/eventstore"
)

// Store holds the document blobs.
type Store struct {
	pool   *pgxpool.Pool
	client *esdb.Client
}

// New returns a Store; client reads the orders' events for the collector.
func New(pool *pgxpool.Pool, client *esdb.Client) *Store { return &Store{pool: pool, client: client} }

// Put stores a document's bytes under their SHA-256 digest and records the order it is for.
func (s *Store) Put(ctx context.Context, digest string, content []byte, orderID string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO porting.document_blobs (sha256, content, order_ids) VALUES ($1, $2, ARRAY[$3::text])
		ON CONFLICT (sha256) DO UPDATE SET stored_at = now(),
			order_ids = CASE WHEN $3 = ANY(document_blobs.order_ids) THEN document_blobs.order_ids ELSE document_blobs.order_ids || $3 END`,
		digest, content, orderID); err != nil {
		return fmt.Errorf("portdocs: store document: %w", err)
	}
	return nil
}

// MarkReferenced records that an event names the blob (best effort: the collector checks unmarked ones).
func (s *Store) MarkReferenced(ctx context.Context, digest string) error {
	_, err := s.pool.Exec(ctx, `UPDATE porting.document_blobs SET referenced = true WHERE sha256 = $1 AND NOT referenced`, digest)
	return err
}

// Collect deletes the document blobs that no event references and that were stored (or last
// uploaded again) more than grace ago; it returns how many it deleted. Blobs an event names are
// marked referenced and kept for good. grace must exceed the longest upload call (a blob is stored
// before its event is appended): an upload of the same bytes refreshes stored_at first, so the delete,
// which re-checks stored_at, never removes a blob an upload in flight is about to reference.
func (s *Store) Collect(ctx context.Context, grace time.Duration) (int, error) {
	// stored_at is the database's clock, so the cutoff is too.
	const old = `NOT referenced AND stored_at < now() - make_interval(secs => $1)`
	orders, err := s.unreferenced(ctx, old, grace)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for sha, ids := range orders {
		named, err := s.documentNamed(ctx, sha, ids)
		if err != nil {
			return deleted, err
		}
		if named {
			if _, err := s.pool.Exec(ctx, `UPDATE porting.document_blobs SET referenced = true WHERE sha256 = $1`, sha); err != nil {
				return deleted, fmt.Errorf("portdocs: mark document %s referenced: %w", sha, err)
			}
			continue
		}
		tag, err := s.pool.Exec(ctx, `DELETE FROM porting.document_blobs WHERE sha256 = $2 AND `+old, grace.Seconds(), sha)
		if err != nil {
			return deleted, fmt.Errorf("portdocs: delete document %s: %w", sha, err)
		}
		deleted += int(tag.RowsAffected())
	}
	return deleted, nil
}

// unreferenced maps the unreferenced blobs older than grace to the orders they were uploaded for.
func (s *Store) unreferenced(ctx context.Context, old string, grace time.Duration) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT sha256, order_ids FROM porting.document_blobs WHERE `+old, grace.Seconds())
	if err != nil {
		return nil, fmt.Errorf("portdocs: find unreferenced documents: %w", err)
	}
	defer rows.Close()
	orders := map[string][]string{}
	for rows.Next() {
		var sha string
		var ids []string
		if err := rows.Scan(&sha, &ids); err != nil {
			return nil, fmt.Errorf("portdocs: find unreferenced documents: %w", err)
		}
		orders[sha] = ids
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("portdocs: find unreferenced documents: %w", err)
	}
	return orders, nil
}

// documentNamed reports whether a DocumentUploaded event of one of the orders names sha.
func (s *Store) documentNamed(ctx context.Context, sha string, orders []string) (bool, error) {
	for _, id := range orders {
		rs, err := s.client.ReadStream(ctx, porting.StreamName(id), esdb.ReadStreamOptions{From: esdb.Start{}}, ^uint64(0))
		if err != nil {
			return false, fmt.Errorf("portdocs: read %s: %w", porting.StreamName(id), err)
		}
		found, err := namesDocument(rs, sha)
		rs.Close()
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

func namesDocument(rs *esdb.ReadStream, sha string) (bool, error) {
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) || eventstore.IsCode(err, esdb.ErrorCodeResourceNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("portdocs: read port-in order: %w", err)
		}
		if ev.Event.EventType != porting.TypeDocUploaded {
			continue
		}
		e, err := porting.Decode(ev.Event.EventType, ev.Event.Data)
		if err != nil {
			return false, err
		}
		if d, ok := e.(porting.DocumentUploaded); ok && d.SHA256 == sha {
			return true, nil
		}
	}
}
