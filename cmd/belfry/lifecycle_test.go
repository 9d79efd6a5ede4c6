package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// TestCloseAfterLateRunFailure: Run fails after it has started the projection runners, the relay,
// the side-effect router and the sweeps (the pprof address is taken); Close must still stop them all
// and return, never waiting on a goroutine that was counted but not started.
func TestCloseAfterLateRunFailure(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: pgtest.NewDatabase(t), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1",
		PprofAddr: taken.Addr().String()}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	m.Out = &bytes.Buffer{}
	if err := m.Run(context.Background()); err == nil {
		_ = m.Close()
		t.Fatal("Run should fail: the pprof address is in use")
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute): // a deadlock detector, not a timing assertion
		t.Fatal("Close never returned after a failed Run")
	}
}
