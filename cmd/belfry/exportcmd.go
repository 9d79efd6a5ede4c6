package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/belfry/belfry/api/chime/legalhold"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
	chimeconvs "github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimerooms"
)

const exportUsage = "usage: belfry export messages --account ID [--user ID] --from TIME --to TIME --out FILE [--catch-up-stall 1m]"

// cmdExport runs `belfry export messages` (api/chime/legalhold): the JSON Lines legal-hold export of
// an account's (or a user's) Chime messages, resumable.
func cmdExport(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 || args[0] != "messages" {
		return fmt.Errorf("%s", exportUsage)
	}
	fs := flag.NewFlagSet("export messages", flag.ContinueOnError)
	acct := fs.String("account", "", "the Chime account")
	user := fs.String("user", "", "only the rooms and conversations this user is or was a member of")
	from := fs.String("from", "", "first instant (RFC 3339, or a date: its UTC midnight)")
	to := fs.String("to", "", "end instant, excluded (RFC 3339, or a date)")
	out := fs.String("out", "", "the JSON Lines file (an interrupted export resumes in it)")
	stall := catchUpFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	q := legalhold.Query{AccountID: *acct, UserID: *user}
	var err error
	if q.From, err = parseInstant("--from", *from); err != nil {
		return err
	}
	if q.To, err = parseInstant("--to", *to); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required; %s", exportUsage)
	}
	if err := q.Check(); err != nil {
		return err
	}
	var closers closerList
	defer closers.close()
	pool, err := openDatabase(ctx, cfg, closers.add)
	if err != nil {
		return err
	}
	client, _, _, err := openEventStore(ctx, cfg, pool, nil, closers.add)
	if err != nil {
		return err
	}
	keys, err := openDataKeys(ctx, cfg, pool, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	if err := newCatchUpper(*stall, os.Stderr).run(ctx, pool, client, chimeaccounts.Projection{}, chimerooms.Projection{}, chimeconvs.Projection{}); err != nil {
		return err
	}
	x := legalhold.New(legalhold.Deps{Rooms: chimerooms.NewStore(pool), Conversations: chimeconvs.NewStore(pool), Accounts: chimeaccounts.NewIndex(pool),
		Keys: keys, Attachments: blobstore.New(cfg.blobDir(), pool, keys)})
	p, resumed, err := x.ExportFile(ctx, q, *out, func(p legalhold.Progress) {
		if p.Messages == 0 {
			return
		}
		fmt.Fprintf(os.Stderr, "\rexport: %d messages written, up to %s", p.Messages, p.Last.UTC().Format(time.RFC3339))
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d messages (%d were there from an earlier run, %d added)\n", *out, resumed+p.Messages, resumed, p.Messages)
	return nil
}

// parseInstant reads an RFC 3339 time or a date (its UTC midnight).
func parseInstant(flagName, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time or a date (YYYY-MM-DD), not %q", flagName, v)
	}
	return t, nil
}
