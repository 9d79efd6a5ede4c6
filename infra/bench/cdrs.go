package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/call"
)

// CDRConfig sizes `belfry bench reports`: Calls ended one-leg conferences are seeded as events, and
// Generate (the CDR regeneration of `belfry reports cdrs`, handed in by cmd) writes their records
// into a directory.
type CDRConfig struct {
	Calls    int // default 20,000
	Workers  int // default 8
	Progress io.Writer
	Generate func(ctx context.Context, dir string, from, to time.Time) (records int, err error)
}

// CDRReport is what the bench measures, beside its floor: the same number of files of the same size
// written under the same key layout by plain os.WriteFile calls on as many goroutines.
type CDRReport struct {
	StartedAt      time.Time `json:"startedAt"`
	Calls          int       `json:"calls"`
	SeedPerSec     float64   `json:"seedEventsPerSec"`
	Records        int       `json:"records"`
	RecordsPerSec  float64   `json:"recordsPerSec"`
	FloorPerSec    float64   `json:"floorFilesPerSec"`
	RatioToFloor   float64   `json:"ratioToFloor"`
	TargetPerSec   float64   `json:"targetRecordsPerSec"`
	TargetMet      bool      `json:"targetMet"`
	GenerateMillis float64   `json:"generateMs"`
}

// RunCDRs seeds the calls and measures Generate (one pass over the log's call streams) and the floor.
func RunCDRs(ctx context.Context, client *esdb.Client, cfg CDRConfig) (CDRReport, error) {
	if cfg.Calls <= 0 {
		cfg.Calls = 20_000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	rep := CDRReport{StartedAt: time.Now().UTC(), Calls: cfg.Calls, TargetPerSec: 20_000}
	t0 := time.Now()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	_, err := seedCalls(ctx, client, cfg, base)
	if err != nil {
		return rep, err
	}
	rep.SeedPerSec = float64(4*cfg.Calls) / time.Since(t0).Seconds()
	fmt.Fprintf(cfg.Progress, "seeded %d calls (%.0f events/s); regenerating their CDRs\n", cfg.Calls, rep.SeedPerSec)
	dir, err := os.MkdirTemp("", "belfry-bench-cdrs-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	t1 := time.Now()
	rep.Records, err = cfg.Generate(ctx, filepath.Join(dir, "belfry"), base.Add(-time.Hour), base.Add(time.Duration(cfg.Calls)*time.Second+time.Minute))
	if err != nil {
		return rep, err
	}
	el := time.Since(t1)
	rep.GenerateMillis, rep.RecordsPerSec = float64(el.Microseconds())/1000, float64(rep.Records)/el.Seconds()
	rep.FloorPerSec, err = floorFiles(filepath.Join(dir, "floor"), rep.Records, cfg.Workers)
	if err != nil {
		return rep, err
	}
	rep.RatioToFloor = rep.RecordsPerSec / rep.FloorPerSec
	rep.TargetMet = rep.RecordsPerSec >= rep.TargetPerSec
	return rep, nil
}

// seedCalls appends cfg.Calls ended one-leg conferences (4 events each) from cfg.Workers writers and
// returns the $all position of the last append.
func seedCalls(ctx context.Context, client *esdb.Client, cfg CDRConfig, base time.Time) (uint64, error) {
	var next atomic.Int64
	var last atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Workers)
	for range cfg.Workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(cfg.Calls); i = next.Add(1) - 1 {
				pos, err := appendCall(ctx, client, base.Add(time.Duration(i)*time.Second), i)
				if err != nil {
					errs <- err
					return
				}
				for p := last.Load(); pos > p && !last.CompareAndSwap(p, pos); p = last.Load() {
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return last.Load(), <-errs
}

func appendCall(ctx context.Context, client *esdb.Client, at time.Time, i int64) (uint64, error) {
	id, leg := uuid.NewString(), uuid.NewString()
	from, to := fmt.Sprintf("+1206555%04d", i%10_000), fmt.Sprintf("+44207183%04d", i%10_000)
	evs := []call.Event{
		call.CallPlaced{ConferenceID: id, AwsAccountID: "111122223333", AccountID: "bench-account", OrganizerUserID: "bench-user",
			OrganizerEmail: "bench@example.com", At: at, Legs: []call.Leg{{LegID: leg, Direction: call.Outbound, From: from, To: to,
				FromCountry: "US", ToCountry: "GB", UserID: "bench-user"}}},
		call.LegConnected{LegID: leg, At: at.Add(3 * time.Second)},
		call.LegEnded{LegID: leg, Reason: call.ReasonCompleted, At: at.Add(45 * time.Second)},
		call.ConferenceEnded{At: at.Add(45 * time.Second)},
	}
	data := make([]esdb.EventData, len(evs))
	for j, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		data[j] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b}
	}
	wr, err := client.AppendToStream(ctx, call.StreamName(id), esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, data...)
	if err != nil {
		return 0, err
	}
	return wr.CommitPosition, nil
}

// floorFiles writes n files of a CDR's size under a CDR-like key layout with plain os.WriteFile
// calls on workers goroutines and returns files/s.
func floorFiles(dir string, n, workers int) (float64, error) {
	body := make([]byte, 720)
	for i := range body {
		body[i] = 'x'
	}
	t := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var ferr atomic.Value
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				p := filepath.Join(dir, "Amazon-Chime-Business-Calling-CDRs", "json", "111122223333", "2026", "11", fmt.Sprintf("%02d", i%28+1),
					fmt.Sprintf("%s_2026-11-02-09.00.00.000_%s", uuid.NewString(), uuid.NewString()))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					ferr.Store(err)
					return
				}
				if err := os.WriteFile(p, body, 0o644); err != nil {
					ferr.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := ferr.Load().(error); ok {
		return 0, err
	}
	return float64(n) / time.Since(t).Seconds(), nil
}

// Print writes the report as a table.
func (r CDRReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tfiles\tper second\t\n")
	fmt.Fprintf(tw, "CDRs regenerated from the log (belfry reports cdrs)\t%d\t%.0f\t\n", r.Records, r.RecordsPerSec)
	fmt.Fprintf(tw, "floor: plain os.WriteFile of as many files of the same size\t%d\t%.0f\t\n", r.Records, r.FloorPerSec)
	tw.Flush()
	met := "not met"
	if r.TargetMet {
		met = "met"
	}
	fmt.Fprintf(w, "\n%.2fx the floor; target %.0f records/s: %s (seeded %d calls at %.0f events/s)\n", r.RatioToFloor, r.TargetPerSec, met, r.Calls, r.SeedPerSec)
}
