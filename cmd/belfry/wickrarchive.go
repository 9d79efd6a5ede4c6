package main

import (
	"context"
	"path/filepath"
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
	return projections.NewRunner(pool, client, wickrarchiverm.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
}

// newWickrArchive builds the shipper (its target: Main.WickrArchive, or a directory under the data
// directory), which archives messages' files from the blob store too.
func newWickrArchive(m *Main, pool *pgxpool.Pool, keys *datakeys.Store) {
	target := m.WickrArchive
	if target == nil {
		target = objstore.DirTarget{Dir: filepath.Join(m.cfg.DataDir, "wickr-retention"), Name: "wickr-retention"}
	}
	m.wickr.archive = wickrarchive.New(wickrarchiverm.NewStore(pool), keys, target, pool,
		wickrarchive.Config{FileSize: m.WickrArchiveFileSize, Rotate: m.WickrArchiveRotate, Now: m.Now, Logger: m.logger,
			Files: blobstore.New(m.cfg.blobDir(), pool, keys)})
}

// runWickrArchive ships every second (or every SweepEvery when shorter) until ctx ends.
func runWickrArchive(m *Main, ctx context.Context) {
	every := time.Second
	if m.SweepEvery > 0 && m.SweepEvery < every {
		every = m.SweepEvery
	}
	m.spawn(func() { m.wickr.archive.Run(ctx, every) })
}
