package apibench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
)

// FloodOptions are the parsed flags of `belfry bench audit-flood`.
type FloodOptions struct {
	Harness
	Duration  time.Duration // length of each scenario
	Rate      float64       // offered GetAccount calls/s (all clients together)
	Clients   int           // GetAccount clients
	Flooders  int           // goroutines sending unauthenticated requests
	FloodRate float64       // unauthenticated requests/s of all flooders together (0: closed loop)
}

type floodReport struct {
	StartedAt     time.Time     `json:"startedAt"`
	Seconds       float64       `json:"secondsPerScenario"`
	Flooders      int           `json:"flooders"`
	FloodOffered  float64       `json:"floodOfferedPerSecond,omitempty"` // 0: closed loop
	FloodRequests int64         `json:"floodRequests"`
	FloodPerSec   float64       `json:"floodRequestsPerSecond"`
	Dropped       float64       `json:"auditRecordsDropped"`         // belfry_audit_records_dropped_total
	DropsReported int64         `json:"auditRecordsDroppedReported"` // sum of AuditRecordsDropped records
	Results       []apiResult   `json:"results"`
	Checks        []bench.Check `json:"checks"`
}

// AuditFloodCommand runs `belfry bench audit-flood`: authenticated GetAccount calls at a paced rate
// through the official SDK, first alone, then while o.Flooders goroutines send tiny unauthenticated
// requests (as fast as they can, or o.FloodRate a second together). Their audit records take the
// unauthenticated lane, which drops what it cannot hold: GetAccount's p99 must stay under 50 ms, and
// the drops must be counted in the metric and in AuditRecordsDropped records.
func AuditFloodCommand(ctx context.Context, o FloodOptions) error {
	o.defaults()
	dbURL, stop, err := bench.ScratchDatabase(ctx, o.Postgres, "belfry_bench_audit_flood")
	if err != nil {
		return err
	}
	defer stop()
	_ = os.MkdirAll("bench-results", 0o755)
	srv, err := o.startServer(ctx, dbURL, true, "bench-results/audit-flood-server.log")
	if err != nil {
		return err
	}
	defer srv.Close()
	sdk := newSDK(srv, func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 256 })
	a, err := sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Flooded")})
	if err != nil {
		return err
	}
	getAccount := func(*rand.Rand) error {
		_, err := sdk.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId})
		return err
	}
	rep := &floodReport{StartedAt: time.Now().UTC(), Seconds: o.Duration.Seconds(), Flooders: o.Flooders, FloodOffered: o.FloodRate}
	scenario := func(name, note string) apiResult {
		before := latencyBuckets(srv.Metrics, "GetAccount")
		res := drivePaced(ctx, name, note, o.Clients, o.Rate, o.Duration, getAccount)
		serverLatency(&res, srv.Metrics, "GetAccount", before)
		return res
	}
	fmt.Fprintf(o.Progress, "GetAccount at %.0f/s alone for %v ...\n", o.Rate, o.Duration)
	rep.Results = append(rep.Results, scenario("GetAccount_alone", "no flood"))

	fmt.Fprintf(o.Progress, "GetAccount at %.0f/s beside %d unauthenticated flooders for %v ...\n", o.Rate, o.Flooders, o.Duration)
	stopProfile, err := bench.StartCPUProfile(o.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	stopFlood := flood(ctx, srv.HTTPAddr, o.Flooders, o.FloodRate)
	defer stopFlood()
	rep.Results = append(rep.Results, scenario("GetAccount_under_flood", fmt.Sprintf("beside %d unauthenticated flooders", o.Flooders)))
	rep.FloodRequests, rep.FloodPerSec = stopFlood()
	dropped := func() float64 { return counterSum(srv.Metrics, "belfry_audit_records_dropped_total") }
	if rep.DropsReported, rep.Dropped, err = reportedDrops(ctx, dbURL, dropped); err != nil {
		return err
	}
	return printFloodReport(o.Out, rep, o.JSON)
}

