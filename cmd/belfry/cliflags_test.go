package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belfry/belfry/infra/cloudtrail"
)

// unreachableConfig names a database nobody listens on: a command that gets as far as opening it
// fails with a connection error, not with the message a test expects.
func unreachableConfig(t *testing.T) Config {
	return Config{DataDir: t.TempDir(), DatabaseURL: "postgres://belfry@127.0.0.1:1/none?connect_timeout=1", EventLogAddr: "127.0.0.1:2113",
		HTTPAddr: "127.0.0.1:8080", Region: "us-east-1"}
}

// TestCommandsRefuseStrayArguments: Go's flag package stops at the first argument that is not a
// flag, so `belfry export messages … --out F stray --user U` used to export the whole account (the
// --user after the stray word was never read) and `belfry replay --as-of T stray --out DIR` built the
// snapshot and exited 0 without writing DIR. Every such command now refuses the stray argument,
// naming it, before it opens anything.
func TestCommandsRefuseStrayArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := unreachableConfig(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "hold.jsonl")
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"replay", func() error { return cmdReplay(ctx, cfg, []string{"--as-of", "5", "stray", "--out", dir}) }},
		{"reports cdrs", func() error {
			return cmdReports(ctx, cfg, []string{"cdrs", "--dir", dir, "stray", "--from", "2025-01-01T00:00:00Z"})
		}},
		{"export messages", func() error {
			return cmdExport(ctx, cfg, []string{"messages", "--account", "a1", "--from", "2025-01-01", "--to", "2025-02-01", "--out", out,
				"stray", "--user", "u1"})
		}},
		{"audit export", func() error {
			return cmdTrail(ctx, cfg, []string{"export", "--dir", dir, "stray", "--from", "2025-01-01T00:00:00Z"})
		}},
		{"audit verify-trail", func() error { return cmdTrail(ctx, cfg, []string{"verify-trail", "--dir", dir, "stray"}) }},
	} {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), `"stray"`) {
			t.Errorf("%s: %v, want an error naming the stray argument", c.name, err)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused export left a file: %v", err)
	}
}

// TestTrailCommandsRefuseFlagsTheyIgnore: the audit trail subcommands share one flag set; a flag the
// subcommand does not use (--from on verify-trail, --public-key on export, any on trail-key) used to
// be accepted and ignored — verify-trail --from T checked the whole trail, trail-key --dir D printed
// the key and exited 0. They are refused, naming the flag.
func TestTrailCommandsRefuseFlagsTheyIgnore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := unreachableConfig(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"verify-trail", "--dir", dir, "--from", "2025-01-01T00:00:00Z"}, "--from"},
		{[]string{"verify-trail", "--dir", dir, "--to", "2025-01-01T00:00:00Z"}, "--to"},
		{[]string{"export", "--dir", dir, "--public-key", filepath.Join(dir, "k.pem")}, "--public-key"},
		{[]string{"trail-key", "--dir", dir}, "--dir"},
		{[]string{"trail-key", "--prefix", "p"}, "--prefix"},
	} {
		if err := cmdTrail(ctx, cfg, c.args); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%v: %v, want an error naming %s", c.args, err, c.flag)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, cloudtrail.SigningKeyFile)); err == nil {
		t.Error("a refused trail-key created the signing key")
	}
}
