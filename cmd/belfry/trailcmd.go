package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/cloudtrail"
	"github.com/belfry/belfry/infra/objstore"
	auditrm "github.com/belfry/belfry/projections/audit"
	iamrm "github.com/belfry/belfry/projections/iam"
)

const trailUsage = `usage:
  belfry audit export [--from T] [--to T] (--dir DIR | --bucket NAME [--endpoint URL]) [--prefix P]
        write the audit records of [from, to) (RFC 3339; default: first record, now) as CloudTrail log and digest files
  belfry audit verify-trail (--dir DIR | --bucket NAME [--endpoint URL]) [--prefix P] [--public-key FILE]
        check a CloudTrail-format trail: digest chain, signatures, log file hashes
  belfry audit trail-key                        print the digest signing key's public key (PEM) and fingerprint`

// defaultTrailBucketName is the bucket name a directory trail records in its digests.
const defaultTrailBucketName = "belfry-trail"

// TrailConfig configures the CloudTrail-format trail: continuous delivery (to Dir or Bucket) and the
// retention of the audit trail.
type TrailConfig struct {
	Dir        string `json:"trailDir,omitempty"`        // BELFRY_TRAIL_DIR
	Bucket     string `json:"trailBucket,omitempty"`     // BELFRY_TRAIL_BUCKET
	Endpoint   string `json:"trailEndpoint,omitempty"`   // BELFRY_TRAIL_ENDPOINT (S3-compatible store)
	Region     string `json:"trailRegion,omitempty"`     // BELFRY_TRAIL_REGION (the bucket's; default BELFRY_REGION)
	Prefix     string `json:"trailPrefix,omitempty"`     // BELFRY_TRAIL_PREFIX
	Name       string `json:"trailName"`                 // BELFRY_TRAIL_NAME (in digest keys; default belfry)
	BucketName string `json:"trailBucketName,omitempty"` // BELFRY_TRAIL_BUCKET_NAME (bucket recorded by a directory trail)
	// Interval between delivery rounds (BELFRY_TRAIL_INTERVAL, default 5m) and how long after its end
	// a 5-minute window is delivered (BELFRY_TRAIL_SETTLE, default 1m).
	Interval time.Duration `json:"trailInterval"`
	Settle   time.Duration `json:"trailSettle"`
	// Retention of the audit trail (BELFRY_AUDIT_RETENTION, e.g. 400d or 9600h; default forever):
	// older records are no longer delivered or exported, and are removed from the audit read model
	// (LookupAuditRecords) after an AuditRecordsExpired record reports them. Events are never deleted
	// from the log.
	Retention time.Duration `json:"auditRetention,omitempty"`

	errs []error
}

func trailConfigFromEnv(get func(k, def string) string) TrailConfig {
	t := TrailConfig{Dir: get("BELFRY_TRAIL_DIR", ""), Bucket: get("BELFRY_TRAIL_BUCKET", ""), Endpoint: get("BELFRY_TRAIL_ENDPOINT", ""),
		Region: get("BELFRY_TRAIL_REGION", get("BELFRY_REGION", "us-east-1")), Prefix: strings.Trim(get("BELFRY_TRAIL_PREFIX", ""), "/"),
		Name: get("BELFRY_TRAIL_NAME", "belfry"), BucketName: get("BELFRY_TRAIL_BUCKET_NAME", defaultTrailBucketName)}
	for _, d := range []struct {
		env, def string
		v        *time.Duration
	}{{"BELFRY_TRAIL_INTERVAL", "5m", &t.Interval}, {"BELFRY_TRAIL_SETTLE", "1m", &t.Settle}, {"BELFRY_AUDIT_RETENTION", "", &t.Retention}} {
		v, err := parseDays(get(d.env, d.def))
		switch {
		case err != nil:
			t.errs = append(t.errs, fmt.Errorf("%s: %w", d.env, err))
		case d.def != "" && v <= 0: // 0 would silently be the default, a negative settle deliver windows before they end
			t.errs = append(t.errs, fmt.Errorf("%s must be a positive duration (default %s), not %q", d.env, d.def, get(d.env, d.def)))
		}
		*d.v = v
	}
	return t
}

