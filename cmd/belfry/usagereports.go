package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/usagereports"
	chimeusage "github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	chimeusagerm "github.com/belfry/belfry/projections/chimeusage"
)

var usageDecider = eventstore.DeciderOf[chimeusage.State, chimeusage.Command, chimeusage.Event](chimeusage.Initial, chimeusage.Evolve, chimeusage.Decide, chimeusage.Decode)

// usageLog is the event log as the usage reports read it.
type usageLog struct{ client *esdb.Client }

func (l usageLog) Head(ctx context.Context) (uint64, error) { return eventstore.Head(ctx, l.client) }

func (l usageLog) Pass(ctx context.Context, prefixes []string, to uint64, fn func(stream, eventType string, position uint64, data []byte) error) error {
	return eventstore.Pass(ctx, l.client, prefixes, 0, to, func(ev *esdb.RecordedEvent) error {
		if !chimeusage.Wants(ev.StreamID, ev.EventType) {
			return nil
		}
		return fn(ev.StreamID, ev.EventType, ev.Position.Commit, ev.Data)
	})
}

func (l usageLog) ReadStream(ctx context.Context, stream string, to uint64, fn func(eventType string, position uint64, data []byte) error) error {
	return eventstore.StreamPass(ctx, l.client, stream, to, func(ev *esdb.RecordedEvent) error {
		return fn(ev.EventType, ev.Position.Commit, ev.Data)
	})
}

// usageTargets are the buckets of the reports configuration, as usage-report objects.
type usageTargets struct{ ReportsConfig }

func (t usageTargets) For(bucket string) usagereports.Objects { return t.target(bucket) }

// newUsageReports builds the usage-report slice of m's configuration, over the usage read model.
func newUsageReports(m *Main, pool *pgxpool.Pool, client *esdb.Client) *usagereports.Service {
	reports := m.cfg.Reports
	if reports.Dir == "" {
		reports.Dir = filepath.Join(m.cfg.DataDir, "reports")
	}
	if reports.Region == "" {
		reports.Region = m.cfg.Region
	}
	return usagereports.New(usagereports.Deps{Log: usageLog{client}, Activity: chimeusagerm.NewStore(pool), Reports: newRepo(client, usageDecider, m.Now),
		Settings: newRepo(client, settingsDecider, m.Now), Targets: usageTargets{reports}, Logger: m.logger, Now: m.Now})
}

// usageEvery is the period of the weekly job's rounds (0: off).
func (c Config) usageEvery() (time.Duration, error) {
	switch c.Reports.UsageEvery {
	case "off":
		return 0, nil
	case "":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(c.Reports.UsageEvery)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("BELFRY_USAGE_REPORT_INTERVAL must be a duration of at least 1s or off, not %q", c.Reports.UsageEvery)
	}
	return d, nil
}

// startUsageReports runs m's weekly usage-report job until runCtx ends (a function: Main is at its 25 methods).
func startUsageReports(m *Main, runCtx context.Context, svc *usagereports.Service) error {
	every, err := m.cfg.usageEvery()
	if err != nil || every == 0 {
		return err
	}
	m.spawn(func() { svc.Job().Run(runCtx, every) })
	return nil
}

// cmdReportsGenerate runs `belfry reports generate`.
func cmdReportsGenerate(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("reports generate", flag.ContinueOnError)
	week := fs.String("week", "", "the Sunday the week starts on (YYYY-MM-DD)")
	dir := fs.String("dir", "", "directory target (default: each AWS account's usage-report bucket)")
	bucket := fs.String("bucket", "", "S3 bucket target (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	endpoint := fs.String("endpoint", "", "S3-compatible endpoint URL (default AWS S3)")
	fromLog := fs.Bool("from-log", false, "pass over the whole log even when the usage read model has caught up")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := time.Parse("2006-01-02", *week)
	if err != nil {
		return fmt.Errorf("--week %q: give the Sunday the week starts on, such as 2026-11-22\n%s", *week, reportsUsage)
	}
	o := usagereports.Options{FromLog: *fromLog}
	switch {
	case *dir != "" && *bucket != "":
		return errors.New("give --dir or --bucket, not both\n" + reportsUsage)
	case *dir != "":
		o.Out = objstore.DirTarget{Dir: *dir, Name: "usage-reports"}
	case *bucket != "":
		o.Out = s3Target(*bucket, *endpoint, cfg.Region)
	}
	o.Progress = os.Stderr
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
	m := &Main{cfg: cfg, logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), Now: time.Now}
	st, err := newUsageReports(m, pool, client).Generate(ctx, w, o)
	source := "activity from a pass over the log"
	if st.FromReadModel {
		source = "directories from the log, activity from the usage read model"
	}
	fmt.Fprintf(os.Stderr, "usage reports of the week of %s: %d written, %d already present, %d recorded, %d not due, %d failed (%d events read, %d skipped: they do not decode; %s)\n",
		w.Format("2006-01-02"), st.Written, st.Kept, st.Records, st.Skipped, st.Failed, st.Events, st.Unreadable, source)
	return err
}
