package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
)

// SnapshotConfig sizes the snapshot benchmark.
type SnapshotConfig struct {
	Users    int   // users of the account (default 100,000)
	Every    int64 // snapshot distance; the worst tail is Every-1 events (default eventstore.DefaultSnapshotEvery)
	Runs     int   // loads per figure; the median is reported (default 5)
	Progress io.Writer
}

// SnapshotReport is what `belfry bench snapshot` measures: loading one large account into a
// repository with an empty cache (as after a restart), from its events alone and from its snapshot.
type SnapshotReport struct {
	StartedAt     time.Time `json:"startedAt"`
	Users         int       `json:"users"`
	Events        int64     `json:"events"`        // stream length when the snapshot is taken
	Every         int64     `json:"every"`         // snapshot distance
	SnapshotBytes int       `json:"snapshotBytes"` // encoded size
	EncodeMs      float64   `json:"encodeMs"`      // codec alone, in memory (under the stream's lock)
	DecodeMs      float64   `json:"decodeMs"`      // codec alone, in memory
	FetchMs       float64   `json:"fetchMs"`       // reading the snapshot row from Postgres alone (median)
	// Loads with an empty cache, medians of Runs (each run's figure in the lists).
	FullFoldMs     float64   `json:"fullFoldMs"` // no snapshot: every event read and folded
	FullFoldRuns   []float64 `json:"fullFoldRuns"`
	SnapshotMs     float64   `json:"snapshotMs"` // snapshot at the stream's last event
	SnapshotRuns   []float64 `json:"snapshotRuns"`
	SnapshotPhases Phases    `json:"snapshotPhases"`
	TailMs         float64   `json:"snapshotWorstTailMs"` // snapshot plus Every-1 events after it
	TailRuns       []float64 `json:"snapshotWorstTailRuns"`
	TailPhases     Phases    `json:"snapshotWorstTailPhases"`
	TailFullFoldMs float64   `json:"tailStreamFullFoldMs"` // that longer stream without a snapshot (one run)
	// After a clean stop (Repository.SnapshotCached on a repository holding the tail): the load a
	// clean restart does, from the snapshot the stop wrote at the last event.
	RestartMs      float64   `json:"cleanRestartMs"`
	RestartRuns    []float64 `json:"cleanRestartRuns"`
	RestartPhases  Phases    `json:"cleanRestartPhases"`
	StopSnapshotMs float64   `json:"stopSnapshotMs"` // SnapshotCached at the stop (encode and write)
}

// Phases splits the loads from a snapshot, medians over the runs: reading the row (the snapshot
// store), decoding it (the codec) and the rest (reading and folding the events after it).
type Phases struct {
	FetchMs  float64 `json:"fetchMs"`
	DecodeMs float64 `json:"decodeMs"`
	RestMs   float64 `json:"restMs"`
}

// phaseClock times the snapshot store and codec of one load.
type phaseClock struct{ fetch, decode time.Duration }

type timedStore struct {
	eventstore.SnapshotStore
	c *phaseClock
}

func (s timedStore) LoadSnapshot(ctx context.Context, stream string) (eventstore.Snapshot, bool, error) {
	start := time.Now()
	defer func() { s.c.fetch += time.Since(start) }()
	return s.SnapshotStore.LoadSnapshot(ctx, stream)
}

func (s timedStore) LoadSnapshotAfterHead(ctx context.Context, stream string, head func(eventstore.Snapshot)) (eventstore.Snapshot, bool, error) {
	start := time.Now()
	defer func() { s.c.fetch += time.Since(start) }()
	return s.SnapshotStore.(eventstore.SnapshotHeadStore).LoadSnapshotAfterHead(ctx, stream, head)
}

type timedCodec struct {
	account.SnapshotCodec
	c *phaseClock
}

func (c timedCodec) Decode(b []byte) (account.State, error) {
	start := time.Now()
	defer func() { c.c.decode += time.Since(start) }()
	return c.SnapshotCodec.Decode(b)
}

