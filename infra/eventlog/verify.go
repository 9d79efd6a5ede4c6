package eventlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

// ErrNotChained is a log with no chained event to verify.
var ErrNotChained = errors.New("eventlog: the log has no chained events (start Belfry once with this version to chain them)")

// Checkpoints returns the signed checkpoints of the log, in position order.
func Checkpoints(ctx context.Context, pool *pgxpool.Pool) ([]chain.Checkpoint, error) {
	rows, err := pool.Query(ctx, `SELECT position, chain, signature, key_id FROM eventlog.checkpoints ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []chain.Checkpoint
	for rows.Next() {
		var cp chain.Checkpoint
		var pos int64
		var c []byte
		if err := rows.Scan(&pos, &c, &cp.Signature, &cp.KeyID); err != nil {
			return nil, err
		}
		cp.Position = uint64(pos)
		copy(cp.Chain[:], c)
		out = append(out, cp)
	}
	return out, rows.Err()
}

// VerifyRange says which positions to verify; zero values mean the whole log.
type VerifyRange struct {
	From, To uint64
	// Progress, when set, is called about every 100,000 rows with the last position checked.
	Progress func(position uint64)
}

// Verify recomputes the chain of the stored log between r.From and r.To against the checkpoints
// signed by pub. It starts at the last valid checkpoint before r.From (whose signed chain is the base),
// or at position 1.
func Verify(ctx context.Context, pool *pgxpool.Pool, pub ed25519.PublicKey, r VerifyRange) (chain.Result, error) {
	store, err := StoreID(ctx, pool)
	if err != nil {
		return chain.Result{}, err
	}
	cps, err := Checkpoints(ctx, pool)
	if err != nil {
		return chain.Result{}, err
	}
	var after uint64
	var base chain.Hash
	for _, cp := range cps {
		if cp.Position < r.From && cp.Valid(pub, store) {
			after, base = cp.Position, cp.Chain
		}
	}
	v := chain.NewVerifier(pub, store, after, base, cps)
	to := int64(r.To)
	if to == 0 {
		to = 1<<63 - 1
	}
	if err := feedRows(ctx, pool, after, to, v, r.Progress); err != nil {
		return chain.Result{}, err
	}
	return v.Finish(r.To), nil
}

// verifyBatch is how many rows the reader hands the verifier at once.
const verifyBatch = 1024

// feedRows reads the rows after position after up to to, in position order, on one goroutine while
// the verifier hashes and links them on this one, so the scan and the hashing overlap.
func feedRows(ctx context.Context, pool *pgxpool.Pool, after uint64, to int64, v *chain.Verifier, progress func(uint64)) error {
	batches := make(chan []chain.Row, 4)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		errc <- scanRows(ctx, pool, after, to, batches)
	}()
	for batch := range batches {
		for i := range batch {
			v.Feed(&batch[i])
			if progress != nil && batch[i].Position%100_000 == 0 {
				progress(batch[i].Position)
			}
		}
	}
	return <-errc
}

func scanRows(ctx context.Context, pool *pgxpool.Pool, after uint64, to int64, out chan<- []chain.Row) error {
	rows, err := pool.Query(ctx, `SELECT `+selectCols+`, digest, chain FROM eventlog.events
		WHERE position > $1 AND position <= $2 ORDER BY position`, int64(after), to)
	if err != nil {
		return fmt.Errorf("eventlog: verify: %w", err)
	}
	defer rows.Close()
	batch := make([]chain.Row, 0, verifyBatch)
	var pos, rev int64
	var id [16]byte // scanned as bytes: uuid.UUID's sql.Scanner would go through its text form
	for rows.Next() {
		batch = append(batch, chain.Row{})
		row := &batch[len(batch)-1]
		if err := rows.Scan(&pos, &row.Stream, &rev, &id, &row.Type, &row.ContentType, &row.Created, &row.Data,
			&row.Metadata, &row.Digest, &row.Chain); err != nil {
			return err
		}
		row.Position, row.Revision, row.EventID = uint64(pos), uint64(rev), id
		if len(batch) == verifyBatch {
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]chain.Row, 0, verifyBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("eventlog: verify: %w", err)
	}
	if len(batch) > 0 {
		out <- batch
	}
	return nil
}