// flood starts n goroutines that send tiny unauthenticated CreateAccount requests to addr, together at
// rate a second (0: each as fast as it can); stop ends them and returns the requests answered and
// their rate.
func flood(ctx context.Context, addr string, n int, rate float64) (stop func() (int64, float64)) {
	floodCtx, cancel := context.WithCancel(ctx)
	var sent atomic.Int64
	var wg sync.WaitGroup
	plain := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
	var interval time.Duration // between one flooder's requests
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(n) / rate)
	}
	t0 := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for due := time.Now(); floodCtx.Err() == nil; due = due.Add(interval) {
				time.Sleep(time.Until(due))
				req, _ := http.NewRequestWithContext(floodCtx, "POST", "http://"+addr+"/accounts", strings.NewReader(`{"Name":"flood"}`))
				req.Header.Set("Content-Type", "application/json")
				if resp, err := plain.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
					resp.Body.Close()
					sent.Add(1)
				}
			}
		}()
	}
	var once sync.Once
	var total int64
	var perSec float64
	return func() (int64, float64) {
		once.Do(func() {
			cancel()
			wg.Wait()
			total, perSec = sent.Load(), float64(sent.Load())/time.Since(t0).Seconds()
		})
		return total, perSec
	}
}

// reportedDrops waits (up to 30 s: the writer reports drops every 10 s, and the server may still be
// answering requests the flooders gave up) until the AuditRecordsDropped records in the read model
// account for every drop the metric counts, and returns both.
func reportedDrops(ctx context.Context, dbURL string, metric func() float64) (int64, float64, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	var n int64
	var m float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		m = metric()
		err := pool.QueryRow(ctx, `SELECT coalesce(sum((record->'serviceEventDetails'->>'droppedRecords')::bigint), 0)
			FROM rm.audit_records WHERE event_name = 'AuditRecordsDropped'`).Scan(&n)
		if err != nil {
			return 0, 0, err
		}
		if float64(n) == m {
			break
		}
	}
	return n, m, nil
}

func printFloodReport(w io.Writer, rep *floodReport, out string) error {
	check := func(name, target string, v float64, pass bool) {
		rep.Checks = append(rep.Checks, bench.Check{Name: name, Target: target, Value: v, Pass: pass})
	}
	flood := rep.Results[1]
	check("GetAccount p99 under an unauthenticated flood", "< 50 ms", flood.P99ms, flood.P99ms < 50 && flood.Errors == 0)
	check("GetAccount server-side p99 under the flood", "< 50 ms", flood.ServerP99ms, flood.ServerP99ms < 50)
	check("dropped audit records reported in the stream", "= metric", float64(rep.DropsReported), float64(rep.DropsReported) == rep.Dropped)
	fmt.Fprintln(w)
	rows := make([][]string, len(rep.Results))
	for i, r := range rep.Results {
		rows[i] = []string{r.Name, fmt.Sprintf("%.0f", r.TargetPerSec), fmt.Sprint(r.Calls), fmt.Sprint(r.Errors),
			fmt.Sprintf("%.2f", r.P50ms), fmt.Sprintf("%.2f", r.P99ms), fmt.Sprintf("%.2f / %.2f", r.ServerP50ms, r.ServerP99ms), r.Note}
	}
	bench.Table(w, []string{"SCENARIO", "OFFERED/S", "CALLS", "ERRORS", "P50 ms", "P99 ms", "SERVER P50/P99 ms", "NOTE"}, rows)
	fmt.Fprintf(w, "\nflood: %d unauthenticated requests (%.0f/s); audit records dropped: %.0f (metric), %d (AuditRecordsDropped records)\n",
		rep.FloodRequests, rep.FloodPerSec, rep.Dropped, rep.DropsReported)
	bench.PrintChecks(w, rep.Checks)
	out = bench.ReportPath(out, "audit-flood", rep.StartedAt)
	if err := bench.WriteJSON(out, rep); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nJSON report: %s\n", out)
	return nil
}
