package iam

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/envelope"
)

// Sealer seals a secret under a subject's key.
type Sealer interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
}

// ImportLegacy takes over the IAM tables that versions before IAM was event-sourced kept
// (iam.principals, iam.access_keys with secrets in clear, iam.principal_policies): their content
// becomes the first events of the IAM stream, each secret sealed under its key's subject key, and then
// the tables are dropped, so no secret stays in clear. It runs at every start and does the work once:
// on a stream that already has events the import decides nothing (another process, or an earlier run
// that stopped before the drop, did it) and only the drop remains. It returns the keys imported.
func ImportLegacy(ctx context.Context, pool *pgxpool.Pool, cmds *Commands, sealer Sealer) (int, error) {
	var present bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('iam.access_keys') IS NOT NULL`).Scan(&present); err != nil {
		return 0, fmt.Errorf("iam: look for the old tables: %w", err)
	}
	if !present {
		return 0, nil
	}
	imp, keys, err := readLegacy(ctx, pool, sealer)
	if err != nil {
		return 0, err
	}
	ctx = envelope.With(ctx, envelope.Envelope{ActorType: "system", Actor: "belfry upgrade: IAM tables to events"})
	evs, _, err := cmds.ExecuteIAM(ctx, imp)
	if err != nil {
		return 0, fmt.Errorf("iam: import the old tables: %w", err)
	}
	if len(evs) == 0 {
		keys = 0
	}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS iam.principal_policies, iam.access_keys, iam.principals`); err != nil {
		return 0, fmt.Errorf("iam: drop the old tables: %w", err)
	}
	return keys, nil
}

func readLegacy(ctx context.Context, pool *pgxpool.Pool, sealer Sealer) (iam.Import, int, error) {
	var imp iam.Import
	byName := map[string]int{}
	rows, err := pool.Query(ctx, `SELECT name, principal_id, created_at FROM iam.principals ORDER BY created_at, name`)
	if err != nil {
		return imp, 0, fmt.Errorf("iam: read old principals: %w", err)
	}
	for rows.Next() {
		var p iam.ImportedPrincipal
		if err := rows.Scan(&p.Name, &p.PrincipalID, &p.CreatedAt); err != nil {
			rows.Close()
			return imp, 0, err
		}
		byName[p.Name] = len(imp.Principals)
		imp.Principals = append(imp.Principals, p)
	}
	rows.Close()
	type oldKey struct {
		id, secret, principal string
		active                bool
		at                    time.Time
	}
	var old []oldKey
	rows, err = pool.Query(ctx, `SELECT access_key_id, secret, principal, active, created_at FROM iam.access_keys ORDER BY created_at, access_key_id`)
	if err != nil {
		return imp, 0, fmt.Errorf("iam: read old keys: %w", err)
	}
	for rows.Next() {
		var k oldKey
		if err := rows.Scan(&k.id, &k.secret, &k.principal, &k.active, &k.at); err != nil {
			rows.Close()
			return imp, 0, err
		}
		old = append(old, k)
	}
	rows.Close()
	for _, k := range old {
		sealed, err := sealer.SealFor(ctx, iam.Tenant, iam.KeySubject(k.id), []byte(k.secret))
		if err != nil {
			return imp, 0, fmt.Errorf("iam: seal the secret of %s: %w", k.id, err)
		}
		i := byName[k.principal]
		imp.Principals[i].Keys = append(imp.Principals[i].Keys, iam.ImportedKey{AccessKeyID: k.id, Secret: sealed, Active: k.active, CreatedAt: k.at})
	}
	if err := readLegacyPolicies(ctx, pool, &imp, byName); err != nil {
		return imp, 0, err
	}
	return imp, len(old), nil
}

func readLegacyPolicies(ctx context.Context, pool *pgxpool.Pool, imp *iam.Import, byName map[string]int) error {
	var present bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('iam.principal_policies') IS NOT NULL`).Scan(&present); err != nil || !present {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT principal, policy_name, managed, document, attached_at FROM iam.principal_policies ORDER BY principal, policy_name`)
	if err != nil {
		return fmt.Errorf("iam: read old policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var principal string
		var pa iam.PolicyAttached
		if err := rows.Scan(&principal, &pa.PolicyName, &pa.Managed, &pa.Document, &pa.At); err != nil {
			return err
		}
		pa.At = pa.At.UTC()
		i := byName[principal]
		imp.Principals[i].Policies = append(imp.Principals[i].Policies, pa)
	}
	return rows.Err()
}
