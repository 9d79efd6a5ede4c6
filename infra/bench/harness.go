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

	"github.com/jackc/pgx/v5"

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
