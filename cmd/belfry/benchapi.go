package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/eventstore"
)

type apiResult struct {
	Name   string  `json:"name"`
	Calls  int64   `json:"calls"`
	Errors int64   `json:"errors"`
	PerSec float64 `json:"callsPerSecond"`
	P50ms  float64 `json:"p50Ms"`
	P99ms  float64 `json:"p99Ms"`
	// ServerP50ms and ServerP99ms are the server-side latencies of the scenario's operation, from
	// belfry_api_request_seconds (interpolated within its buckets, as histogram_quantile does).
	ServerP50ms float64 `json:"serverP50Ms,omitempty"`
	ServerP99ms float64 `json:"serverP99Ms,omitempty"`
	// TargetPerSec is the offered load of a paced scenario (0: closed loop, as fast as possible).
	TargetPerSec float64 `json:"targetPerSecond,omitempty"`
	// Runs is how many times a paced scenario ran; the figures are those of the run with the median
	// client p99, and P99Runs lists every run's client p99 (one hiccup of the machine moves a 10 s p99).
	Runs    int       `json:"runs,omitempty"`
	P99Runs []float64 `json:"p99MsRuns,omitempty"`
	Note    string    `json:"note,omitempty"`
}

type apiReport struct {
	StartedAt time.Time     `json:"startedAt"`
	Users     int           `json:"users"`
	Clients   int           `json:"clients"`
	Seconds   float64       `json:"secondsPerScenario"`
	ReadAudit bool          `json:"readCallsAudited"`
	SeedSecs  float64       `json:"seedSeconds"`
	Results   []apiResult   `json:"results"`
	Checks    []bench.Check `json:"checks"`
}

