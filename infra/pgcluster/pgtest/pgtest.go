// Package pgtest gives tests a real PostgreSQL: one private cluster per test binary (started from the
// machine's binaries with pgcluster, fsync off), and a fresh database per test.
//
// Set BELFRY_TEST_PG_URL to an admin URL of a running server to use that server instead.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/infra/pgcluster"
)

var (
	adminURL string
	counter  atomic.Int64
)

// Main starts the cluster, runs the tests and stops the cluster. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if u := os.Getenv("BELFRY_TEST_PG_URL"); u != "" {
		adminURL = u
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "belfry-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Fast: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: start private PostgreSQL:", err)
		return 1
	}
	defer c.Stop()
	adminURL = c.URL("postgres")
	return m.Run()
}

// NewDatabase creates an empty database for this test and returns its URL; it is dropped afterwards.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if adminURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String()
}
