package datakeys

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// WrapLegacy wraps the day keys stored in clear by earlier versions (keys.data_keys.key) under their
// period and scope KEKs, then drops the plaintext column and rewrites the table (VACUUM FULL), so the
// live database holds no data key in clear. It runs at every start and does nothing once the column
// is gone; it returns how many keys it wrapped. Copies made before (old WAL segments, backups) still
// hold those keys in clear: only destroying the KEKs they are now wrapped under cannot reach them.
func (s *Store) WrapLegacy(ctx context.Context) (int, error) {
	if _, err := s.keyring(); err != nil {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('belfry.datakeys.wrap'))`); err != nil {
		return 0, fmt.Errorf("datakeys: wrap: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext('belfry.datakeys.wrap'))`) //nolint:errcheck
	var has bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'keys'
		AND table_name = 'data_keys' AND column_name = 'key')`).Scan(&has); err != nil || !has {
		return 0, err
	}
	n := 0
	for {
		done, err := s.wrapLegacyBatch(ctx, conn.Conn())
		n += done
		if err != nil {
			return n, err
		}
		if done == 0 {
			break
		}
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE keys.data_keys DROP COLUMN key`); err != nil {
		return n, fmt.Errorf("datakeys: wrap: %w", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM FULL keys.data_keys`); err != nil {
		return n, fmt.Errorf("datakeys: wrap: %w", err)
	}
	return n, nil
}

type legacyKey struct {
	id, tenant, scope string
	day               time.Time
	key               []byte
}

// wrapLegacyBatch wraps up to 500 clear keys; it returns how many.
func (s *wrapping) wrapLegacyBatch(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, `SELECT key_id, tenant, scope, day, key FROM keys.data_keys WHERE key IS NOT NULL ORDER BY key_id LIMIT 500`)
	if err != nil {
		return 0, fmt.Errorf("datakeys: wrap: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (legacyKey, error) {
		var k legacyKey
		return k, r.Scan(&k.id, &k.tenant, &k.scope, &k.day, &k.key)
	})
	if err != nil {
		return 0, fmt.Errorf("datakeys: wrap: %w", err)
	}
	for _, k := range list {
		period, err := s.periodKEK(ctx, k.tenant, Class(k.scope), k.day)
		if err != nil {
			return 0, err
		}
		scopeKEK, err := s.scopeKEK(ctx, k.tenant, k.scope)
		if err != nil {
			return 0, err
		}
		wrapped, err := s.wrapDay(ctx, k.id, period, scopeKEK, k.key)
		if err != nil {
			return 0, err
		}
		if _, err := conn.Exec(ctx, `UPDATE keys.data_keys SET wrapped = $2, period_kek = $3, scope_kek = $4, key = NULL WHERE key_id = $1`,
			k.id, wrapped, period, scopeKEK); err != nil {
			return 0, fmt.Errorf("datakeys: wrap: %w", err)
		}
	}
	return len(list), nil
}
