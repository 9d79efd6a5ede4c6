package eventlog_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestExportResumes: an export of the log interrupted in the middle of a line (killed before it
// wrote store.json) is continued by running it again: the complete lines already written are kept,
// not read from the log again (here the first one, re-spaced, stays as it is), the partial one is
// dropped, and the export ends as one written in a single run would, verifying clean. A finished
// export run again takes the events appended since.
func TestExportResumes(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, eventlog.Config{})
	e.appendN("orders-1", 30)
	_ = e.srv.Close() // signs a checkpoint
	e.start(eventlog.Config{})
	whole, part := t.TempDir(), t.TempDir()
	if n, err := eventlog.Export(ctx, e.pool, whole, nil); err != nil || n != 30 {
		t.Fatalf("export: %d %v", n, err)
	}
	want, _ := os.ReadFile(filepath.Join(whole, eventlog.ExportEventsFile))
	lines := bytes.SplitAfter(want, []byte("\n"))
	first := bytes.Replace(lines[0], []byte(`"position":1,`), []byte(`"position": 1,`), 1)
	cut := append(append(first, bytes.Join(lines[1:12], nil)...), lines[12][:len(lines[12])/2]...)
	if err := os.WriteFile(filepath.Join(part, eventlog.ExportEventsFile), cut, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := eventlog.Export(ctx, e.pool, part, nil); err != nil || n != 30 {
		t.Fatalf("resumed export: %d %v", n, err)
	}
	got, _ := os.ReadFile(filepath.Join(part, eventlog.ExportEventsFile))
	if !bytes.Equal(got, append(first, want[len(lines[0]):]...)) {
		t.Fatalf("the resumed export is not the lines kept followed by the rest:\n%s", got)
	}
	for _, f := range []string{eventlog.ExportStoreFile, eventlog.ExportCheckpointsFile} {
		a, _ := os.ReadFile(filepath.Join(whole, f))
		if b, _ := os.ReadFile(filepath.Join(part, f)); !bytes.Equal(a, b) {
			t.Fatalf("%s differs:\n%s\n%s", f, a, b)
		}
	}
	if res, err := eventlog.VerifyExport(part, e.publicKey()); err != nil || !res.OK() {
		t.Fatalf("verify the resumed export: %+v %v", res, err)
	}
	e.appendN("orders-2", 5)
	if n, err := eventlog.Export(ctx, e.pool, part, nil); err != nil || n != 35 {
		t.Fatalf("a finished export run again: %d %v", n, err)
	}
	if got, _ := os.ReadFile(filepath.Join(part, eventlog.ExportEventsFile)); !bytes.HasPrefix(got, first) || bytes.Count(got, []byte("\n")) != 35 {
		t.Fatalf("a finished export run again:\n%s", got)
	}
}
