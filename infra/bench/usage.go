package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/eventstore"
)

// UsageConfig sizes the usage-report part of `belfry bench reports`: one account of Users users and
// about Events events of one week (each user's sign-in, meetings with their joins, 1:1/group and
// room messages) are seeded, then the generator of `belfry reports generate` (handed in by cmd)
// writes the week's report: through the usage read model (GenerateRM, once CatchUp has built it from
// position 0 up to the log's head, after the seed: its catch-up rate is measured) and by a pass over
// the log (Generate, as --from-log).
type UsageConfig struct {
	Users    int // default 10,000
	Events   int // default 200,000
	Workers  int // seeding writers, default 4
	Progress io.Writer
	Generate func(ctx context.Context, weekStart time.Time) (rows, events int, err error)
	// GenerateRM generates through the read model; CatchUp starts the read model's runner and
	// returns once it has applied head (nil: not measured).
	GenerateRM func(ctx context.Context, weekStart time.Time) (rows, events int, err error)
	CatchUp    func(ctx context.Context, head uint64) error
}

// UsageReport is what the bench measures, beside its floor: the same filtered pass over $all that
// only counts the events (no decoding, no tally, no CSV). Both run after a first, untimed pass, so
// that both read a warm log. The read model's generation reads the directory streams by name and
// one counter row per user: its time depends on the users and directory events, not on the
// activity events; DirPass* is what a filtered pass over only the account and settings streams
// would cost instead (the server scans every event of $all to filter it).
type UsageReport struct {
	StartedAt        time.Time `json:"startedAt"`
	Users            int       `json:"users"`
	Events           int       `json:"eventsSeeded"`
	SeedPerSec       float64   `json:"seedEventsPerSec"`
	ColdSeconds      float64   `json:"firstPassSeconds"`
	Rows             int       `json:"rows"`
	EventsRead       int       `json:"eventsRead"`
	GenerateSeconds  float64   `json:"generateSeconds"`
	EventsPerSec     float64   `json:"eventsPerSec"`
	FloorSeconds     float64   `json:"floorSeconds"`
	FloorPerSec      float64   `json:"floorEventsPerSec"`
	RatioToFloor     float64   `json:"ratioToFloor"`
	TargetEvents     int       `json:"targetEvents"`
	TargetSeconds    float64   `json:"targetSeconds"`
	ProjectedSeconds float64   `json:"projectedSecondsAtTarget"`
	TargetMet        bool      `json:"targetMet"`

	RMCatchUpSeconds  float64 `json:"readModelCatchUpSeconds"`
	RMEventsPerSec    float64 `json:"readModelCatchUpEventsPerSec"`
	RMRows            int     `json:"readModelRows"`
	RMEventsRead      int     `json:"readModelDirectoryEventsRead"`
	RMGenerateSeconds float64 `json:"readModelGenerateSeconds"`
	DirPassEvents     int     `json:"directoryPassEvents"`
	DirPassSeconds    float64 `json:"directoryPassSeconds"`
	TargetUsers       int     `json:"targetUsers"`
	RMTargetMet       bool    `json:"readModelTargetMet"`
	LoadAverage       string  `json:"loadAverage"`
}

