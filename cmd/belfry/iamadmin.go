package main

import (
	"context"
	"errors"
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
	if _, err := iam.ImportLegacy(ctx, pool, cmds, keys); err != nil {
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
	return &iamAdmin{svc: svc, read: read, rm: rm, client: client}, nil
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
