package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/infra/carrier"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimecalls"
)

var callDecider = eventstore.DeciderOf[call.State, call.Command, call.Event](call.Initial, call.Evolve, call.Decide, call.Decode)

// ReportsConfig says where reports and CDRs go: a bucket named in the global settings is the
// directory Dir/<bucket> (BELFRY_REPORTS_DIR, default <data dir>/reports), or, with Endpoint set
// (BELFRY_REPORTS_S3_ENDPOINT), that bucket on an S3-compatible service (credentials: the standard
// AWS_* variables; region BELFRY_REPORTS_S3_REGION, default the server's region). UsageEvery is
// the period of the weekly usage-report job's rounds (BELFRY_USAGE_REPORT_INTERVAL, default 1h; off:
// never).
type ReportsConfig struct {
	Dir        string `json:"reportsDir"`
	Endpoint   string `json:"reportsS3Endpoint,omitempty"`
	Region     string `json:"reportsS3Region,omitempty"`
	UsageEvery string `json:"usageReportInterval,omitempty"`
}

func reportsConfigFromEnv(get func(k, def string) string, dataDir, region string) ReportsConfig {
	return ReportsConfig{Dir: get("BELFRY_REPORTS_DIR", filepath.Join(dataDir, "reports")), Endpoint: get("BELFRY_REPORTS_S3_ENDPOINT", ""),
		Region: get("BELFRY_REPORTS_S3_REGION", region), UsageEvery: get("BELFRY_USAGE_REPORT_INTERVAL", "1h")}
}

// For implements calls.CDRTargets.
func (r ReportsConfig) For(bucket string) calls.Objects { return r.target(bucket) }

func (r ReportsConfig) target(bucket string) objstore.Target {
	if r.Endpoint != "" {
		return s3Target(bucket, r.Endpoint, r.Region)
	}
	return objstore.DirTarget{Dir: filepath.Join(r.Dir, bucket), Name: bucket}
}

// callDeps are the collaborators newCalls shares with the other slices.
type callDeps struct {
	accounts  usecase.Repository[account.State, account.Command, account.Event]
	directory *chimeaccounts.Store
	meetings  calls.Meetings
	numbers   calls.Numbers
}

// newCalls builds the Business Calling slice of m's configuration, over the event store and the read
// models.
func newCalls(m *Main, pool *pgxpool.Pool, client *esdb.Client, d callDeps) *calls.Service {
	car := m.Carrier
	if car == nil {
		car = &carrier.Sim{} // the simulated phone network, in real time
	}
	reports := m.cfg.Reports
	if reports.Dir == "" {
		reports.Dir = filepath.Join(m.cfg.DataDir, "reports")
	}
	if reports.Region == "" {
		reports.Region = m.cfg.Region
	}
	return calls.New(calls.Deps{Calls: newRepo(client, callDecider, m.Now), Settings: newRepo(client, settingsDecider, m.Now), Accounts: d.accounts,
		AccountState: d.accounts, Directory: d.directory, Carrier: car, CDRs: reports, Live: chimecalls.NewStore(pool), Meetings: d.meetings,
		Numbers: d.numbers, Logger: m.logger, Now: m.Now})
}

// endInterruptedCalls ends the calls that were up before this process started (see
// calls.Service.EndInterrupted); run on every sweep.
func endInterruptedCalls(ctx context.Context, logger *slog.Logger, svc *calls.Service, startedAt time.Time) {
	if n, err := svc.EndInterrupted(ctx, startedAt); err != nil {
		logger.Warn("ending calls interrupted by the restart failed; it resumes on the next sweep", "err", err)
	} else if n > 0 {
		logger.Info("ended calls interrupted by the restart", "calls", n)
	}
}

// endCallsAtClose ends the calls still up when the server stops cleanly (reason ServiceRestart), so
// that none stays "in progress" while no one carries it; the sweep of the next start ends any this
// misses (the read model may not list the newest yet, or the process may be killed).
func endCallsAtClose(logger *slog.Logger, svc *calls.Service, now func() time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	endInterruptedCalls(ctx, logger, svc, now().Add(time.Hour))
}
