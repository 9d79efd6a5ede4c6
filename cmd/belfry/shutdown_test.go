package main

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// TestStopKeepsTheAuditRecordOfAnInterruptedPurge: the server's retention purge runs under the run
// context and, interrupted by a stop, still writes its audit record ("every run writes an audit
// record"), as the audit retention's reports do. Close used to close the audit writer before it
// ended the run context, so the record of a purge the stop interrupted was refused (ErrClosed) and
// lost. The background work now ends first, and the audit writer closes after it, in reverse start
// order.
func TestStopKeepsTheAuditRecordOfAnInterruptedPurge(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	runCtx := b.m.snaps.ctx // the server's run context: background work ends with it
	recorded := make(chan error, 1)
	// What the purge goroutine does when a stop interrupts it: its run ends, then it records the run.
	b.m.spawn(func() {
		<-runCtx.Done()
		_, err := b.m.purger.Run(context.Background(), true, nil)
		recorded <- err
	})
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-recorded:
		if err != nil {
			t.Fatalf("the interrupted purge's audit record was lost at stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the purge never ran")
	}
}

// TestFailedStartReleasesTheHTTPPort: when Run fails after the HTTP listener was opened (here the
// pprof address is taken), Close must release the HTTP port too; it used to stay bound, as the
// listener was opened before anything registered its closing, so a second start in the same process
// could not listen on BELFRY_HTTP_ADDR.
func TestFailedStartReleasesTheHTTPPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := free.Addr().String()
	free.Close()
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: pgtest.NewDatabase(t), DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: httpAddr,
		Region: "us-east-1", PprofAddr: taken.Addr().String()}
	m := NewMain(cfg)
	m.Out = io.Discard
	if err := m.Run(context.Background()); err == nil {
		_ = m.Close()
		t.Fatal("Run should fail: the pprof address is in use")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatalf("after a failed start and Close, BELFRY_HTTP_ADDR is still bound: %v", err)
	}
	again.Close()
}
