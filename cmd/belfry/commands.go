package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/belfry/belfry/infra/iam"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// allProjections lists every read model by name.
func allProjections() map[string]projections.Projection {
	return map[string]projections.Projection{
		chimeaccounts.Projection{}.Name(): chimeaccounts.Projection{},
		auditrm.Projection{}.Name():       auditrm.Projection{},
	}
}

// ensureDatabase creates database name on the server at adminURL if it does not exist.
func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	return err
}

type closerList struct{ fs []func() error }

func (c *closerList) add(f func() error) { c.fs = append(c.fs, f) }
func (c *closerList) close() {
	for i := len(c.fs) - 1; i >= 0; i-- {
		_ = c.fs[i]()
	}
}

func cmdMigrate(ctx context.Context, cfg Config) error {
	var cl closerList
	defer cl.close()
	pool, err := openDatabase(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	var v int
	if err := pool.QueryRow(ctx, "SELECT max(version) FROM belfry_migrations").Scan(&v); err != nil {
		return err
	}
	fmt.Printf("migrations applied: the database is at version %d\n", v)
	return nil
}

func cmdAdmin(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 || args[0] != "create-access-key" {
		return fmt.Errorf("usage: belfry admin create-access-key [--user NAME] [--json]")
	}
	fs := flag.NewFlagSet("create-access-key", flag.ContinueOnError)
	user := fs.String("user", "admin", "principal (IAM user) name")
	asJSON := fs.Bool("json", false, `print {"AccessKeyId": ..., "SecretAccessKey": ...}`)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var cl closerList
	defer cl.close()
	pool, err := openDatabase(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	k, err := iam.NewStore(pool).CreateAccessKey(ctx, *user)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]string{"AccessKeyId": k.AccessKeyID, "SecretAccessKey": k.SecretAccessKey})
	}
	fmt.Printf("Access key for %s (the secret is shown once):\n  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n  AWS account id: %s\n",
		k.UserName, k.AccessKeyID, k.SecretAccessKey, k.AwsAccountID)
	return nil
}

func cmdProjections(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: belfry projections status [--json] | rebuild NAME")
	}
	var cl closerList
	defer cl.close()
	pool, err := openDatabase(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	client, _, _, err := openEventStore(ctx, cfg, pool, nil, cl.add)
	if err != nil {
		return err
	}
	switch args[0] {
	case "status":
		for _, p := range allProjections() {
			if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
				return err
			}
		}
		st, err := projections.Statuses(ctx, pool)
		if err != nil {
			return err
		}
		head, err := headPosition(ctx, client)
		if err != nil {
			return err
		}
		for i := range st {
			st[i].Head = head
			if head > st[i].Checkpoint {
				st[i].LagEvents = head - st[i].Checkpoint
			} else {
				st[i].LagSeconds = 0
			}
		}
		if len(args) > 1 && args[1] == "--json" {
			return json.NewEncoder(os.Stdout).Encode(st)
		}
		w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PROJECTION\tGENERATION\tVERSION\tHEAD\tCHECKPOINT\tLAG(events)\tLAG(s)\tAPPLIED")
		for _, s := range st {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\n", s.Name, s.Generation, s.Version, s.Head, s.Checkpoint, s.LagEvents, s.LagSeconds, s.Events)
		}
		return w.Flush()
	case "rebuild":
		if len(args) < 2 {
			return fmt.Errorf("usage: belfry projections rebuild NAME")
		}
		p, ok := allProjections()[args[1]]
		if !ok {
			return fmt.Errorf("unknown projection %q", args[1])
		}
		head, err := headPosition(ctx, client)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "rebuilding %s from position 0 (head %d) into a shadow schema; reads keep using the current one\n", p.Name(), head)
		err = projections.Rebuild(ctx, pool, client, p, func(pos uint64, n int64) {
			pct := 100.0
			if head > 0 && pos < head {
				pct = 100 * float64(pos) / float64(head)
			}
			fmt.Fprintf(os.Stderr, "  %s: position %d/%d (%.1f%%), %d events applied\n", p.Name(), pos, head, pct, n)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s rebuilt and switched\n", p.Name())
		return nil
	}
	return fmt.Errorf("unknown projections command %q", args[0])
}
