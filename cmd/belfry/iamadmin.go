package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/belfry/iamadmin"
	domainiam "github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/iam"
	"github.com/belfry/belfry/projections"
	iamrm "github.com/belfry/belfry/projections/iam"
)

// shellOperator is the account running a `belfry admin` command, as the audit trail shows it.
func shellOperator() iamadmin.Operator {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid-%d", os.Getuid())
	}
	host, _ := os.Hostname()
	return iamadmin.Operator{Name: name, Host: host, Via: "belfry-cli"}
}

// iamAdmin wires the IAM use cases for a process: the legacy-table takeover, the IAM command path,
// the audit writer and the waiter on the IAM read model.
type iamAdmin struct {
	svc    *iamadmin.Service
	read   *iamrm.Store
	rm     *projections.Runner
	client *esdb.Client
}

// newIAMAdmin builds the IAM use cases on an open database and event store. With rm nil it runs the
// IAM read model itself until owner's closers stop it (a CLI process beside, or without, a server:
// runners of one projection in several processes apply each event once).
func newIAMAdmin(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, keys *datakeys.Store, rec iamadmin.Recorder,
	rm *projections.Runner, op iamadmin.Operator, region string, owner func(func() error)) (*iamAdmin, error) {
	cmds := iam.NewCommands(client)
	imported, err := iam.ImportLegacy(ctx, pool, cmds, keys)
	if err != nil {
		return nil, err
	}
	if rm == nil {
		if _, _, err := projections.Ensure(ctx, pool, iamrm.Projection{}); err != nil {
			return nil, err
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		rm = projections.NewRunner(pool, client, iamrm.Projection{}, projections.RunnerConfig{Logger: quiet})
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); _ = rm.Run(rctx) }()
		owner(func() error { cancel(); <-done; return nil })
	}
	read := iamrm.NewStore(pool)
	acct, err := read.AwsAccountID(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := iamadmin.New(iamadmin.Config{Commands: cmds, Secrets: keys, Audit: rec, ReadModel: rm,
		AwsAccountID: acct, Operator: op, Region: region})
	if err != nil {
		return nil, err
	}
	a := &iamAdmin{svc: svc, read: read, rm: rm, client: client}
	if imported > 0 {
		// Keys taken over from the old tables authenticate from the read model: the server answers
		// only once it holds them.
		if err := a.caughtUp(ctx); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// openCLIAdmin opens everything a `belfry admin` command needs.
func openCLIAdmin(ctx context.Context, cfg Config, owner func(func() error)) (*iamAdmin, error) {
	pool, err := openDatabase(ctx, cfg, owner)
	if err != nil {
		return nil, err
	}
	client, _, _, err := openEventStore(ctx, cfg, pool, nil, owner)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	aw := auditlog.New(client, auditlog.Config{Appenders: 1, Logger: quiet})
	owner(func() error { aw.Close(); return nil })
	return newIAMAdmin(ctx, pool, client, datakeys.New(pool), aw, nil, shellOperator(), cfg.Region, owner)
}

// caughtUp waits until the IAM read model has applied the IAM stream's last event (for the CLI's reads).
func (a *iamAdmin) caughtUp(ctx context.Context) error {
	rs, err := a.client.ReadStream(ctx, domainiam.Stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) || eventstore.IsCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.rm.WaitFor(wctx, ev.OriginalEvent().Position.Commit)
}

// adminFlags are the options of the `belfry admin` commands.
type adminFlags struct {
	fs       *flag.FlagSet
	user     *string
	policies multiFlag
	asJSON   *bool
	name     *string
	docPath  *string
	keyID    *string
}

func parseAdminFlags(cmd string, args []string) (*adminFlags, error) {
	f := &adminFlags{fs: flag.NewFlagSet("admin "+cmd, flag.ContinueOnError)}
	f.user = f.fs.String("user", "admin", "principal (IAM user) name")
	f.fs.Var(&f.policies, "policy", "managed policy name (repeatable)")
	f.asJSON = f.fs.Bool("json", false, `print {"AccessKeyId": ..., "SecretAccessKey": ...}`)
	f.name = f.fs.String("name", "", "inline policy name")
	f.docPath = f.fs.String("document", "", "inline policy document (JSON file, - for stdin)")
	f.keyID = f.fs.String("key", "", "access key id")
	return f, parseFlags(f.fs, args)
}

func cmdAdmin(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return errors.New(adminUsage)
	}
	f, err := parseAdminFlags(args[0], args[1:])
	if err != nil {
		return err
	}
	var cl closerList
	defer cl.close()
	a, err := openCLIAdmin(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create-access-key":
		return a.createKey(ctx, f)
	case "attach-policy", "detach-policy":
		if len(f.policies) == 0 {
			return errors.New(args[0] + " needs --policy")
		}
		for _, p := range f.policies {
			op := a.svc.AttachManaged
			if args[0] == "detach-policy" {
				op = a.svc.Detach
			}
			if err := op(ctx, *f.user, p); err != nil {
				return err
			}
		}
		return nil
	case "put-user-policy":
		if *f.name == "" || *f.docPath == "" {
			return errors.New("put-user-policy needs --name and --document")
		}
		raw, err := readPolicyDocument(*f.docPath)
		if err != nil {
			return err
		}
		return a.svc.PutInlineDocument(ctx, *f.user, *f.name, raw) // parsed, and refused, in the audited call
	case "deactivate-access-key", "activate-access-key", "delete-access-key":
		if *f.keyID == "" {
			return errors.New(args[0] + " needs --key")
		}
		if args[0] == "delete-access-key" {
			return a.svc.DeleteAccessKey(ctx, *f.keyID)
		}
		return a.svc.SetKeyActive(ctx, *f.keyID, args[0] == "activate-access-key")
	case "list-access-keys", "list-user-policies":
		return a.list(ctx, args[0], f)
	}
	return errors.New(adminUsage)
}

func (a *iamAdmin) createKey(ctx context.Context, f *adminFlags) error {
	k, err := a.svc.CreateAccessKey(ctx, *f.user, f.policies)
	if err != nil {
		return err
	}
	if refs, err := a.read.Policies(ctx, *f.user); err == nil && len(refs) == 0 {
		fmt.Fprintf(os.Stderr, "note: %s has no policies yet, so every call is denied; attach one with --policy or `belfry admin attach-policy`\n", *f.user)
	}
	if *f.asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]string{"AccessKeyId": k.AccessKeyID, "SecretAccessKey": k.SecretAccessKey})
	}
	fmt.Printf("Access key for %s (the secret is shown once):\n  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n  AWS account id: %s\n",
		k.UserName, k.AccessKeyID, k.SecretAccessKey, k.AwsAccountID)
	return nil
}

// list answers the read commands from the IAM read model once it has applied the whole IAM stream.
func (a *iamAdmin) list(ctx context.Context, cmd string, f *adminFlags) error {
	if err := a.caughtUp(ctx); err != nil {
		return err
	}
	if cmd == "list-user-policies" {
		refs, err := a.read.Policies(ctx, *f.user)
		if err != nil {
			return err
		}
		return printJSON(map[string]any{"UserName": *f.user, "Policies": refs})
	}
	u := *f.user
	if !flagSet(f.fs, "user") {
		u = ""
	}
	keys, err := a.read.AccessKeys(ctx, u)
	if err != nil {
		return err
	}
	return printJSON(map[string]any{"AccessKeyMetadata": keys})
}

// readPolicyDocument reads a policy document's bytes (at most 1 MiB; "-": standard input).
func readPolicyDocument(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
