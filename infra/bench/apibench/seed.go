package apibench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
)

// seedUsers appends UserAdded events to the account stream in batches with exact expected revisions.
func seedUsers(ctx context.Context, logURL, accountID string, n int) ([]string, error) {
	client, err := eventstore.Connect(logURL)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stream := account.StreamName(accountID)
	rs, err := client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return nil, err
	}
	last, err := rs.Recv()
	rs.Close()
	if err != nil {
		return nil, err
	}
	rev := last.Event.EventNumber
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	for start := 0; start < n; start += 1000 {
		var evs []esdb.EventData
		for i := start; i < min(n, start+1000); i++ {
			id := uuid.NewString()
			ids = append(ids, id)
			// Seeded users have no PIN (a PIN is sealed under the user's key, which seeding does not create).
			e := account.UserAdded{UserID: id, Email: fmt.Sprintf("user%07d@bench.example.com", i), UserType: account.UserTypePrivate,
				LicenseType: account.LicensePro, CreatedAt: now}
			b, _ := json.Marshal(e)
			evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
		}
		wr, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(rev)}, evs...)
		if err != nil {
			return nil, err
		}
		rev = wr.NextExpectedVersion
	}
	return ids, nil
}

// seed appends the benchmark account's users and waits until the read model holds them all.
func (b *apiRun) seed(ctx context.Context, pool *pgxpool.Pool) error {
	users := b.o.Users
	fmt.Fprintf(b.o.Progress, "seeding %d users (as UserAdded events, the way an import writes them) ...\n", users)
	t0 := time.Now()
	ids, err := seedUsers(ctx, b.srv.LogURL, b.acct, users)
	if err != nil {
		return err
	}
	b.ids = ids
	for {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM rm.chime_users WHERE account_id = $1", b.acct).Scan(&n); err != nil {
			return err
		}
		fmt.Fprintf(b.o.Progress, "  read model: %d/%d users\n", n, users)
		if n >= users {
			break
		}
		time.Sleep(time.Second)
	}
	b.rep.SeedSecs = time.Since(t0).Seconds()
	return nil
}

// settle vacuums and checkpoints, so that each scenario measures a steady state, not the aftermath of
// the import or of the scenario before it (rather than let autovacuum and a forced checkpoint land
// in the middle of the next measurement).
func settle(ctx context.Context, pool *pgxpool.Pool) error {
	for _, q := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("settle: %s: %w", q, err)
		}
	}
	return nil
}
