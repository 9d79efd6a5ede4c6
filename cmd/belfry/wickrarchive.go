package main

import (
	"context"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/wickrarchive"
	"github.com/belfry/belfry/projections"
	wickrarchiverm "github.com/belfry/belfry/projections/wickrarchive"
)

// This file wires the Wickr data-retention archive (infra/wickrarchive): its read model and the
// shipper that writes each enabled network's messages to the archive target.

// wickrArchiveRunner builds the archive's read model runner.
func wickrArchiveRunner(m *Main, pool *pgxpool.Pool, client *esdb.Client, pm *projections.Metrics) *projections.Runner {
	m.wickr.archiveRM = projections.NewRunner(pool, client, wickrarchiverm.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond})
	return m.wickr.archiveRM
}

// newWickrArchive builds the shipper, which archives messages' files from the blob store too: its
// target and rotation are the configuration's (Config.WickrArchive), Main's fields override them
// (tests).
func newWickrArchive(m *Main, pool *pgxpool.Pool, keys *datakeys.Store) {
	ac := m.cfg.WickrArchive
	target := m.WickrArchive
	if target == nil {
		target = ac.target(m.cfg.DataDir)
	}
	size, rotate := ac.fileSize(), ac.rotate()
	if m.WickrArchiveFileSize > 0 {
		size = m.WickrArchiveFileSize
	}
	if m.WickrArchiveRotate > 0 {
		rotate = m.WickrArchiveRotate
	}
	m.wickr.archiveTo = func(target objstore.Target, metrics *wickrarchive.Metrics) *wickrarchive.Shipper {
		return wickrarchive.New(wickrarchiverm.NewStore(pool), keys, target, pool,
			wickrarchive.Config{Prefix: ac.prefix(), BaseName: ac.BaseName, FileSize: size, Rotate: rotate, Now: m.Now, Logger: m.logger,
				Files: blobstore.New(m.cfg.blobDir(), pool, keys), Metrics: metrics})
	}
	m.wickr.archive = m.wickr.archiveTo(target, wickrarchive.NewMetrics(m.reg))
	m.logger.Info("wickr data-retention archive", "target", target.String(), "prefix", ac.prefix())
}

// runWickrArchive ships every second (or every SweepEvery when shorter) until ctx ends.
func runWickrArchive(m *Main, ctx context.Context) {
	every := time.Second
	if m.SweepEvery > 0 && m.SweepEvery < every {
		every = m.SweepEvery
	}
	m.spawn(func() { m.wickr.archive.Run(ctx, every) })
}
