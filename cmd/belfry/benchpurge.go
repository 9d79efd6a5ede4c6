package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/bench/apibench"
)

// purgeBenchConfig is what `belfry bench purge` measures.
type purgeBenchConfig struct {
	Messages, Rooms, Days, Clients int
	Baseline                       time.Duration
	Target                         int
	// ListRate is the ListRooms calls/s the clients offer together (0: a closed loop, each client
	// calling as fast as it can).
	ListRate float64
}

// PurgeBenchReport is the result of `belfry bench purge`.
type PurgeBenchReport struct {
	StartedAt            time.Time `json:"startedAt"`
	LoadAverage          string    `json:"loadAverage"`
	Messages             int       `json:"messages"`
	Rooms                int       `json:"rooms"`
	Days                 int       `json:"days"`
	Clients              int       `json:"clients"`
	ListRoomsRate        float64   `json:"listRoomsOfferedPerSecond"`
	SeedSeconds          float64   `json:"seedSeconds"`
	PurgeSeconds         float64   `json:"purgeSeconds"`
	Purged               int64     `json:"purged"`
	MessageKeysCleared   int64     `json:"messageKeysCleared"`
	MessagesPerSecond    float64   `json:"messagesPerSecond"`
	Target               int       `json:"target"`
	TargetSeconds        float64   `json:"targetSecondsExtrapolated"`
	ListRoomsP99Alone    float64   `json:"listRoomsP99AloneMs"`
	ListRoomsP99Purging  float64   `json:"listRoomsP99DuringPurgeMs"`
	ListRoomsCallsAlone  int       `json:"listRoomsCallsAlone"`
	ListRoomsCallsPurge  int       `json:"listRoomsCallsDuringPurge"`
	P99Ratio             float64   `json:"p99Ratio"`
	WithinTwiceTheFloor  bool      `json:"p99WithinTwiceAlone"`
	TargetUnderAMinute   bool      `json:"targetUnder60sExtrapolated"`
	PurgeBatch           int       `json:"purgeBatch"`
	PurgePauseMs         float64   `json:"purgePauseMs"`
	PurgeDayKeyDestroyed int64     `json:"dayKeysDestroyed"`
	FloorSeconds         float64   `json:"floorSeconds"`
	KeysSeconds          float64   `json:"keysSeconds"`
	RowsSeconds          float64   `json:"rowsSeconds"`
	MessageKeysSeconds   float64   `json:"messageKeysSeconds"`
}

// cmdBenchPurge runs `belfry bench purge`: N due messages (read-model rows and message keys under
// day keys of R rooms over D days, the way posting makes them) in a scratch database, purged by the
// retention purge of a running server, while C clients call ListRooms through the SDK (at an offered
// rate, or in a closed loop); ListRooms p99 alone (the floor, after a second of warm-up) and during
// the purge, in the same run.
func cmdBenchPurge(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench purge", flag.ContinueOnError)
	var c purgeBenchConfig
	fs.IntVar(&c.Messages, "messages", 200_000, "due messages to purge (the issue's target is 1,000,000)")
	fs.IntVar(&c.Rooms, "rooms", 50, "rooms the messages are in")
	fs.IntVar(&c.Days, "days", 10, "days the messages were sent on")
	fs.IntVar(&c.Clients, "clients", 4, "concurrent ListRooms clients")
	fs.Float64Var(&c.ListRate, "list-rate", 0, "ListRooms calls/s the clients offer together, latency counted from each call's scheduled time (0: a closed loop, as fast as they can)")
	fs.DurationVar(&c.Baseline, "baseline", 5*time.Second, "length of the ListRooms floor without a purge")
	fs.IntVar(&c.Target, "target", 1_000_000, "messages the purge time is extrapolated to")
	out := fs.String("json", "", "write the JSON report here (default bench-results/purge-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dbURL, stop, err := bench.ScratchDatabase(ctx, benchPostgres(cfg), "belfry_bench_purge")
	if err != nil {
		return err
	}
	defer stop()
	rep, err := runPurgeBench(ctx, dbURL, c)
	if err != nil {
		return err
	}
	rep.print()
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "purge-"+rep.StartedAt.Format("20060102T150405Z")+".json")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Printf("report: %s\n", path)
	return os.WriteFile(path, b, 0o644)
}

