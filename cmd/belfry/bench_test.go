package main

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"testing"

	"github.com/belfry/belfry/infra/bench/apibench"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// The child-process tests read the first key as the benchmarks' child server does.
var (
	keyIDLine  = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`)
	secretLine = regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`)
)

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// TestBenchInlineServerIsReadyWithItsFirstKey: the server this package supplies to the API
// benchmarks serves, carries the first admin key it printed, its event log and its metrics.
func TestBenchInlineServerIsReadyWithItsFirstKey(t *testing.T) {
	t.Parallel()
	srv, err := startInlineServer(context.Background(), apibench.ServerConfig{DatabaseURL: pgtest.NewDatabase(t), AuditReads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.KeyID == "" || srv.Secret == "" || srv.LogURL == "" {
		t.Fatalf("server: %+v", srv)
	}
	resp, err := http.Get("http://" + srv.HTTPAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	if fams, err := srv.Metrics.Gather(); err != nil || len(fams) == 0 {
		t.Fatalf("metrics: %d families, %v", len(fams), err)
	}
}
