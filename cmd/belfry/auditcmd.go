package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventlog/chain"
)

const auditUsage = `usage:
  belfry audit verify [--from POS] [--to POS] [--json]       recompute the event log's chain and check its signed checkpoints
  belfry audit verify --dir EXPORT [--to POS] [--public-key FILE]
                                                             the same, offline, on an export (--to: the last
                                                             position the log is known to have had, to be proven)
  belfry audit export-log --out DIR                            export the log (events, digests, chain, checkpoints) for offline verification
  belfry audit public-key                                      print the checkpoint signing key's public key (PEM)`

func cmdAudit(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return errors.New(auditUsage + "\n" + trailUsage)
	}
	switch args[0] {
	case "export", "verify-trail", "trail-key":
		return cmdTrail(ctx, cfg, args)
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	from := fs.Uint64("from", 0, "first position to verify (verification starts at the last checkpoint before it)")
	to := fs.Uint64("to", 0, "last position to verify (0: the head)")
	dir := fs.String("dir", "", "verify this export directory instead of the database")
	pubFile := fs.String("public-key", "", "the public key to trust (default: "+eventlog.PublicKeyFile+" in BELFRY_DATA_DIR)")
	out := fs.String("out", "", "export directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	keyPath := *pubFile
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, eventlog.PublicKeyFile)
	}
	switch args[0] {
	case "public-key":
		b, err := os.ReadFile(keyPath)
		if err != nil {
			return fmt.Errorf("%w (the key is created by the first start of the embedded event log)", err)
		}
		_, err = os.Stdout.Write(b)
		return err
	case "export-log":
		if *out == "" {
			return errors.New("export-log needs --out DIR")
		}
		var cl closerList
		defer cl.close()
		pool, err := openDatabase(ctx, cfg, cl.add)
		if err != nil {
			return err
		}
		n, err := eventlog.Export(ctx, pool, *out, func(p uint64) { fmt.Fprintf(os.Stderr, "exported up to position %d\n", p) })
		if err == nil {
			fmt.Fprintf(os.Stderr, "exported %d events to %s\n", n, *out)
		}
		return err
	case "verify":
		pub, err := readPublicKey(keyPath)
		if err != nil {
			return err
		}
		return auditVerify(ctx, cfg, pub, *dir, eventlog.VerifyRange{From: *from, To: *to}, *asJSON)
	}
	return errors.New(auditUsage + "\n" + trailUsage)
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the public key: %w (give --public-key FILE)", err)
	}
	return eventlog.ParsePublicKey(b)
}

func auditVerify(ctx context.Context, cfg Config, pub ed25519.PublicKey, dir string, r eventlog.VerifyRange, asJSON bool) error {
	started := time.Now()
	var res chain.Result
	var err error
	if dir != "" {
		if r.From > 0 {
			return errors.New("audit verify: --from verifies a range of the database's log; an export (--dir) is verified whole")
		}
		res, err = eventlog.VerifyExportProgress(dir, pub, 0, func(n uint64) { fmt.Fprintf(os.Stderr, "checked %d events\n", n) })
		if err == nil {
			res = exportReaches(res, r.To)
		}
	} else {
		var cl closerList
		defer cl.close()
		pool, perr := openDatabase(ctx, cfg, cl.add)
		if perr != nil {
			return perr
		}
		r.Progress = func(n uint64) { fmt.Fprintf(os.Stderr, "checked %d events\n", n) }
		res, err = eventlog.Verify(ctx, pool, pub, r)
	}
	if err != nil {
		return err
	}
	took := time.Since(started)
	unsigned := unsignedNotice(res, r, dir != "")
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("checked %d events (last position %d) in %s with key %s; signed checkpoints cover up to %d\n",
			res.Rows, res.Last, took.Round(time.Millisecond), chain.KeyID(pub), res.SignedUpTo)
		if unsigned != "" {
			fmt.Println(unsigned)
		}
		for _, p := range res.Problems {
			fmt.Println("  " + p.String())
		}
	}
	if !res.OK() {
		return fmt.Errorf("verification found %d problem(s)", len(res.Problems)+res.Dropped)
	}
	if unsigned != "" && r.To > 0 {
		return errors.New(unsigned) // a range asked for by its end is not proven to its end
	}
	return nil
}

// exportReaches holds an export to the end the auditor knows the log had (to, from a source the
// auditor trusts; 0: none): an export that ends before it lost events from its end, which nothing in
// the export can show once its checkpoints past its new end are gone too.
func exportReaches(res chain.Result, to uint64) chain.Result {
	if to > res.Last {
		res.Problems = append(res.Problems, chain.Problem{Kind: chain.Removed, Position: res.Last + 1, To: to,
			Detail: fmt.Sprintf("the export ends at position %d, before --to %d: the events after it are missing", res.Last, to)})
	}
	return res
}

// unsignedNotice says which positions of the verified range (up to r.To, 0: the whole log) no signed
// checkpoint covers, and what to do; "" when the checkpoints cover it all. res.SignedUpTo is at least
// the checkpoint the verification started from. export: the range is an export's (--dir).
func unsignedNotice(res chain.Result, r eventlog.VerifyRange, export bool) string {
	end := res.Last
	if r.To > 0 {
		end = min(r.To, res.Last)
	}
	if res.SignedUpTo >= end {
		return ""
	}
	msg := fmt.Sprintf("positions %d to %d are not covered by a signed checkpoint, so their chain proves nothing yet: Belfry signs one "+
		"every 10 s while the log grows and when it stops cleanly (a log whose checkpoints are missing should have them): "+
		"verify again after the next one", res.SignedUpTo+1, end)
	if export {
		msg = fmt.Sprintf("positions %d to %d of the export are not covered by a signed checkpoint in it, so their chain proves nothing: "+
			"an export cut short, or stripped of its checkpoints, looks like this; give --to the last position you know the log had "+
			"to have it refused, or export again after the log's next checkpoint", res.SignedUpTo+1, end)
	}
	if res.SignedUpTo >= max(r.From, 1) {
		msg += fmt.Sprintf(", or up to --to %d", res.SignedUpTo)
	}
	return msg
}
