package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
)

// runOut runs a CLI command and returns its error and what it printed.
func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	err = run(context.Background(), args)
	w.Close()
	os.Stdout = old
	return <-done, err
}

// TestAuditVerifyFindsATamperedEvent: after SDK calls and a clean stop, `belfry audit verify` passes
// on the database and on an export; a byte changed in one stored event directly in PostgreSQL makes
// both fail and name the event's position.
func TestAuditVerifyFindsATamperedEvent(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Chained")}); err != nil {
		t.Fatal(err)
	}
	if err := b.m.Close(); err != nil { // signs the last checkpoint
		t.Fatal(err)
	}
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	if out, err := runOut(t, "audit", "verify"); err != nil || !strings.Contains(out, "signed checkpoints cover up to") {
		t.Fatalf("verify of an untouched log: %v\n%s", err, out)
	}
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// A range whose end no checkpoint covers (the checkpoints past its start gone) is refused with
	// what to do; the whole log verifies, with the same notice.
	var last int64
	if err := pool.QueryRow(ctx, `SELECT max(position) FROM eventlog.events`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE kept_checkpoints AS SELECT * FROM eventlog.checkpoints; DELETE FROM eventlog.checkpoints`); err != nil {
		t.Fatal(err)
	}
	out, err := runOut(t, "audit", "verify", "--to", itoa(last))
	if err == nil || !strings.Contains(err.Error(), "positions 1 to "+itoa(last)+" are not covered by a signed checkpoint") {
		t.Fatalf("verify of a range no checkpoint covers: %v\n%s", err, out)
	}
	if out, err := runOut(t, "audit", "verify"); err != nil || !strings.Contains(out, "not covered by a signed checkpoint") {
		t.Fatalf("verify of a log without checkpoints: %v\n%s", err, out)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO eventlog.checkpoints SELECT * FROM kept_checkpoints; DROP TABLE kept_checkpoints`); err != nil {
		t.Fatal(err)
	}
	var pos int64
	if err := pool.QueryRow(ctx, `UPDATE eventlog.events SET data = set_byte(data, 1, get_byte(data, 1) # 4)
		WHERE position = (SELECT min(position) FROM eventlog.events WHERE event_type = 'chime.account.created.v1') RETURNING position`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	out, err = runOut(t, "audit", "verify")
	if err == nil || !strings.Contains(out, "altered at position "+itoa(pos)) {
		t.Fatalf("verify must name the altered event at %d: %v\n%s", pos, err, out)
	}
	dir := t.TempDir()
	if _, err := runOut(t, "audit", "export-log", "--out", dir); err != nil {
		t.Fatal(err)
	}
	out, err = runOut(t, "audit", "verify", "--dir", dir)
	if err == nil || !strings.Contains(out, "altered at position "+itoa(pos)) {
		t.Fatalf("offline verify must name it too: %v\n%s", err, out)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestAuditVerifyExportToAKnownEnd: an export cut back and stripped of the checkpoints past its new
// end verifies whole (nothing in it shows the cut), with a notice; given --to, the last position the
// auditor knows the log had, verify --dir refuses it and names what is missing, and passes the
// untouched export.
func TestAuditVerifyExportToAKnownEnd(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	for _, name := range []string{"First", "Second", "Third"} {
		if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.m.Close(); err != nil { // signs the last checkpoint
		t.Fatal(err)
	}
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	dir := t.TempDir()
	if _, err := runOut(t, "audit", "export-log", "--out", dir); err != nil {
		t.Fatal(err)
	}
	events, err := os.ReadFile(filepath.Join(dir, eventlog.ExportEventsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(events), "\n"), "\n")
	position := func(line string) int64 {
		var e struct{ Position int64 }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		return e.Position
	}
	last := position(lines[len(lines)-1])
	if out, err := runOut(t, "audit", "verify", "--dir", dir, "--to", itoa(last)); err != nil {
		t.Fatalf("verify of the untouched export to its end %d: %v\n%s", last, err, out)
	}
	// The cut: the last event gone, every checkpoint gone, the export's end moved back.
	cut := position(lines[len(lines)-2])
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, eventlog.ExportEventsFile), []byte(strings.Join(lines[:len(lines)-1], "")), 0o644))
	must(os.WriteFile(filepath.Join(dir, eventlog.ExportCheckpointsFile), nil, 0o644))
	store, err := os.ReadFile(filepath.Join(dir, eventlog.ExportStoreFile))
	must(err)
	var st map[string]any
	must(json.Unmarshal(store, &st))
	st["to"] = cut
	store, _ = json.Marshal(st)
	must(os.WriteFile(filepath.Join(dir, eventlog.ExportStoreFile), store, 0o644))
	if out, err := runOut(t, "audit", "verify", "--dir", dir); err != nil || !strings.Contains(out, "not covered by a signed checkpoint") {
		t.Fatalf("verify of the cut export without --to: %v\n%s", err, out)
	}
	out, err := runOut(t, "audit", "verify", "--dir", dir, "--to", itoa(last))
	if err == nil || !strings.Contains(out, "the export ends at position "+itoa(cut)+", before --to "+itoa(last)) {
		t.Fatalf("verify of the cut export to the known end %d: %v\n%s", last, err, out)
	}
}