func runPurgeBench(ctx context.Context, dbURL string, c purgeBenchConfig) (PurgeBenchReport, error) {
	rep := PurgeBenchReport{StartedAt: time.Now().UTC(), Messages: c.Messages, Rooms: c.Rooms, Days: c.Days, Clients: c.Clients, Target: c.Target,
		ListRoomsRate: c.ListRate}
	dir, err := os.MkdirTemp("", "belfry-bench-purge-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	m := NewMain(Config{DatabaseURL: dbURL, DataDir: dir, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1",
		SkipReadAudit: true, Retention: RetentionConfig{PurgeEvery: "off"}})
	var keyOut bytes.Buffer
	m.Out = &keyOut
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return rep, err
	}
	defer m.Close()
	id, secret, err := apibench.FirstKey(keyOut.String())
	if err != nil {
		return rep, err
	}
	client := chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + m.HTTPAddr()),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
	a, err := client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Purge bench")})
	if err != nil {
		return rep, err
	}
	acct := aws.ToString(a.Account.AccountId)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return rep, err
	}
	defer pool.Close()
	seedStart := time.Now()
	if err := seedDueMessages(ctx, pool, m.cfg, acct, c); err != nil {
		return rep, err
	}
	rep.SeedSeconds = time.Since(seedStart).Seconds()
	if rep.FloorSeconds, err = deleteFloor(ctx, pool); err != nil {
		return rep, err
	}
	return measurePurge(ctx, m, client, acct, c, rep)
}

