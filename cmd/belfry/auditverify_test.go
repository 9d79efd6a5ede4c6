package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5/pgxpool"
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
