package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// hangingClose is a Close that never returns before the test ends (a step waiting on a goroutine
// that ignores its context, a database that stopped answering).
func hangingClose(t *testing.T) func() error {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func() error { <-release; return nil }
}

// TestSecondSignalCutsTheStopShort: a second SIGINT/SIGTERM during the stop of `belfry serve` ends
// it at once. The first signal used to be the only one watched (signal.NotifyContext swallows the
// next ones), so a stop that hung could only be ended with SIGKILL.
func TestSecondSignalCutsTheStopShort(t *testing.T) {
	t.Parallel()
	again := make(chan os.Signal, 1)
	again <- syscall.SIGTERM
	done := make(chan error, 1)
	go func() { done <- stopWithin(hangingClose(t), again, time.Hour) }()
	select {
	case err := <-done:
		if !errors.Is(err, errStopCutShort) {
			t.Fatalf("stop ended with %v, want errStopCutShort", err)
		}
	case <-time.After(time.Minute): // a liveness bound
		t.Fatal("a second signal did not end a hanging stop")
	}
}

// TestStopPastItsBoundIsCutShort: a stop that does not finish within its bound ends with
// errStopCutShort instead of hanging the process forever.
func TestStopPastItsBoundIsCutShort(t *testing.T) {
	t.Parallel()
	done := make(chan error, 1)
	go func() { done <- stopWithin(hangingClose(t), nil, time.Millisecond) }()
	select {
	case err := <-done:
		if !errors.Is(err, errStopCutShort) {
			t.Fatalf("stop ended with %v, want errStopCutShort", err)
		}
	case <-time.After(time.Minute): // a liveness bound
		t.Fatal("a hanging stop outlived its bound")
	}
}

// TestStopWithinReturnsCloseError: a stop that finishes returns Close's own outcome.
func TestStopWithinReturnsCloseError(t *testing.T) {
	t.Parallel()
	want := errors.New("closing failed")
	if err := stopWithin(func() error { return want }, nil, time.Hour); !errors.Is(err, want) {
		t.Fatalf("stopWithin = %v, want %v", err, want)
	}
}

// TestServeStopsCleanlyAtSIGTERM: `belfry serve` (this test binary as a child, through the signal
// handling of main) stops at one SIGTERM and exits 0 once its stop has finished.
func TestServeStopsCleanlyAtSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, pgtest.NewDatabase(t), dir, "serve.log", nil)
	t.Cleanup(func() { b, _ := os.ReadFile(filepath.Join(dir, "serve.log")); t.Logf("%s", b) })
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute): // a liveness bound
		t.Fatal("belfry serve did not stop after SIGTERM")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("belfry serve exited %d after one SIGTERM, want 0", code)
	}
}

// TestSignalWhileStartingIsAStop: a signal that comes while `belfry serve` starts (its context ends)
// stops what started and is no failure (the process exits 0); it used to exit 1 with "context canceled".
func TestSignalWhileStartingIsAStop(t *testing.T) {
	t.Parallel()
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: pgtest.NewDatabase(t), DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := serve(ctx, NewMain(cfg), nil); err != nil {
		t.Fatalf("a stop asked for while starting: %v", err)
	}
}
