package chimeaccounts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// domainOwners answers which account verified a domain, across every tenant (a domain is claimed by
// at most one account at a time): a Team account invites users of domains no other organisation
// claimed (guide §4.1). Store embeds it.
type domainOwners struct{ pool *pgxpool.Pool }

// VerifiedDomainOwners maps each of domains (lower-case names) that an account has verified to that
// account's id; domains no account verified are left out.
func (d domainOwners) VerifiedDomainOwners(ctx context.Context, domains []string) (map[string]string, error) {
	out := map[string]string{}
	if len(domains) == 0 {
		return out, nil
	}
	rows, err := d.pool.Query(ctx, projections.SQL(ctx, `SELECT domain, account_id FROM rm.chime_domains
		WHERE domain = ANY($1) AND status = 'Verified'`), domains)
	if err != nil {
		return nil, fmt.Errorf("chimeaccounts: domain owners: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, id string
		if err := rows.Scan(&name, &id); err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, rows.Err()
}
