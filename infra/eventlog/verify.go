package eventlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

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
	// Progress, when set, is called about every 100,000 rows with the number of rows checked so far
	// (the parts of the range are checked at once), from one goroutine at a time.
	Progress func(rows uint64)
	// Parts is how many consecutive parts of the range are checked at once (0: one per CPU, when the
	// range holds at least 200,000 positions a part); the result does not depend on it.
	Parts int
}

// Verify recomputes the chain of the stored log between r.From and r.To against the checkpoints
// signed by pub. It starts at the last valid checkpoint before r.From (whose signed chain is the base),
// or at position 1; starting at position 1, it also reports every row stored below it (chain.Verifier.Stray).
// The range is cut into parts checked at once, one per CPU (each on its own
// connection, primed with the row before it: see chain.Verifier.Prime), with the result one
// verifier of the whole range would give (chain.Merge). The parts read the log at slightly
// different moments: rows appended meanwhile fall after the range's known end and only the last
// part reads them, as a single pass would; a row changed in the database during the verification
// may be seen by one part and not by another.
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
	to := int64(r.To)
	if to == 0 {
		to = 1<<63 - 1
	}
	bounds, err := verifyParts(ctx, pool, after, to, r.Parts)
	if err != nil {
		return chain.Result{}, err
	}
	primes, starts, err := primeRows(ctx, pool, after, bounds)
	if err != nil {
		return chain.Result{}, err
	}
	progress := r.Progress
	if progress != nil {
		progress = sharedProgress(r.Progress)
	}
	parts := make([]chain.Result, len(bounds)-1)
	g, gctx := errgroup.WithContext(ctx)
	for k := range parts {
		last := k == len(parts)-1
		g.Go(func() error {
			v := chain.NewVerifier(pub, store, after, base, partCheckpoints(cps, starts, k))
			if primes[k] != nil {
				v.Prime(primes[k])
			}
			if err := feedRows(gctx, pool, uint64(bounds[k]), bounds[k+1], v, progress); err != nil {
				return err
			}
			if parts[k] = v.Partial(); last {
				parts[k] = v.Finish(r.To)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return chain.Result{}, err
	}
	if after == 0 { // the range starts at the log's start: rows stored before position 1 precede it
		strays, err := verifyStrays(ctx, pool)
		if err != nil {
			return chain.Result{}, err
		}
		parts = append([]chain.Result{strays}, parts...)
	}
	return chain.Merge(parts, chain.DefaultMaxProblems), nil
}

// verifyStrays reports the rows stored at positions below 1, which the writer never assigns and the
// chain does not cover, but which reads of their streams return (see chain.Verifier.Stray).
func verifyStrays(ctx context.Context, pool *pgxpool.Pool) (chain.Result, error) {
	v := chain.NewVerifier(nil, uuid.Nil, 0, chain.Hash{}, nil)
	rows, err := pool.Query(ctx, `SELECT position, stream, revision FROM eventlog.events WHERE position < 1 ORDER BY position`)
	if err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pos, rev int64
		var stream string
		if err := rows.Scan(&pos, &stream, &rev); err != nil {
			return chain.Result{}, fmt.Errorf("eventlog: verify: %w", err)
		}
		v.Stray(pos, stream, uint64(rev))
	}
	if err := rows.Err(); err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: verify: %w", err)
	}
	return v.Partial(), nil
}

// minPartRows is the fewest positions worth a part of their own.
const minPartRows = 200_000

// verifyParts cuts (after, to] into consecutive parts (parts of them, or one per CPU when the log
// holds enough positions): bounds[k] < position <= bounds[k+1] for part k, the last ending at to.
func verifyParts(ctx context.Context, pool *pgxpool.Pool, after uint64, to int64, parts int) ([]int64, error) {
	var hi int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM eventlog.events WHERE position <= $1`, to).Scan(&hi); err != nil {
		return nil, fmt.Errorf("eventlog: verify: %w", err)
	}
	n := int64(1)
	if span := hi - int64(after); span > 0 {
		n = max(1, min(int64(runtime.GOMAXPROCS(0)), span/minPartRows))
		if parts > 0 {
			n = min(int64(parts), span)
		}
	}
	bounds := []int64{int64(after)}
	for k := int64(1); k < n; k++ {
		bounds = append(bounds, int64(after)+(hi-int64(after))*k/n)
	}
	return append(bounds, to), nil
}

// partCheckpoints are the checkpoints part k checks: those after the position its rows follow
// (starts[k]) up to the one the next part's follow (the first part also those before it, the last
// those after it), so that each is checked, or reported bad, once, and in the order one verifier of
// the whole range would report it.
func partCheckpoints(cps []chain.Checkpoint, starts []uint64, k int) []chain.Checkpoint {
	var out []chain.Checkpoint
	for _, cp := range cps {
		if (k == 0 || cp.Position > starts[k]) && (k == len(starts)-1 || cp.Position <= starts[k+1]) {
			out = append(out, cp)
		}
	}
	return out
}

// primeRows reads, for each part after the first, the last row after position after and at or
// before the part's lower bound, which primes the part's verifier; starts[k] is the position part
// k's rows follow: that row's, or after (the first part, or a part with no row before it).
func primeRows(ctx context.Context, pool *pgxpool.Pool, after uint64, bounds []int64) ([]*chain.Row, []uint64, error) {
	primes, starts := make([]*chain.Row, len(bounds)-1), make([]uint64, len(bounds)-1)
	starts[0] = after
	for k := 1; k < len(primes); k++ {
		starts[k] = after
		if bounds[k] <= int64(after) {
			continue
		}
		row := &chain.Row{}
		err := scanInto(pool.QueryRow(ctx, `SELECT `+selectCols+`, digest, chain FROM eventlog.events
			WHERE position > $1 AND position <= $2 ORDER BY position DESC LIMIT 1`, int64(after), bounds[k]), row)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("eventlog: verify: %w", err)
		}
		primes[k], starts[k] = row, row.Position
	}
	return primes, starts, nil
}

// sharedProgress turns the parts' progress into one count of the rows checked, reported about
// every 100,000 rows, one call at a time.
func sharedProgress(report func(uint64)) func(uint64) {
	var mu sync.Mutex
	var rows uint64
	return func(n uint64) {
		mu.Lock()
		defer mu.Unlock()
		before := rows
		rows += n
		if rows/ProgressEvery != before/ProgressEvery {
			report(rows)
		}
	}
}

// verifyBatch is how many rows the reader hands the verifier at once.
const verifyBatch = 1024

// feedRows reads the rows after position after up to to, in position order, on one goroutine while
// the verifier hashes and links them on this one, so the scan and the hashing overlap; progress,
// when set, gets the number of rows of each batch checked.
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
		}
		if progress != nil {
			progress(uint64(len(batch)))
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
	for rows.Next() {
		batch = append(batch, chain.Row{})
		if err := scanInto(rows, &batch[len(batch)-1]); err != nil {
			return err
		}
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

// scanInto scans one row of selectCols, digest, chain into row.
func scanInto(r pgx.Row, row *chain.Row) error {
	var pos, rev int64
	var id [16]byte // scanned as bytes: uuid.UUID's sql.Scanner would go through its text form
	if err := r.Scan(&pos, &row.Stream, &rev, &id, &row.Type, &row.ContentType, &row.Created, &row.Data,
		&row.Metadata, &row.Digest, &row.Chain); err != nil {
		return err
	}
	row.Position, row.Revision, row.EventID = uint64(pos), uint64(rev), id
	return nil
}
