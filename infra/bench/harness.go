package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster"
)

// Postgres is the server a benchmark's scratch database is created on: AdminURL (any database of
// that server), or, when AdminURL is empty, the private cluster in DataDir/postgres.
type Postgres struct {
	AdminURL string
	DataDir  string
}

// ScratchDatabase recreates an empty database named name on p and returns its URL and a function
// that releases the private cluster (a no-op when p.AdminURL is set). The database is dropped first
// whatever it holds: name must be a benchmark's own.
func ScratchDatabase(ctx context.Context, p Postgres, name string) (string, func(), error) {
	stop := func() {}
	adminURL := p.AdminURL
	if adminURL == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(p.DataDir, "postgres")})
		if err != nil {
			return "", stop, err
		}
		stop = func() { _ = c.Stop() }
		adminURL = c.URL("postgres")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", stop, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", stop, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", stop, fmt.Errorf("bench: scratch database: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", stop, fmt.Errorf("bench: scratch database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), stop, nil
}

// setDatabaseOption sets a server option for every later session of the database at url.
func setDatabaseOption(ctx context.Context, url, name, value string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET %s = %s", conn.Config().Database, name, value)); err != nil {
		return fmt.Errorf("bench: set %s: %w", name, err)
	}
	return nil
}

// StartCPUProfile writes a CPU profile to path until the returned stop is called; an empty path
// profiles nothing.
func StartCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// ReportPath is path, or when it is empty the default report file of a benchmark kind started at
// startedAt: bench-results/<kind>-<UTC time>.json.
func ReportPath(path, kind string, startedAt time.Time) string {
	if path != "" {
		return path
	}
	return filepath.Join("bench-results", kind+"-"+startedAt.Format("20060102T150405Z")+".json")
}

// WriteJSON writes report, indented, to path, creating its directory.
func WriteJSON(path string, report any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// OpenLog opens a pool of at most maxConns connections (0: pgx's default) on the database at url,
// runs migrate on it when given (the embedded log applies its own migrations in any case), starts an
// embedded event log on it and connects to it; closeAll stops them in reverse order.
func OpenLog(ctx context.Context, url string, maxConns int32, migrate func(context.Context, *pgxpool.Pool) error) (pool *pgxpool.Pool,
	client *esdb.Client, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, nil, err
	}
	if maxConns > 0 {
		pc.MaxConns = maxConns
	}
	if pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, pool.Close)
	if migrate != nil {
		if err = migrate(ctx, pool); err != nil {
			return nil, nil, nil, err
		}
	}
	srv, err := eventlog.Start(ctx, pool, eventlog.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, func() { _ = srv.Close() })
	if client, err = eventstore.Connect(srv.URL()); err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, func() { _ = client.Close() })
	return pool, client, closeAll, nil
}