// usageWeek is the week the bench's events fall in (Sunday 1 November 2026).
var usageWeek = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// RunUsage seeds the account and its week, then measures Generate and the floor.
func RunUsage(ctx context.Context, client *esdb.Client, cfg UsageConfig) (UsageReport, error) {
	if cfg.Users <= 0 {
		cfg.Users = 10_000
	}
	if cfg.Events <= 0 {
		cfg.Events = 200_000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	rep := UsageReport{StartedAt: time.Now().UTC(), Users: cfg.Users, TargetEvents: 10_000_000, TargetSeconds: 60, TargetUsers: 100_000}
	t0 := time.Now()
	n, err := seedUsage(ctx, client, cfg)
	if err != nil {
		return rep, err
	}
	rep.Events, rep.SeedPerSec = n, float64(n)/time.Since(t0).Seconds()
	head, err := eventstore.Head(ctx, client)
	if err != nil {
		return rep, err
	}
	if cfg.CatchUp != nil {
		t1 := time.Now()
		fmt.Fprintf(cfg.Progress, "seeded %d events (%.0f events/s); building the usage read model from position 0\n", n, rep.SeedPerSec)
		if err := cfg.CatchUp(ctx, head); err != nil {
			return rep, err
		}
		rep.RMCatchUpSeconds = time.Since(t1).Seconds()
		rep.RMEventsPerSec = float64(n) / rep.RMCatchUpSeconds
	}
	// One pass first, untimed: the generator and the floor then both read a warm log.
	t0 = time.Now()
	if err := eventstore.Pass(ctx, client, usage.StreamPrefixes, 0, head, func(*esdb.RecordedEvent) error { return nil }); err != nil {
		return rep, err
	}
	rep.ColdSeconds = time.Since(t0).Seconds()
	fmt.Fprintf(cfg.Progress, "seeded %d users and %d events (%.0f events/s); a first pass over the log took %.2f s; generating the week's report\n",
		cfg.Users, n, rep.SeedPerSec, rep.ColdSeconds)
	if err := rep.measureRM(ctx, client, cfg, head); err != nil {
		return rep, err
	}
	t1 := time.Now()
	rep.Rows, rep.EventsRead, err = cfg.Generate(ctx, usageWeek)
	if err != nil {
		return rep, err
	}
	el := time.Since(t1)
	rep.GenerateSeconds, rep.EventsPerSec = el.Seconds(), float64(rep.EventsRead)/el.Seconds()
	t2 := time.Now()
	floor := 0
	if err := eventstore.Pass(ctx, client, usage.StreamPrefixes, 0, head, func(*esdb.RecordedEvent) error { floor++; return nil }); err != nil {
		return rep, err
	}
	rep.FloorSeconds = time.Since(t2).Seconds()
	rep.FloorPerSec = float64(floor) / rep.FloorSeconds
	rep.RatioToFloor = rep.EventsPerSec / rep.FloorPerSec
	rep.ProjectedSeconds = float64(rep.TargetEvents) / rep.EventsPerSec
	rep.TargetMet = rep.ProjectedSeconds <= rep.TargetSeconds
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// measureRM times the generation through the read model, and a filtered pass over the directory
// streams alone (the account and settings streams) for comparison.
func (rep *UsageReport) measureRM(ctx context.Context, client *esdb.Client, cfg UsageConfig, head uint64) error {
	if cfg.GenerateRM == nil {
		return nil
	}
	t0 := time.Now()
	var err error
	if rep.RMRows, rep.RMEventsRead, err = cfg.GenerateRM(ctx, usageWeek); err != nil {
		return err
	}
	rep.RMGenerateSeconds = time.Since(t0).Seconds()
	rep.RMTargetMet = rep.Users >= rep.TargetUsers && rep.RMGenerateSeconds <= rep.TargetSeconds
	t0 = time.Now()
	err = eventstore.Pass(ctx, client, []string{account.StreamPrefix, settings.StreamPrefix}, 0, head, func(*esdb.RecordedEvent) error {
		rep.DirPassEvents++
		return nil
	})
	rep.DirPassSeconds = time.Since(t0).Seconds()
	return err
}

// loadAverage is /proc/loadavg's first three figures ("" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// seedUsage appends the account, one sign-in per user, and then meetings (a schedule, a start and 48
// joins each), 1:1 conversations and rooms (500 messages an append) until about cfg.Events events,
// from cfg.Workers writers; it returns how many events it appended.
func seedUsage(ctx context.Context, client *esdb.Client, cfg UsageConfig) (int, error) {
	const acc = "bench-usage-account"
	user := func(i int) string { return fmt.Sprintf("bench-user-%06d", i) }
	at := func(i int) time.Time { return usageWeek.Add(time.Duration(i%(7*24*3600)) * time.Second) }
	evs := []any{account.Created{AccountID: acc, AwsAccountID: "111122223333", Name: "Bench Usage", AccountType: "EnterpriseLWA",
		CreatedAt: usageWeek.AddDate(0, -1, 0)}}
	for i := range cfg.Users {
		evs = append(evs, account.UserAdded{UserID: user(i), Email: user(i) + "@bench.example", Username: "User " + user(i), LicenseType: "Pro",
			CreatedAt: usageWeek.AddDate(0, 0, -1)})
	}
	if err := appendChunks(ctx, client, account.StreamName(acc), evs); err != nil {
		return 0, err
	}
	total := len(evs)
	var next atomic.Int64
	var seeded atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Workers)
	for range cfg.Workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); int(seeded.Load())+total < cfg.Events || i < cfg.Users; i = int(next.Add(1) - 1) {
				stream, batch := usageBatch(i, cfg.Users, user, at)
				if err := appendChunks(ctx, client, stream, batch); err != nil {
					errs <- err
					return
				}
				seeded.Add(int64(len(batch)))
			}
		})
	}
	wg.Wait()
	close(errs)
	return total + int(seeded.Load()), <-errs
}

