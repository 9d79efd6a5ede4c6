package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimecalls"
	chimeconvs "github.com/belfry/belfry/projections/chimeconversations"
	chimedash "github.com/belfry/belfry/projections/chimedashboard"
	"github.com/belfry/belfry/projections/chimemeetings"
	"github.com/belfry/belfry/projections/chimenumbers"
	"github.com/belfry/belfry/projections/chimeretention"
	"github.com/belfry/belfry/projections/chimerooms"
	chimeusagerm "github.com/belfry/belfry/projections/chimeusage"
	"github.com/belfry/belfry/projections/history"
	iamrm "github.com/belfry/belfry/projections/iam"
	wickrstats "github.com/belfry/belfry/projections/wickranalytics"
	wickrarchiverm "github.com/belfry/belfry/projections/wickrarchive"
	"github.com/belfry/belfry/projections/wickrconversations"
	wickrdel "github.com/belfry/belfry/projections/wickrdeletions"
	"github.com/belfry/belfry/projections/wickrguests"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// allProjections lists every read model by name.
func allProjections() map[string]projections.Projection {
	return map[string]projections.Projection{
		chimeaccounts.Projection{}.Name():  chimeaccounts.Projection{},
		auditrm.Projection{}.Name():        auditrm.Projection{},
		chimenumbers.Projection{}.Name():   chimenumbers.Projection{},
		chimemeetings.Projection{}.Name():  chimemeetings.Projection{},
		chimecalls.Projection{}.Name():     chimecalls.Projection{},
		chimedash.Projection{}.Name():      chimedash.Projection{},
		chimeusagerm.Projection{}.Name():   chimeusagerm.Projection{},
		chimerooms.Projection{}.Name():     chimerooms.Projection{},
		chimeconvs.Projection{}.Name():     chimeconvs.Projection{},
		chimeretention.Projection{}.Name(): chimeretention.Projection{},
		iamrm.Projection{}.Name():          iamrm.Projection{},
		history.Projection{}.Name():        history.Projection{},
		wickrnetworks.Projection{}.Name():  wickrnetworks.Projection{},
		wickrusers.Projection{}.Name():     wickrusers.Projection{},
		wickrguests.Projection{}.Name():    wickrguests.Projection{},
		wickrstats.Projection{}.Name():     wickrstats.Projection{},
		wickrdel.Projection{}.Name():       wickrdel.Projection{},

		wickrconversations.Projection{}.Name(): wickrconversations.Projection{},
		wickrarchiverm.Projection{}.Name():     wickrarchiverm.Projection{},
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

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const adminUsage = `usage:
  belfry admin create-access-key [--user NAME] [--policy MANAGED]... [--json]
  belfry admin attach-policy --user NAME --policy MANAGED
  belfry admin detach-policy --user NAME --policy NAME
  belfry admin put-user-policy --user NAME --name POLICY --document FILE   (FILE "-" reads standard input)
  belfry admin list-user-policies --user NAME
  belfry admin list-access-keys [--user NAME]
  belfry admin deactivate-access-key --key ID | activate-access-key --key ID | delete-access-key --key ID
managed policies: ` + "AdministratorAccess, AmazonChimeFullAccess, AmazonChimeReadOnly, AmazonChimeUserManagement"

// projectionsUsage refuses arguments `belfry projections` does not take (before anything opens).
func projectionsUsage(args []string) error {
	switch {
	case len(args) == 1 && args[0] == "status", len(args) == 2 && args[0] == "status" && args[1] == "--json":
		return nil
	case len(args) == 2 && (args[0] == "rebuild" || args[0] == "retry"):
		return nil
	}
	return fmt.Errorf("usage: belfry projections status [--json] | rebuild NAME | retry NAME (got %q)", strings.Join(args, " "))
}

func cmdProjections(ctx context.Context, cfg Config, args []string) error {
	if err := projectionsUsage(args); err != nil {
		return err
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
		st, err := projections.Report(ctx, pool, client)
		if err != nil {
			return err
		}
		if len(args) == 2 { // --json
			return json.NewEncoder(os.Stdout).Encode(st)
		}
		return printStatus(os.Stdout, st)
	case "rebuild":
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
	case "retry":
		return retryParked(ctx, pool, client, args[1])
	}
	return fmt.Errorf("unknown projections command %q", args[0])
}

// printStatus prints the status table, then each projection's parked events.
func printStatus(out io.Writer, st []projections.Status) error {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROJECTION\tGENERATION\tVERSION\tHEAD\tCHECKPOINT\tLAG(events)\tLAG(s)\tAPPLIED\tPARKED")
	for _, s := range st {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\t%d\n", s.Name, s.Generation, s.Version, s.Head, s.Checkpoint, s.LagEvents, s.LagSeconds, s.Events, s.Parked)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, s := range st {
		if s.Parked == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s: %d parked event(s) (belfry projections retry %s re-applies them after a fix)\n", s.Name, s.Parked, s.Name)
		w = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  POSITION\tSTREAM\tEVENT#\tTYPE\tATTEMPTS\tPARKED AT\tERROR")
		for _, e := range s.ParkedEvents {
			fmt.Fprintf(w, "  %d\t%q\t%d\t%q\t%d\t%s\t%s\n", e.Position, e.StreamID, e.EventNumber, e.EventType, e.Attempts,
				e.ParkedAt.UTC().Format("2006-01-02T15:04:05Z"), e.Error)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if len(s.ParkedEvents) < s.Parked {
			fmt.Fprintf(out, "  … and %d more (--json lists the first %d too)\n", s.Parked-len(s.ParkedEvents), projections.MaxStatusParked)
		}
	}
	return nil
}

// retryParked is `belfry projections retry NAME`; see projections.Retry for what it guarantees
// (a retried event is applied after the events applied since it was parked: out of order). It fails
// when an event stays parked, so that a script notices.
func retryParked(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, name string) error {
	p, ok := allProjections()[name]
	if name == (sideeffects.Relay{}).Name() {
		p, ok = sideeffects.Relay{}, true
	}
	if !ok {
		return fmt.Errorf("unknown projection %q", name)
	}
	out, err := projections.Retry(ctx, pool, client, p)
	applied := 0
	for _, o := range out {
		if o.Applied {
			applied++
			fmt.Fprintf(os.Stderr, "  position %d (%q #%d): applied\n", o.Event.Position, o.Event.StreamID, o.Event.EventNumber)
		} else {
			fmt.Fprintf(os.Stderr, "  position %d (%q #%d): still parked: %s\n", o.Event.Position, o.Event.StreamID, o.Event.EventNumber, o.StillFailing)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %d of %d parked event(s) applied, out of order after the events applied since they were parked\n", name, applied, len(out))
	if err != nil {
		return err
	}
	if applied < len(out) {
		return fmt.Errorf("%s: %d event(s) still parked", name, len(out)-applied)
	}
	return nil
}

// parseFlags parses a subcommand's flags and refuses any argument left over: the flag package stops
// at the first argument that is not a flag, so the flags after a stray word would be silently ignored.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (the flags after it would be ignored): every option is a --flag", fs.Name(), fs.Arg(0))
	}
	return nil
}

// refuseFlags refuses the flags set on the command line that the subcommand does not use.
func refuseFlags(fs *flag.FlagSet, unused ...string) error {
	for _, name := range unused {
		if flagSet(fs, name) {
			return fmt.Errorf("%s does not take --%s", fs.Name(), name)
		}
	}
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
