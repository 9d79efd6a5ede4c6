package eventlog_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestExportMissingItsTailIsNamed: an export names the last position it holds (store.json "to");
// an events file that lost its last lines after the last signed checkpoint (a copy cut short) must
// not verify as a complete export.
func TestExportMissingItsTailIsNamed(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	e.appendN("orders-1", 10)
	_ = e.srv.Close() // signs a checkpoint at 10
	e.start(eventlog.Config{})
	e.appendN("orders-2", 5) // not signed yet
	dir := t.TempDir()
	if n, err := eventlog.Export(context.Background(), e.pool, dir, nil); err != nil || n != 15 {
		t.Fatalf("export: %d %v", n, err)
	}
	path := filepath.Join(dir, eventlog.ExportEventsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if err := os.WriteFile(path, bytes.Join(lines[:12], nil), 0o644); err != nil { // positions 13-15 gone
		t.Fatal(err)
	}
	res, err := eventlog.VerifyExport(dir, e.publicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(res); got != "removed@13" || res.Problems[0].To != 15 {
		t.Fatalf("a truncated export: %q %+v", got, res)
	}
}