// parseDays reads a Go duration or a whole number of days ("400d"); "" and "forever" are 0.
func parseDays(s string) (time.Duration, error) {
	switch {
	case s == "" || s == "forever":
		return 0, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: give a positive number of days (400d) or a duration (9600h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func (t TrailConfig) validate() error {
	errs := t.errs
	if t.Dir != "" && t.Bucket != "" {
		errs = append(errs, errors.New("BELFRY_TRAIL_DIR and BELFRY_TRAIL_BUCKET: set one of them"))
	}
	if t.Interval < 0 {
		errs = append(errs, errors.New("BELFRY_TRAIL_INTERVAL must not be negative"))
	}
	if t.Retention < 0 {
		errs = append(errs, errors.New("BELFRY_AUDIT_RETENTION must not be negative"))
	}
	return errors.Join(errs...)
}

// target is the configured delivery target, or nil.
func (t TrailConfig) target() objstore.Target {
	switch {
	case t.Dir != "":
		return objstore.DirTarget{Dir: t.Dir, Name: cmp.Or(t.BucketName, defaultTrailBucketName)}
	case t.Bucket != "":
		return s3Target(t.Bucket, t.Endpoint, t.Region)
	}
	return nil
}

// s3Target is a bucket with the credentials of the standard AWS_* variables.
func s3Target(bucket, endpoint, region string) *objstore.S3Target {
	return objstore.NewS3Target(objstore.S3Config{Bucket: bucket, Endpoint: endpoint, Region: region,
		AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")})
}

// startTrail starts the continuous delivery when a target is configured.
func (m *Main) startTrail(ctx context.Context, pool *pgxpool.Pool, position func() uint64, reg prometheus.Registerer, runCtx context.Context) error {
	tc := m.cfg.Trail
	tgt := tc.target()
	if tgt == nil {
		return nil
	}
	tr, err := newTrail(ctx, m.cfg, pool, tgt, tc.Prefix)
	if err != nil {
		return err
	}
	d := &cloudtrail.Delivery{Trail: tr, Records: auditrm.NewStore(pool), Pool: pool, Position: position, Interval: tc.Interval,
		Settle: tc.Settle, Retention: tc.Retention, Now: time.Now, Logger: m.logger, Metrics: cloudtrail.NewMetrics(reg)}
	m.logger.Info("trail delivery", "target", tgt.String(), "prefix", tc.Prefix, "interval", tc.Interval,
		"key_fingerprint", cloudtrail.Fingerprint(tr.Signer.Public()))
	m.spawn(func() { d.Run(runCtx) })
	return nil
}

// auditRetentionInterval is how often the audit trail's retention is applied.
const auditRetentionInterval = 10 * time.Minute

// startAuditRetention removes audit records past BELFRY_AUDIT_RETENTION from the audit read model,
// each window reported first (auditlog.Expirer), at start and every auditRetentionInterval.
func (m *Main) startAuditRetention(pool *pgxpool.Pool, w *auditlog.Writer, runCtx context.Context) {
	if m.cfg.Trail.Retention <= 0 {
		return
	}
	e := &auditlog.Expirer{Store: auditrm.NewStore(pool), Recorder: w, Retention: m.cfg.Trail.Retention, Now: time.Now,
		Logger: m.logger, Expired: auditlog.NewExpiredCounter(m.reg)}
	m.spawn(func() { e.Run(runCtx, auditRetentionInterval) })
}

func newTrail(ctx context.Context, cfg Config, pool *pgxpool.Pool, tgt objstore.Target, prefix string) (*cloudtrail.Trail, error) {
	signer, err := cloudtrail.LoadOrCreateSigner(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	acct, err := iamrm.NewStore(pool).AwsAccountID(ctx)
	if err != nil {
		return nil, err
	}
	return &cloudtrail.Trail{Source: auditrm.NewStore(pool), Target: tgt, Signer: signer, Account: acct,
		Layout: cloudtrail.Layout{Prefix: strings.Trim(prefix, "/"), Trail: cmp.Or(cfg.Trail.Name, "belfry"), HomeRegion: cfg.Region}}, nil
}

// trailUnusedFlags are the flags of the shared flag set each trail subcommand does not use: given,
// they are refused rather than ignored.
var trailUnusedFlags = map[string][]string{
	"trail-key":    {"from", "to", "dir", "bucket", "bucket-name", "endpoint", "region", "prefix", "public-key"},
	"verify-trail": {"from", "to"},
	"export":       {"public-key"},
}

// cmdTrail runs the trail subcommands of belfry audit.
func cmdTrail(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	from := fs.String("from", "", "first instant (RFC 3339; default: the first record)")
	to := fs.String("to", "", "end instant, exclusive (RFC 3339; default: now)")
	dir := fs.String("dir", "", "directory target")
	bucket := fs.String("bucket", "", "S3 bucket target (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	bucketName := fs.String("bucket-name", defaultTrailBucketName, "with --dir: the bucket name recorded in digests")
	endpoint := fs.String("endpoint", "", "S3-compatible endpoint URL (default AWS S3)")
	region := fs.String("region", cfg.Trail.Region, "the bucket's region")
	prefix := fs.String("prefix", "", "key prefix")
	pubFile := fs.String("public-key", "", "public key to trust (default "+cloudtrail.PublicKeyFile+" in BELFRY_DATA_DIR)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := refuseFlags(fs, trailUnusedFlags[args[0]]...); err != nil {
		return fmt.Errorf("%w\n%s", err, trailUsage)
	}
	var tgt objstore.Target
	switch {
	case *dir != "" && *bucket != "":
		return errors.New("give --dir or --bucket, not both")
	case *dir != "":
		tgt = objstore.DirTarget{Dir: *dir, Name: *bucketName}
	case *bucket != "":
		tgt = s3Target(*bucket, *endpoint, *region)
	case args[0] != "trail-key":
		return errors.New(trailUsage)
	}
	switch args[0] {
	case "trail-key":
		s, err := cloudtrail.LoadOrCreateSigner(cfg.DataDir)
		if err != nil {
			return err
		}
		fmt.Printf("%sfingerprint: %s\n", s.PublicKeyPEM(), cloudtrail.Fingerprint(s.Public()))
		return nil
	case "verify-trail":
		return verifyTrail(ctx, cfg, tgt, strings.Trim(*prefix, "/"), *pubFile)
	}
	return exportTrail(ctx, cfg, tgt, *prefix, *from, *to)
}

func exportTrail(ctx context.Context, cfg Config, tgt objstore.Target, prefix, fromS, toS string) error {
	var from, to time.Time
	for _, p := range []struct {
		s, flag string
		t       *time.Time
	}{{fromS, "--from", &from}, {toS, "--to", &to}} {
		if p.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.s)
		if err != nil {
			return fmt.Errorf("%s %q: give an RFC 3339 time such as 2025-01-31T14:00:00Z: %w", p.flag, p.s, err)
		}
		*p.t = t
	}
	var cl closerList
	defer cl.close()
	pool, err := openDatabase(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	first, _, err := auditrm.NewStore(pool).FirstEventTime(ctx)
	if err != nil {
		return err
	}
	r, err := cloudtrail.CheckRange(from, to, first, time.Now(), cfg.Trail.Retention)
	if err != nil {
		return err
	}
	tr, err := newTrail(ctx, cfg, pool, tgt, prefix)
	if err != nil {
		return err
	}
	tr.Progress = func(p cloudtrail.Progress) {
		fmt.Fprintf(os.Stderr, "exported through %s: %d records, %d files written, %d already present\n",
			p.Through.Format(time.RFC3339), p.Records, p.FilesWritten, p.FilesKept)
	}
	fmt.Fprintf(os.Stderr, "exporting %s to %s to %s (digest key fingerprint %s)\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339),
		tgt, cloudtrail.Fingerprint(tr.Signer.Public()))
	p, err := tr.Export(ctx, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d records: %d log files written, %d already present, %d digests written\n",
		p.Records, p.FilesWritten, p.FilesKept, p.DigestsWritten)
	return nil
}

func verifyTrail(ctx context.Context, cfg Config, tgt objstore.Target, prefix, pubFile string) error {
	if pubFile == "" {
		pubFile = filepath.Join(cfg.DataDir, cloudtrail.PublicKeyFile)
	}
	b, err := os.ReadFile(pubFile)
	if err != nil {
		return fmt.Errorf("the trail's public key: %w (give --public-key FILE; belfry audit trail-key prints it)", err)
	}
	pub, err := cloudtrail.ParsePublicKey(b)
	if err != nil {
		return err
	}
	res, err := cloudtrail.VerifyProgress(ctx, tgt, prefix, pub, func(r cloudtrail.Result) {
		fmt.Fprintf(os.Stderr, "checked %d digest files and %d log files: %d problem(s) so far\n", r.Digests, r.LogFiles, len(r.Problems))
	})
	if err != nil {
		return err
	}
	fmt.Printf("checked %d digest files and %d log files in %s with key %s\n", res.Digests, res.LogFiles, tgt, cloudtrail.Fingerprint(pub))
	for _, n := range res.Notes {
		fmt.Println("  note: " + n)
	}
	for _, p := range res.Problems {
		fmt.Println("  " + p)
	}
	if !res.OK() {
		return fmt.Errorf("trail verification found %d problem(s)", len(res.Problems))
	}
	return nil
}