func (c *SnapshotConfig) defaults() {
	if c.Users <= 0 {
		c.Users = 100_000
	}
	if c.Every <= 0 {
		c.Every = eventstore.DefaultSnapshotEvery
	}
	if c.Runs <= 0 {
		c.Runs = 5
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

var accountDecider = eventstore.Decider[account.State, account.Command, account.Event]{
	Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
	Type: func(e account.Event) string { return e.EventType() },
}

// RunSnapshot seeds one account with cfg.Users users (UserAdded events appended in batches, as
// `belfry bench api` does) and measures its loads in the same run with and without a snapshot.
func RunSnapshot(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, cfg SnapshotConfig) (SnapshotReport, error) {
	cfg.defaults()
	rep := SnapshotReport{StartedAt: time.Now().UTC(), Users: cfg.Users, Every: cfg.Every, Events: int64(cfg.Users) + 1}
	store := eventstore.NewSnapshotStore(pool)
	plain := func() *eventstore.Repository[account.State, account.Command, account.Event] {
		return eventstore.NewRepository(client, accountDecider, nil)
	}
	snapshotting := func(c *phaseClock) *eventstore.Repository[account.State, account.Command, account.Event] {
		return plain().WithSnapshots(eventstore.Snapshots[account.State]{Store: timedStore{store, c}, Codec: timedCodec{c: c}, Every: cfg.Every})
	}
	id := "bench-snapshot-" + uuid.NewString()[:8]
	stream := account.StreamName(id)
	if _, err := plain().Execute(ctx, stream, account.Create{AccountID: id, AwsAccountID: "123456789012", Name: "Snapshot bench"}); err != nil {
		return rep, err
	}
	fmt.Fprintf(cfg.Progress, "seeding %d users ...\n", cfg.Users)
	userIDs, err := appendUsers(ctx, client, stream, cfg.Users)
	if err != nil {
		return rep, err
	}
	load := func(r *eventstore.Repository[account.State, account.Command, account.Event]) (float64, account.State, error) {
		start := time.Now()
		s, _, err := r.Load(ctx, stream)
		return ms(time.Since(start)), s, err
	}
	fmt.Fprintln(cfg.Progress, "loading without a snapshot ...")
	var full account.State
	for range cfg.Runs {
		runtime.GC()
		d, s, err := load(plain())
		if err != nil {
			return rep, err
		}
		rep.FullFoldRuns, full = append(rep.FullFoldRuns, d), s
	}
	if full.Users() != cfg.Users {
		return rep, fmt.Errorf("bench: the account folded to %d users, want %d", full.Users(), cfg.Users)
	}
	if err := measureCodec(ctx, &rep, full, stream, store, snapshotting(&phaseClock{}), cfg); err != nil {
		return rep, err
	}
	if rep.SnapshotRuns, rep.SnapshotPhases, err = snapshotLoads(cfg.Runs, snapshotting, load, full); err != nil {
		return rep, err
	}
	// The worst case: Every-1 events after the snapshot (logouts, appended past the repository).
	if err := appendLogouts(ctx, client, stream, userIDs[:cfg.Every-1]); err != nil {
		return rep, err
	}
	fmt.Fprintf(cfg.Progress, "loading from the snapshot and %d events after it ...\n", cfg.Every-1)
	if rep.TailFullFoldMs, _, err = load(plain()); err != nil {
		return rep, err
	}
	_, tailFull, err := load(plain())
	if err != nil {
		return rep, err
	}
	if rep.TailRuns, rep.TailPhases, err = snapshotLoads(cfg.Runs, snapshotting, load, tailFull); err != nil {
		return rep, err
	}
	if err := cleanRestart(ctx, &rep, stream, snapshotting, load, tailFull, cfg); err != nil {
		return rep, err
	}
	rep.FullFoldMs, rep.SnapshotMs, rep.TailMs = median(rep.FullFoldRuns), median(rep.SnapshotRuns), median(rep.TailRuns)
	rep.RestartMs = median(rep.RestartRuns)
	return rep, nil
}

// cleanRestart stops cleanly a repository holding the stream with its worst tail (SnapshotCached, as
// `belfry serve` does at a stop) and times the loads a restart then does.
func cleanRestart(ctx context.Context, rep *SnapshotReport, stream string, repo func(*phaseClock) *eventstore.Repository[account.State, account.Command, account.Event],
	load func(*eventstore.Repository[account.State, account.Command, account.Event]) (float64, account.State, error), want account.State, cfg SnapshotConfig) error {
	stopping := repo(&phaseClock{})
	if _, _, err := load(stopping); err != nil {
		return err
	}
	start := time.Now()
	if n := stopping.SnapshotCached(ctx); n != 1 {
		return fmt.Errorf("bench: the clean stop wrote %d snapshots, want 1: %+v", n, stopping.SnapshotStats())
	}
	rep.StopSnapshotMs = ms(time.Since(start))
	fmt.Fprintln(cfg.Progress, "loading after a clean stop ...")
	var err error
	rep.RestartRuns, rep.RestartPhases, err = snapshotLoads(cfg.Runs, repo, load, want)
	return err
}

// measureCodec times the codec alone, has a repository take the snapshot (a load folding more than
// Every events does), and times fetching the snapshot's row.
func measureCodec(ctx context.Context, rep *SnapshotReport, full account.State, stream string, store *eventstore.PGSnapshots,
	taker *eventstore.Repository[account.State, account.Command, account.Event], cfg SnapshotConfig) error {
	runtime.GC()
	start := time.Now()
	data := account.EncodeSnapshot(full)
	rep.EncodeMs, rep.SnapshotBytes = ms(time.Since(start)), len(data)
	runtime.GC()
	start = time.Now()
	if _, err := account.DecodeSnapshot(data); err != nil {
		return err
	}
	rep.DecodeMs = ms(time.Since(start))
	if _, _, err := taker.Load(ctx, stream); err != nil {
		return err
	}
	taker.WaitSnapshots()
	if st := taker.SnapshotStats(); st.Taken != 1 {
		return fmt.Errorf("bench: no snapshot taken: %+v", st)
	}
	fmt.Fprintln(cfg.Progress, "loading from the snapshot ...")
	var fetches []float64
	for range cfg.Runs {
		start := time.Now()
		if _, _, err := store.LoadSnapshot(ctx, stream); err != nil {
			return err
		}
		fetches = append(fetches, ms(time.Since(start)))
	}
	rep.FetchMs = median(fetches)
	return nil
}

// snapshotLoads loads the stream runs times through fresh snapshotting repositories; every load must
// start from the snapshot and reach want (the same state, compared field by field, untimed). A
// collection before each load keeps one run's garbage out of the next run's figure.
func snapshotLoads(runs int, repo func(*phaseClock) *eventstore.Repository[account.State, account.Command, account.Event],
	load func(*eventstore.Repository[account.State, account.Command, account.Event]) (float64, account.State, error), want account.State) ([]float64, Phases, error) {
	var out, fetch, decode, rest []float64
	for range runs {
		runtime.GC() // each load starts with no garbage of the one before or of the check below
		c := &phaseClock{}
		r := repo(c)
		d, s, err := load(r)
		if err != nil {
			return nil, Phases{}, err
		}
		if st := r.SnapshotStats(); st.Used != 1 {
			return nil, Phases{}, fmt.Errorf("bench: the load did not start from the snapshot: %+v", st)
		}
		if !account.SameState(s, want) {
			return nil, Phases{}, fmt.Errorf("bench: the state loaded from the snapshot (%d users) differs from the full fold (%d)", s.Users(), want.Users())
		}
		out = append(out, d)
		fetch, decode, rest = append(fetch, ms(c.fetch)), append(decode, ms(c.decode)), append(rest, d-ms(c.fetch)-ms(c.decode))
	}
	return out, Phases{FetchMs: median(fetch), DecodeMs: median(decode), RestMs: median(rest)}, nil
}

func appendUsers(ctx context.Context, client *esdb.Client, stream string, n int) ([]string, error) {
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	return ids, appendBatches(ctx, client, stream, n, func(i int) account.Event {
		ids = append(ids, uuid.NewString())
		return account.UserAdded{UserID: ids[i], Email: fmt.Sprintf("user%07d@bench.example.com", i), UserType: account.UserTypePrivate,
			LicenseType: account.LicensePro, CreatedAt: now}
	})
}

func appendLogouts(ctx context.Context, client *esdb.Client, stream string, users []string) error {
	now := time.Now().UTC()
	return appendBatches(ctx, client, stream, len(users), func(i int) account.Event {
		return account.UserLoggedOut{UserID: users[i], At: now}
	})
}

// appendBatches appends n events made by ev to the stream, 1,000 per append, with exact revisions.
func appendBatches(ctx context.Context, client *esdb.Client, stream string, n int, ev func(int) account.Event) error {
	rs, err := client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return err
	}
	last, err := rs.Recv()
	rs.Close()
	if err != nil {
		return err
	}
	rev := last.Event.EventNumber
	for start := 0; start < n; start += 1000 {
		var evs []esdb.EventData
		for i := start; i < min(n, start+1000); i++ {
			e := ev(i)
			b, _ := json.Marshal(e)
			evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
		}
		wr, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(rev)}, evs...)
		if err != nil {
			return err
		}
		rev = wr.NextExpectedVersion
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Print writes the report as a table.
func (r SnapshotReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "load of a %d-user account (%d events), empty cache\tms (median of runs)\truns\t\n", r.Users, r.Events)
	fmt.Fprintf(tw, "no snapshot: fold every event\t%.1f\t%v\t\n", r.FullFoldMs, r.FullFoldRuns)
	fmt.Fprintf(tw, "snapshot at the last event\t%.1f\t%v\t\n", r.SnapshotMs, r.SnapshotRuns)
	fmt.Fprintf(tw, "  of which: row fetch / decode / the rest\t%.1f / %.1f / %.1f\t\t\n", r.SnapshotPhases.FetchMs, r.SnapshotPhases.DecodeMs, r.SnapshotPhases.RestMs)
	fmt.Fprintf(tw, "snapshot + %d events (the worst tail)\t%.1f\t%v\t\n", r.Every-1, r.TailMs, r.TailRuns)
	fmt.Fprintf(tw, "  of which: row fetch / decode / the rest\t%.1f / %.1f / %.1f\t\t\n", r.TailPhases.FetchMs, r.TailPhases.DecodeMs, r.TailPhases.RestMs)
	fmt.Fprintf(tw, "(that stream without a snapshot, one run)\t%.1f\t\t\n", r.TailFullFoldMs)
	fmt.Fprintf(tw, "after a clean stop (snapshot written at the stop)\t%.1f\t%v\t\n", r.RestartMs, r.RestartRuns)
	fmt.Fprintf(tw, "  of which: row fetch / decode / the rest\t%.1f / %.1f / %.1f\t\t\n", r.RestartPhases.FetchMs, r.RestartPhases.DecodeMs, r.RestartPhases.RestMs)
	fmt.Fprintf(tw, "  the stop's snapshot (encode + write)\t%.1f\t\t\n", r.StopSnapshotMs)
	fmt.Fprintf(tw, "of which: the snapshot row from Postgres alone\t%.1f\t\t\n", r.FetchMs)
	fmt.Fprintf(tw, "codec alone: encode / decode, %d bytes\t%.1f / %.1f\t\t\n", r.SnapshotBytes, r.EncodeMs, r.DecodeMs)
	tw.Flush()
}