// cmdBenchAPI runs `belfry bench api`: a Belfry server (in this process, or a child `belfry serve`
// process with --server process) on a scratch database with one account of --users users, driven by --clients concurrent official-SDK
// clients on loopback, beside a plain echo handler that reads one row with pgx (the floor, in the
// bench's own process), measured in the same run.
func cmdBenchAPI(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench api", flag.ContinueOnError)
	users := fs.Int("users", 100_000, "users in the benchmark account")
	clients := fs.Int("clients", 200, "concurrent clients")
	d := fs.Duration("duration", 10*time.Second, "length of each scenario")
	getRates := fs.String("get-rates", "200,500,1000", "offered GetUser calls/s of the paced latency scenarios (all clients together), a sweep")
	listRate := fs.Float64("list-rate", 200, "offered ListUsers calls/s of the paced latency scenario")
	batchRate := fs.Float64("batch-rate", 100, "offered BatchUpdateUser calls/s of the paced latency scenario")
	auditReads := fs.Bool("audit-reads", true, "audit read-only calls (BELFRY_AUDIT_READS); false measures the cost of doing so")
	serverMode := fs.String("server", "inline", "run the server in the bench's own process (inline) or as a `belfry serve` child process (process)")
	repeats := fs.Int("repeats", 3, "runs of each paced scenario (the median run is reported, every run's p99 listed)")
	only := fs.String("only", "", "run only the scenarios whose name matches this regular expression")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scenarios here")
	out := fs.String("json", "", "write the JSON report here (default bench-results/api-<time>.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	selected, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	if *repeats < 1 {
		return fmt.Errorf("--repeats must be at least 1")
	}
	var rates []float64
	for _, f := range strings.Split(*getRates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("--get-rates: %q is not a positive rate", f)
		}
		rates = append(rates, r)
	}
	if err := os.MkdirAll("bench-results", 0o755); err != nil {
		return err
	}
	dbURL, stop, err := scratchDatabase(ctx, cfg, "belfry_bench_api")
	if err != nil {
		return err
	}
	defer stop()
	srv, err := startBenchServer(ctx, *serverMode, dbURL, *auditReads, "bench-results/api-server.log")
	if err != nil {
		return err
	}
	defer srv.Close()
	keyID, secret := srv.KeyID, srv.Secret
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
	})
	sdk := chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.HTTPAddr), HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")})
	rep := &apiReport{StartedAt: time.Now().UTC(), Users: *users, Clients: *clients, Seconds: d.Seconds(), ReadAudit: *auditReads}

	a, err := sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Bench")})
	if err != nil {
		return err
	}
	acct := aws.ToString(a.Account.AccountId)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintf(os.Stderr, "seeding %d users (as UserAdded events, the way an import writes them) ...\n", *users)
	t0 := time.Now()
	ids, err := seedUsers(ctx, srv.LogURL, acct, *users)
	if err != nil {
		return err
	}
	for {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM rm.chime_users WHERE account_id = $1", acct).Scan(&n); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  read model: %d/%d users\n", n, *users)
		if n >= *users {
			break
		}
		time.Sleep(time.Second)
	}
	rep.SeedSecs = time.Since(t0).Seconds()
	// Each scenario measures a steady state, not the aftermath of the import or of the scenario before
	// it: vacuum and checkpoint first, rather than let autovacuum and a forced checkpoint land in the
	// middle of the next measurement.
	settle := func() error {
		for _, q := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
			if _, err := pool.Exec(ctx, q); err != nil {
				return fmt.Errorf("settle: %s: %w", q, err)
			}
		}
		return nil
	}

	// The floor: a plain echo handler that reads one row with pgx.
	floor := echo.New()
	floor.HideBanner, floor.HidePort = true, true
	floor.GET("/users/:id", func(c echo.Context) error {
		var email, lic string
		if err := pool.QueryRow(c.Request().Context(), "SELECT email, license_type FROM rm.chime_users WHERE user_id = $1", c.Param("id")).Scan(&email, &lic); err != nil {
			return c.NoContent(http.StatusNotFound)
		}
		return c.JSON(http.StatusOK, map[string]string{"UserId": c.Param("id"), "PrimaryEmail": email, "LicenseType": lic})
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	floorSrv := &http.Server{Handler: floor}
	go func() { _ = floorSrv.Serve(lis) }()
	defer floorSrv.Close()
	plain := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// withServerLatency runs a scenario and adds the server-side quantiles of its operation.
	measure := func(name string, fn func() apiResult) apiResult {
		if err := settle(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		op := apiOperation(name)
		// The snapshot is taken when the warm-up ends, as the client's recording starts.
		snap := make(chan []bucket, 1)
		go func() { time.Sleep(warmup); snap <- latencyBuckets(srv.Metrics, op) }()
		res := fn()
		before := <-snap
		if op != "" {
			delta := subtractBuckets(latencyBuckets(srv.Metrics, op), before)
			res.ServerP50ms, res.ServerP99ms = bucketQuantile(delta, 0.5)*1000, bucketQuantile(delta, 0.99)*1000
		}
		return res
	}
	firstCall := func(op func(r *rand.Rand) error) {
		t0 := time.Now()
		if err := op(rand.New(rand.NewPCG(1, 1))); err != nil {
			fmt.Fprintf(os.Stderr, "  first call failed: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "  first call took %v\n", time.Since(t0).Round(time.Millisecond))
	}
	run := func(name, note string, op func(r *rand.Rand) error) {
		if !selected.MatchString(name) {
			return
		}
		fmt.Fprintf(os.Stderr, "%s: %d clients for %v ...\n", name, *clients, *d)
		firstCall(op) // loads what a first call loads (an aggregate, a plan)
		rep.Results = append(rep.Results, measure(name, func() apiResult { return drive(ctx, name, note, *clients, *d, op) }))
	}
	paced := func(name, note string, rate float64, op func(r *rand.Rand) error) {
		if !selected.MatchString(name) {
			return
		}
		fmt.Fprintf(os.Stderr, "%s: %d clients offering %.0f calls/s for %v, %d runs ...\n", name, *clients, rate, *d, *repeats)
		firstCall(op)
		var runs []apiResult
		for range *repeats {
			runs = append(runs, measure(name, func() apiResult { return drivePaced(ctx, name, note, *clients, rate, *d, op) }))
		}
		rep.Results = append(rep.Results, medianRun(runs))
	}
	pick := func(r *rand.Rand) string { return ids[r.IntN(len(ids))] }
	floorGet := func(r *rand.Rand) error {
		resp, err := plain.Get("http://" + lis.Addr().String() + "/users/" + pick(r))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	getUser := func(r *rand.Rand) error {
		_, err := sdk.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: aws.String(pick(r))})
		return err
	}
	listUsers := func(r *rand.Rand) error {
		_, err := sdk.ListUsers(ctx, &chime.ListUsersInput{AccountId: &acct, MaxResults: aws.Int32(100)})
		return err
	}
	batchUpdate := func(r *rand.Rand) error {
		items := make([]types.UpdateUserRequestItem, 20)
		lic := types.LicenseBasic
		if r.IntN(2) == 0 {
			lic = types.LicensePro
		}
		for i := range items {
			items[i] = types.UpdateUserRequestItem{UserId: aws.String(pick(r)), LicenseType: lic}
		}
		_, err := sdk.BatchUpdateUser(ctx, &chime.BatchUpdateUserInput{AccountId: &acct, UpdateUserRequestItems: items})
		return err
	}
	// Closed loop: every client calls again as soon as it has an answer (throughput; latency is then
	// clients / throughput by Little's law). Paced: the same clients offer a fixed load and latency is
	// measured from each call's scheduled time, so a stall is not hidden (no coordinated omission).
	for _, rate := range rates {
		paced(fmt.Sprintf("floor_echo_pgx_get_paced_%.0f", rate), "the floor at GetUser's offered load", rate, floorGet)
		paced(fmt.Sprintf("GetUser_paced_%.0f", rate), "latency at a fixed offered load", rate, getUser)
	}
	paced("ListUsers_page100_paced", "latency at a fixed offered load", *listRate, listUsers)
	paced("BatchUpdateUser_20_paced", "latency at a fixed offered load", *batchRate, batchUpdate)
	run("floor_echo_pgx_get", "plain echo handler, one pgx row read, same data", floorGet)
	run("GetUser", "official SDK, SigV4 verified, audited", getUser)
	run("ListUsers_page100", "pages of 100", listUsers)
	run("BatchUpdateUser_20", "20 items (the contract's maximum per call), one append", batchUpdate)
	run("UpdateUser_one_account", "single-user mutations, all on the one seeded account", func(r *rand.Rand) error {
		lic := types.LicenseBasic
		if r.IntN(2) == 0 {
			lic = types.LicensePro
		}
		_, err := sdk.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: &acct, UserId: aws.String(pick(r)), LicenseType: lic})
		return err
	})
	accounts := make([]string, 200)
	for i := range accounts {
		x, err := sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(fmt.Sprintf("Spread %d", i))})
		if err != nil {
			return err
		}
		accounts[i] = aws.ToString(x.Account.AccountId)
	}
	run("UpdateAccount_200_accounts", "mutations spread over 200 accounts", func(r *rand.Rand) error {
		id := accounts[r.IntN(len(accounts))]
		_, err := sdk.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: &id, Name: aws.String(fmt.Sprintf("Spread %d", r.IntN(1000)))})
		return err
	})

	find := func(n string) apiResult {
		for _, r := range rep.Results {
			if r.Name == n {
				return r
			}
		}
		return apiResult{}
	}
	check := func(name, target string, v float64, pass bool) {
		rep.Checks = append(rep.Checks, bench.Check{Name: name, Target: target, Value: v, Pass: pass})
	}
	pacedCheck := func(label, scenario, target string, limit float64) {
		r := find(scenario)
		if r.Name == "" {
			return
		}
		check(fmt.Sprintf("%s p99 at %.0f/s offered", label, r.TargetPerSec), target, r.P99ms, r.P99ms < limit && r.Errors == 0)
		check(fmt.Sprintf("%s server-side p99 at %.0f/s offered", label, r.TargetPerSec), target, r.ServerP99ms, r.ServerP99ms < limit && r.Errors == 0)
	}
	for _, rate := range rates {
		pacedCheck("GetUser", fmt.Sprintf("GetUser_paced_%.0f", rate), "< 5 ms", 5)
	}
	pacedCheck("ListUsers (100)", "ListUsers_page100_paced", "< 20 ms", 20)
	pacedCheck("BatchUpdateUser (20)", "BatchUpdateUser_20_paced", "< 100 ms", 100)
	if best := max(find("UpdateUser_one_account").PerSec, find("UpdateAccount_200_accounts").PerSec); best > 0 {
		check("sustained mutations", ">= 1000/s", best, best >= 1000)
	}

	fmt.Println()
	rows := make([][]string, len(rep.Results))
	for i, r := range rep.Results {
		offered := "max"
		if r.TargetPerSec > 0 {
			offered = fmt.Sprintf("%.0f", r.TargetPerSec)
		}
		if len(r.P99Runs) > 1 {
			runs := make([]string, len(r.P99Runs))
			for i, p := range r.P99Runs {
				runs[i] = fmt.Sprintf("%.1f", p)
			}
			r.Note = "median of " + fmt.Sprint(r.Runs) + " runs, p99s " + strings.Join(runs, " / ")
		}
		server := "-"
		if r.ServerP99ms > 0 {
			server = fmt.Sprintf("%.2f / %.2f", r.ServerP50ms, r.ServerP99ms)
		}
		rows[i] = []string{r.Name, offered, fmt.Sprint(r.Calls), fmt.Sprint(r.Errors), fmt.Sprintf("%.0f", r.PerSec),
			fmt.Sprintf("%.2f", r.P50ms), fmt.Sprintf("%.2f", r.P99ms), server, r.Note}
	}
	bench.Table(os.Stdout, []string{"SCENARIO", "OFFERED/S", "CALLS", "ERRORS", "CALLS/S", "P50 ms", "P99 ms", "SERVER P50/P99 ms", "NOTE"}, rows)
	bench.PrintChecks(os.Stdout, rep.Checks)
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "api-"+rep.StartedAt.Format("20060102T150405Z")+".json")
	}
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("\nJSON report: %s\nseeding took %.1f s\n", path, rep.SeedSecs)
	return nil
}