// seedDueMessages makes c.Messages messages of acct due: rooms, their day keys (sealed through the
// data keys, so the KEKs are in the keyring), a message key and a read-model row per message, and
// a 1-day room retention set 60 days ago.
func seedDueMessages(ctx context.Context, pool *pgxpool.Pool, cfg Config, acct string, c purgeBenchConfig) error {
	fmt.Fprintf(os.Stderr, "seeding %d due messages in %d rooms over %d days\n", c.Messages, c.Rooms, c.Days)
	rooms := make([]string, c.Rooms)
	for i := range rooms {
		rooms[i] = uuid.NewString()
	}
	if _, err := pool.Exec(ctx, `INSERT INTO rm.chime_rooms (room_id, account_id, name, created_by, created_at, updated_at)
		SELECT r, $2, 'room ' || r, 'bench', now(), now() FROM unnest($1::text[]) r`, rooms, acct); err != nil {
		return err
	}
	keys, err := openDataKeys(ctx, cfg, pool, slog.Default())
	if err != nil {
		return err
	}
	base := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	for _, r := range rooms {
		for d := range c.Days {
			if _, _, err := keys.Seal(ctx, acct, "room/"+r, base.AddDate(0, 0, -d), []byte("x")); err != nil {
				return err
			}
		}
	}
	const chunk = 100_000
	for from := 0; from < c.Messages; from += chunk {
		to := min(from+chunk, c.Messages)
		if _, err := pool.Exec(ctx, `WITH g AS (SELECT i, ($1::text[])[1 + i % $4] AS room, ($3::date - (i / $4) % $5) AS day FROM generate_series($6::int, $7::int - 1) i),
			k AS (INSERT INTO keys.message_keys (key_id, data_key_id, wrapped)
				SELECT 'msg/' || $2 || '/room/' || room || '/' || to_char(day, 'YYYY-MM-DD') || '/' || i, 'day/' || $2 || '/room/' || room || '/' || to_char(day, 'YYYY-MM-DD'),
				sha256(i::text::bytea) || sha256(room::bytea) FROM g)
			INSERT INTO rm.chime_room_messages (room_id, message_id, sender_id, sender_type, sender_name, key_id, sealed, created_at)
			SELECT room, 'm' || i, 'bench-user', 'User', 'Bench User', 'msg/' || i, sha256(i::text::bytea) || sha256(room::bytea) || sha256(day::text::bytea),
				day + interval '12 hours' FROM g`, rooms, acct, base, c.Rooms, c.Days, from, to); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\r  %d/%d", to, c.Messages)
	}
	fmt.Fprintln(os.Stderr)
	if _, err := pool.Exec(ctx, `ANALYZE keys.message_keys`); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO rm.chime_retention_changes (account_id, revision, at, room_days, conversation_days) VALUES ($1, 0, now() - interval '60 days', 1, 0)`, acct)
	return err
}

// deleteFloor is the floor of the purge, measured on copies of the same rows with the same indexes:
// PostgreSQL deleting all of them in one statement per table, without batches, keys or pauses.
func deleteFloor(ctx context.Context, pool *pgxpool.Pool) (float64, error) {
	fmt.Fprintln(os.Stderr, "floor: one DELETE per table of copies of the same rows")
	for _, q := range []string{
		`CREATE TABLE public.floor_messages AS SELECT * FROM rm.chime_room_messages`,
		`ALTER TABLE public.floor_messages ADD PRIMARY KEY (room_id, message_id)`,
		`CREATE INDEX ON public.floor_messages (room_id, created_at DESC)`,
		`CREATE TABLE public.floor_keys AS SELECT * FROM keys.message_keys`,
		`ALTER TABLE public.floor_keys ADD PRIMARY KEY (key_id)`,
		`CREATE INDEX ON public.floor_keys (data_key_id)`,
		`CHECKPOINT`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	t := time.Now()
	for _, q := range []string{`DELETE FROM public.floor_messages`, `DELETE FROM public.floor_keys`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	floor := time.Since(t).Seconds()
	_, err := pool.Exec(ctx, `DROP TABLE public.floor_messages, public.floor_keys`)
	return floor, err
}

// listRooms calls ListRooms from clients clients until stop is closed (or for d) and returns the
// latencies in milliseconds. At a rate (> 0) the clients together offer rate calls/s, client i
// calling at start + (k*clients+i)/rate, and a latency counts from the call's scheduled time (a call
// that starts late because the one before it was slow is charged for the wait); at 0 each client
// calls as fast as it can (a closed loop, whose latency on a saturated machine is its share of the
// cores rather than a response time).
func listRooms(ctx context.Context, client *chime.Client, acct string, clients int, rate float64, d time.Duration, stop <-chan struct{}) ([]float64, error) {
	var mu sync.Mutex
	var lat []float64
	var firstErr error
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			due := start
			if rate > 0 {
				due = start.Add(time.Duration(float64(time.Second) * float64(i) / rate))
			}
			for due.Before(deadline) {
				if rate > 0 {
					select {
					case <-stop:
						return
					case <-time.After(time.Until(due)):
					}
				} else {
					select {
					case <-stop:
						return
					default:
					}
					due = time.Now()
				}
				_, err := client.ListRooms(ctx, &chime.ListRoomsInput{AccountId: &acct, MaxResults: aws.Int32(50)})
				ms := float64(time.Since(due).Microseconds()) / 1000
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, ms)
				mu.Unlock()
				if rate > 0 {
					due = due.Add(time.Duration(float64(time.Second) * float64(clients) / rate))
				}
			}
		})
	}
	wg.Wait()
	return lat, firstErr
}

func p99(ms []float64) float64 {
	if len(ms) == 0 {
		return 0
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

// measurePurge measures ListRooms alone, then during the purge.
func measurePurge(ctx context.Context, m *Main, client *chime.Client, acct string, c purgeBenchConfig, rep PurgeBenchReport) (PurgeBenchReport, error) {
	// A second of calls first, not counted: the clients' connections and the server's caches.
	if _, err := listRooms(ctx, client, acct, c.Clients, c.ListRate, time.Second, nil); err != nil {
		return rep, err
	}
	fmt.Fprintf(os.Stderr, "ListRooms alone for %s\n", c.Baseline)
	alone, err := listRooms(ctx, client, acct, c.Clients, c.ListRate, c.Baseline, nil)
	if err != nil {
		return rep, err
	}
	stop := make(chan struct{})
	var during []float64
	var lerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		during, lerr = listRooms(ctx, client, acct, c.Clients, c.ListRate, time.Hour, stop)
	}()
	fmt.Fprintln(os.Stderr, "purging")
	start := time.Now()
	r, err := m.purger.Run(ctx, false, nil)
	rep.PurgeSeconds = time.Since(start).Seconds()
	close(stop)
	<-done
	if err != nil {
		return rep, err
	}
	if lerr != nil {
		return rep, lerr
	}
	rep.Purged, rep.MessageKeysCleared, rep.PurgeDayKeyDestroyed = r.Purged, r.MessageKeysCleared, r.DayKeysDestroyed
	rep.KeysSeconds, rep.RowsSeconds, rep.MessageKeysSeconds = r.KeysSeconds, r.RowsSeconds, r.MessageKeysSeconds
	if r.Purged != int64(c.Messages) {
		return rep, fmt.Errorf("the purge deleted %d of %d messages", r.Purged, c.Messages)
	}
	rep.MessagesPerSecond = float64(r.Purged) / rep.PurgeSeconds
	rep.TargetSeconds = float64(c.Target) / rep.MessagesPerSecond
	rep.ListRoomsP99Alone, rep.ListRoomsP99Purging = p99(alone), p99(during)
	rep.ListRoomsCallsAlone, rep.ListRoomsCallsPurge = len(alone), len(during)
	rep.P99Ratio = rep.ListRoomsP99Purging / rep.ListRoomsP99Alone
	rep.WithinTwiceTheFloor, rep.TargetUnderAMinute = rep.P99Ratio <= 2, rep.TargetSeconds < 60
	rep.PurgeBatch, rep.PurgePauseMs = 10_000, 2
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAverage = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return rep, nil
}

func (r PurgeBenchReport) print() {
	fmt.Printf("purge of %d due messages (%d rooms × %d days; seeded in %.1fs): %.2fs, %.0f messages/s (keys destroyed, rows and message keys deleted)\n",
		r.Purged, r.Rooms, r.Days, r.SeedSeconds, r.PurgeSeconds, r.MessagesPerSecond)
	fmt.Printf("  floor (one DELETE per table of the same rows, same run): %.2fs; the purge is ×%.1f the floor\n", r.FloorSeconds, r.PurgeSeconds/r.FloorSeconds)
	fmt.Printf("  phases: keys destroyed %.2fs, read-model rows %.2fs, message keys %.2fs\n", r.KeysSeconds, r.RowsSeconds, r.MessageKeysSeconds)
	fmt.Printf("  extrapolated to %d: %.1fs (target < 60s: %v)\n", r.Target, r.TargetSeconds, r.TargetUnderAMinute)
	load := fmt.Sprintf("%d clients offering %.0f calls/s", r.Clients, r.ListRoomsRate)
	if r.ListRoomsRate <= 0 {
		load = fmt.Sprintf("%d clients, closed loop", r.Clients)
	}
	fmt.Printf("ListRooms p99 (%s): alone %.2f ms (%d calls), during the purge %.2f ms (%d calls): ×%.2f (target ≤ 2: %v)\n",
		load, r.ListRoomsP99Alone, r.ListRoomsCallsAlone, r.ListRoomsP99Purging, r.ListRoomsCallsPurge, r.P99Ratio, r.WithinTwiceTheFloor)
	fmt.Printf("load average: %s\n", r.LoadAverage)
}