// usageBatch is the i-th stream of the seed: first one sign-in stream per user, then in turn a
// meeting, a 1:1 conversation and a room.
func usageBatch(i, users int, user func(int) string, at func(int) time.Time) (string, []any) {
	if i < users {
		return usage.SignInStream(user(i)), []any{usage.SignedIn{AccountID: "bench-usage-account", UserID: user(i), At: at(i * 7)}}
	}
	var out []any
	sealed := make([]byte, 180)
	switch id := fmt.Sprintf("bench-%08d", i); i % 3 {
	case 0:
		out = append(out, meeting.Scheduled{AccountID: "bench-usage-account", OrganizerID: user(i % users), StartsAt: at(i), At: at(i)},
			meeting.Started{By: user(i % users), At: at(i)})
		for j := range 48 {
			out = append(out, meeting.AttendeeJoined{AttendeeID: uuid.NewString(), UserID: user((i + j*7919) % users), At: at(i + j)})
		}
		return meeting.StreamName(id), out
	case 1:
		for j := range 500 {
			out = append(out, conversation.MessagePosted{MessageID: uuid.NewString(), SenderID: user((i + j%2*13) % users),
				SenderAccountID: "bench-usage-account", KeyID: "k", Sealed: sealed, At: at(i*31 + j)})
		}
		return conversation.StreamName(id), out
	default:
		for j := range 500 {
			out = append(out, room.MessagePosted{MessageID: uuid.NewString(), SenderID: user((i + j*104729) % users), SenderType: room.MemberUser,
				SenderName: "User", KeyID: "k", Sealed: sealed, At: at(i*17 + j)})
		}
		return room.StreamName(id), out
	}
}

// appendChunks appends events to stream in appends of at most 1,000.
func appendChunks(ctx context.Context, client *esdb.Client, stream string, evs []any) error {
	for len(evs) > 0 {
		n := min(len(evs), 1000)
		data := make([]esdb.EventData, n)
		for j, e := range evs[:n] {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			data[j] = esdb.EventData{EventID: uuid.New(), EventType: e.(interface{ EventType() string }).EventType(), ContentType: esdb.ContentTypeJson, Data: b}
		}
		if _, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...); err != nil {
			return fmt.Errorf("bench: seed %s: %w", stream, err)
		}
		evs = evs[n:]
	}
	return nil
}

// Print writes the report as a table.
func (r UsageReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tevents\tseconds\tevents per second\t\n")
	if r.RMGenerateSeconds > 0 {
		fmt.Fprintf(tw, "weekly usage report from the read model (belfry reports generate, %d rows; directory events read)\t%d\t%.2f\t\t\n",
			r.RMRows, r.RMEventsRead, r.RMGenerateSeconds)
		fmt.Fprintf(tw, "a filtered pass over the directory streams alone (scans all of $all)\t%d\t%.2f\t\t\n", r.DirPassEvents, r.DirPassSeconds)
		fmt.Fprintf(tw, "the usage read model catching up from position 0 (its runner, after the seed)\t%d\t%.2f\t%.0f\t\n",
			r.Events, r.RMCatchUpSeconds, r.RMEventsPerSec)
	}
	fmt.Fprintf(tw, "weekly usage report from the log (belfry reports generate, %d rows)\t%d\t%.2f\t%.0f\t\n", r.Rows, r.EventsRead, r.GenerateSeconds, r.EventsPerSec)
	fmt.Fprintf(tw, "floor: the same filtered pass over $all, counting only\t%d\t%.2f\t%.0f\t\n", r.EventsRead, r.FloorSeconds, r.FloorPerSec)
	tw.Flush()
	met := "not met"
	if r.TargetMet {
		met = "met"
	}
	fmt.Fprintf(w, "\nfrom the log: %.2fx the floor; at this rate %d events take %.0f s (target %.0f s with 100,000 users): %s (seeded %d users, %d events at %.0f events/s)\n",
		r.RatioToFloor, r.TargetEvents, r.ProjectedSeconds, r.TargetSeconds, met, r.Users, r.Events, r.SeedPerSec)
	if r.RMGenerateSeconds > 0 {
		met = "not met"
		if r.RMTargetMet {
			met = "met"
		}
		fmt.Fprintf(w, "from the read model: %.2f s for %d users over %d events; its time follows the users and directory events, not the activity events (target %.0f s with %d users): %s\n",
			r.RMGenerateSeconds, r.Users, r.Events, r.TargetSeconds, r.TargetUsers, met)
	}
	fmt.Fprintf(w, "load average at the end: %s\n", r.LoadAverage)
}
