package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	retentionapi "github.com/belfry/belfry/api/chime/retention"
	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
	chimeconvs "github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimeretention"
	"github.com/belfry/belfry/projections/chimerooms"
	iamrm "github.com/belfry/belfry/projections/iam"
)

var retentionDecider = eventstore.DeciderOf[retention.State, retention.Command, retention.Event](retention.Initial, retention.Evolve, retention.Decide, retention.Decode)

// RetentionConfig is where the key-encryption keys live and how often the server purges.
type RetentionConfig struct {
	// Keyring is the keyring file (BELFRY_KEYRING; default $BELFRY_DATA_DIR/keyring).
	Keyring string `json:"keyring,omitempty"`
	// PurgeEvery is the period of the server's retention purge (BELFRY_RETENTION_PURGE_INTERVAL;
	// default 1h; "off" turns it off).
	PurgeEvery string `json:"purgeEvery,omitempty"`
}

func retentionConfigFromEnv(get func(k, def string) string) RetentionConfig {
	return RetentionConfig{Keyring: get("BELFRY_KEYRING", ""), PurgeEvery: get("BELFRY_RETENTION_PURGE_INTERVAL", "1h")}
}

// keyringPath is the keyring file. Without a data directory (only in tests: the environment always
// names one) it is in a fresh temporary directory, as the event log's credentials are.
func (c Config) keyringPath() (string, error) {
	switch {
	case c.Retention.Keyring != "":
		return c.Retention.Keyring, nil
	case c.DataDir != "":
		return filepath.Join(c.DataDir, "keyring"), nil
	}
	dir, err := os.MkdirTemp("", "belfry-keyring-")
	return filepath.Join(dir, "keyring"), err
}

// purgeEvery is the server's purge period (0: off).
func (c Config) purgeEvery() (time.Duration, error) {
	switch c.Retention.PurgeEvery {
	case "off":
		return 0, nil
	case "":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(c.Retention.PurgeEvery)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("BELFRY_RETENTION_PURGE_INTERVAL must be a duration of at least 1s or off, not %q", c.Retention.PurgeEvery)
	}
	return d, nil
}

// openDataKeys opens the keyring and the data keys over it, wraps the keys earlier versions kept in
// clear, and finishes destructions a crash interrupted.
func openDataKeys(ctx context.Context, cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*datakeys.Store, error) {
	path, err := cfg.keyringPath()
	if err != nil {
		return nil, err
	}
	ring, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		return nil, err
	}
	keys := datakeys.New(pool).WithKeyring(ring).WithLogger(logger)
	n, err := keys.WrapLegacy(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		logger.Info("wrapped the data keys stored in clear under key-encryption keys in the keyring; the plaintext column is dropped",
			"keys", n, "keyring", ring.Path())
	}
	return keys, keys.Sweep(ctx)
}

// blobDir is where attachments are stored (infra/blobstore).
func (c Config) blobDir() string { return filepath.Join(c.DataDir, "blobs") }

// exportDir is where the listings of attachment exports are written (guide §5.6).
func (c Config) exportDir() string { return filepath.Join(c.DataDir, "exports") }

// exportKeyPath is the key that signs the exports' pre-signed URLs (in a fresh temporary directory
// without a data directory, as the keyring).
func (c Config) exportKeyPath() string {
	if c.DataDir == "" {
		dir, _ := os.MkdirTemp("", "belfry-exports-")
		return filepath.Join(dir, "export-url.key")
	}
	return filepath.Join(c.DataDir, "export-url.key")
}

// purgeDeps are the purge's collaborators over an open database.
func purgeDeps(pool *pgxpool.Pool, keys *datakeys.Store, rec retentionapi.AuditSink, m *retentionapi.Metrics, now func() time.Time) retentionapi.PurgeDeps {
	return retentionapi.PurgeDeps{Policies: chimeretention.NewStore(pool), Keys: keys, Messages: chimerooms.NewStore(pool),
		Conversations: chimeconvs.NewStore(pool), Enterprise: chimeaccounts.NewIndex(pool), Audit: rec, Metrics: m, Now: now}
}

// withInstallation names the installation's AWS account and region in a purge's audit records.
func withInstallation(ctx context.Context, pool *pgxpool.Pool, d retentionapi.PurgeDeps, region string) retentionapi.PurgeDeps {
	d.Region = region
	d.AWSAccountID, _ = iamrm.NewStore(pool).AwsAccountID(ctx)
	return d
}

