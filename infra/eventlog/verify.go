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
	rows, err := pool.Query(ctx, `SELECT `+selectCols+`, digest, chain FROM eventlog.events
		WHERE position > $1 AND position <= $2 ORDER BY position`, int64(after), to)
	if err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: verify: %w", err)
	}
	defer rows.Close()
	var row chain.Row
	var pos, rev int64
	dest := []any{&pos, &row.Stream, &rev, &row.EventID, &row.Type, &row.ContentType, &row.Created, &row.Data, &row.Metadata, &row.Digest, &row.Chain}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return chain.Result{}, err
		}
		row.Position, row.Revision = uint64(pos), uint64(rev)
		v.Feed(&row)
		if r.Progress != nil && row.Position%100_000 == 0 {
			r.Progress(row.Position)
		}
	}
	if err := rows.Err(); err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: verify: %w", err)
	}
	return v.Finish(r.To), nil
}