// medianRun returns the run with the median client p99, listing every run's p99.
func medianRun(runs []apiResult) apiResult {
	sorted := append([]apiResult(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].P99ms < sorted[j].P99ms })
	med := sorted[(len(sorted)-1)/2]
	med.Runs = len(runs)
	for _, r := range runs {
		med.P99Runs = append(med.P99Runs, r.P99ms)
	}
	return med
}

// warmup is how long each scenario runs before it records anything (new connections, caches).
const warmup = time.Second

// drivePaced runs op from n goroutines that together offer rate calls/s for d (after the warm-up):
// client i calls at start + (k*n+i)/rate. Latency counts from the scheduled time, so a call that
// starts late because the previous one was slow is charged for the wait.
func drivePaced(ctx context.Context, name, note string, n int, rate float64, d time.Duration, op func(r *rand.Rand) error) apiResult {
	var calls, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now().Add(warmup)
	interval := time.Duration(float64(time.Second) * float64(n) / rate)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			var mine []time.Duration
			due := start.Add(-warmup).Add(time.Duration(float64(time.Second) * float64(i) / rate))
			for due.Before(start.Add(d)) && ctx.Err() == nil {
				time.Sleep(time.Until(due))
				err := op(r)
				switch {
				case due.Before(start):
				case err != nil:
					errs.Add(1)
				default:
					mine = append(mine, time.Since(due))
					calls.Add(1)
				}
				due = due.Add(interval)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res := summarize(name, note, calls.Load(), errs.Load(), time.Since(start), lat)
	res.TargetPerSec = rate
	return res
}

func summarize(name, note string, calls, errs int64, elapsed time.Duration, lat []time.Duration) apiResult {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return apiResult{Name: name, Calls: calls, Errors: errs, PerSec: float64(calls) / elapsed.Seconds(), P50ms: pct(0.5), P99ms: pct(0.99), Note: note}
}

// drive runs op from n goroutines for d and reports throughput and latency percentiles.
func drive(ctx context.Context, name, note string, n int, d time.Duration, op func(r *rand.Rand) error) apiResult {
	var calls, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now().Add(warmup)
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(r)
				switch {
				case t0.Before(start):
				case err != nil:
					errs.Add(1)
				default:
					mine = append(mine, time.Since(t0))
					calls.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return summarize(name, note, calls.Load(), errs.Load(), time.Since(start), lat)
}

// seedUsers appends UserAdded events to the account stream in batches with exact expected revisions.
func seedUsers(ctx context.Context, logURL, accountID string, n int) ([]string, error) {
	client, err := eventstore.Connect(logURL)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stream := account.StreamName(accountID)
	rs, err := client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return nil, err
	}
	last, err := rs.Recv()
	rs.Close()
	if err != nil {
		return nil, err
	}
	rev := last.Event.EventNumber
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	for start := 0; start < n; start += 1000 {
		var evs []esdb.EventData
		for i := start; i < min(n, start+1000); i++ {
			id := uuid.NewString()
			ids = append(ids, id)
			// Seeded users have no PIN (a PIN is sealed under the user's key, which seeding does not create).
			e := account.UserAdded{UserID: id, Email: fmt.Sprintf("user%07d@bench.example.com", i), UserType: account.UserTypePrivate,
				LicenseType: account.LicensePro, CreatedAt: now}
			b, _ := json.Marshal(e)
			evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
		}
		wr, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(rev)}, evs...)
		if err != nil {
			return nil, err
		}
		rev = wr.NextExpectedVersion
	}
	return ids, nil
}

// startBenchServer starts the server a benchmark measures: in this process (mode "inline") or as a
// `belfry serve` child process ("process", logging to logPath) on the scratch database dbURL.
func startBenchServer(ctx context.Context, mode, dbURL string, auditReads bool, logPath string) (*benchServer, error) {
	switch mode {
	case "process":
		return startServerProcess(ctx, dbURL, auditReads, logPath)
	case "inline":
		return startInlineServer(ctx, Config{DatabaseURL: dbURL, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", SkipReadAudit: !auditReads})
	}
	return nil, fmt.Errorf("--server must be process or inline, not %q", mode)
}