// startRetentionPurge runs the purge every cfg.purgeEvery() until runCtx ends.
func (m *Main) startRetentionPurge(ctx, runCtx context.Context, pool *pgxpool.Pool, keys *datakeys.Store, rec *auditlog.Writer) error {
	every, err := m.cfg.purgeEvery()
	if err != nil {
		return err
	}
	d := withInstallation(ctx, pool, purgeDeps(pool, keys, rec, retentionapi.NewMetrics(m.reg), m.Now), m.cfg.Region)
	d.Blobs = blobstore.New(m.cfg.blobDir(), pool, keys)
	d.Operator, d.Via, d.Host = audit.UserIdentity{Type: "AWSService", PrincipalID: "belfry", UserName: "belfry-retention"}, "belfry serve", "localhost"
	d.Pause = 2 * time.Millisecond // leave the database to the API between batches
	m.purger = retentionapi.NewPurger(d)
	if every == 0 {
		return nil
	}
	spawnEvery(m, runCtx, every, func() {
		r, err := m.purger.Run(runCtx, false, nil)
		switch {
		case err != nil && runCtx.Err() == nil:
			m.logger.Warn("retention purge interrupted; the next run resumes", "err", err)
		case r.Due > 0 || r.PeriodsDestroyed > 0:
			m.logger.Info("retention purge", "due", r.Due, "purged", r.Purged, "periods", r.PeriodsDestroyed, "seconds", r.DurationSeconds)
		}
		for _, k := range r.DamagedKeys {
			m.logger.Warn("retention purge: a kept key does not open (damaged); left as it was, the due days beside it destroyed", "key", k)
		}
	})
	return nil
}

// newRetentionRunner is the retention read model's runner.
func newRetentionRunner(pool *pgxpool.Pool, client *esdb.Client, cfg projections.RunnerConfig) *projections.Runner {
	return projections.NewRunner(pool, client, chimeretention.Projection{}, cfg)
}

// cmdRetention runs `belfry retention purge [--dry-run] [--json] [--catch-up-stall D]`.
func cmdRetention(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 || args[0] != "purge" {
		return fmt.Errorf("usage: belfry retention purge [--dry-run] [--json] [--catch-up-stall 1m]")
	}
	fs := flag.NewFlagSet("retention purge", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "say what would be purged; change nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	stall := catchUpFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}()
	owner := func(f func() error) { closers = append(closers, f) }
	pool, err := openDatabase(ctx, cfg, owner)
	if err != nil {
		return err
	}
	client, _, _, err := openEventStore(ctx, cfg, pool, nil, owner)
	if err != nil {
		return err
	}
	keys, err := openDataKeys(ctx, cfg, pool, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	aw := auditlog.New(client, auditlog.Config{Appenders: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	owner(func() error { aw.Close(); return nil })
	// The read models the purge reads must be current: catch them up in this process.
	if err := newCatchUpper(*stall, os.Stderr).run(ctx, pool, client, chimeretention.Projection{}, chimerooms.Projection{}, chimeconvs.Projection{},
		chimeaccounts.Projection{}); err != nil {
		return err
	}
	op := shellOperator()
	d := withInstallation(ctx, pool, purgeDeps(pool, keys, aw, nil, time.Now), cfg.Region)
	d.Blobs = blobstore.New(cfg.blobDir(), pool, keys)
	d.Operator = audit.UserIdentity{Type: "Root", PrincipalID: "operator:" + op.Name, UserName: op.Name, AccountID: d.AWSAccountID}
	d.Via, d.Host = "belfry retention purge", op.Host
	r, err := retentionapi.NewPurger(d).Run(ctx, *dry, func(r retentionapi.Report) {
		if !*asJSON {
			fmt.Fprintf(os.Stderr, "\rretention purge: due %d, purged %d, day keys destroyed %d, message keys cleared %d",
				r.Due, r.Purged, r.DayKeysDestroyed, r.MessageKeysCleared)
		}
	})
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Println(string(b))
		return err
	}
	fmt.Fprintln(os.Stderr)
	verb := "purged"
	if *dry {
		verb = "would purge"
	}
	for _, a := range r.Accounts {
		fmt.Printf("account %s: %s %d messages sent before %s (%d day keys)\n", a.AccountID, verb, a.Messages, a.Before.Format(time.DateOnly), a.Periods)
	}
	if r.Conversations > 0 {
		fmt.Printf("conversations: %s messages of %d conversations\n", verb, r.Conversations)
	}
	for _, k := range r.DamagedKeys {
		fmt.Printf("damaged key, left as it was (it opens for no one; the due days beside it went): %s\n", k)
	}
	fmt.Printf("due %d, purged %d, day keys destroyed %d, message keys cleared %d, in %.2fs\n",
		r.Due, r.Purged, r.DayKeysDestroyed, r.MessageKeysCleared, r.DurationSeconds)
	return err
}
