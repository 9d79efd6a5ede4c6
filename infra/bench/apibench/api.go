package apibench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
)

// APIOptions are the parsed flags of `belfry bench api`.
type APIOptions struct {
	Harness
	Users      int           // users seeded into the benchmark account
	Clients    int           // concurrent clients
	Duration   time.Duration // length of each scenario (after its warm-up)
	GetRates   []float64     // offered GetUser calls/s of the paced scenarios, a sweep
	ListRate   float64       // offered ListUsers calls/s of the paced scenario
	BatchRate  float64       // offered BatchUpdateUser calls/s of the paced scenario
	AuditReads bool          // audit read-only calls
	Repeats    int           // runs of each paced scenario (at least 1; the median run is reported)
	// Only selects the scenarios to run by name (nil: every scenario).
	Only func(name string) bool
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

// apiRun is the state shared by the scenarios of one `belfry bench api` run.
type apiRun struct {
	o        APIOptions
	srv      *Server
	sdk      *chime.Client
	pool     *pgxpool.Pool
	acct     string   // the seeded account
	ids      []string // its users
	floorURL string
	plain    *http.Client // the floor's client
	rep      *apiReport
}

// newSDK returns an official Chime client of srv, signing with its first admin key.
func newSDK(srv *Server, transport func(*http.Transport)) *chime.Client {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(transport)
	return chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.HTTPAddr), HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(srv.KeyID, srv.Secret, "")})
}

// APICommand runs `belfry bench api`: a Belfry server (in this process, or a child `belfry serve`
// process) on a scratch database with one account of o.Users users, driven by o.Clients concurrent
// official-SDK clients on loopback, beside a plain echo handler that reads one row with pgx (the
// floor, in the bench's own process), measured in the same run.
func APICommand(ctx context.Context, o APIOptions) error {
	o.defaults()
	if err := os.MkdirAll("bench-results", 0o755); err != nil {
		return err
	}
	dbURL, stop, err := bench.ScratchDatabase(ctx, o.Postgres, "belfry_bench_api")
	if err != nil {
		return err
	}
	defer stop()
	srv, err := o.startServer(ctx, dbURL, o.AuditReads, "bench-results/api-server.log")
	if err != nil {
		return err
	}
	defer srv.Close()
	b := &apiRun{o: o, srv: srv, sdk: newSDK(srv, func(tr *http.Transport) { tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024 }),
		rep: &apiReport{StartedAt: time.Now().UTC(), Users: o.Users, Clients: o.Clients, Seconds: o.Duration.Seconds(), ReadAudit: o.AuditReads}}
	a, err := b.sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Bench")})
	if err != nil {
		return err
	}
	b.acct = aws.ToString(a.Account.AccountId)
	if b.pool, err = pgxpool.New(ctx, dbURL); err != nil {
		return err
	}
	defer b.pool.Close()
	if err := b.seed(ctx, b.pool); err != nil {
		return err
	}
	floorURL, stopFloor, err := startFloor(b.pool)
	if err != nil {
		return err
	}
	defer stopFloor()
	b.floorURL = floorURL
	b.plain = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
	stopProfile, err := bench.StartCPUProfile(o.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if err := b.scenarios(ctx); err != nil {
		return err
	}
	b.checks()
	return b.print()
}

func (b *apiRun) want(name string) bool { return b.o.Only == nil || b.o.Only(name) }

// measure runs a scenario on a settled database and adds the server-side quantiles of its operation.
func (b *apiRun) measure(ctx context.Context, name string, fn func() apiResult) apiResult {
	if err := settle(ctx, b.pool); err != nil {
		fmt.Fprintln(b.o.Progress, err)
	}
	op := apiOperation(name)
	// The snapshot is taken when the warm-up ends, as the client's recording starts.
	snap := make(chan []bucket, 1)
	go func() { time.Sleep(warmup); snap <- latencyBuckets(b.srv.Metrics, op) }()
	res := fn()
	before := <-snap
	if op != "" {
		serverLatency(&res, b.srv.Metrics, op, before)
	}
	return res
}

// firstCall makes the call a scenario starts with, unmeasured: it loads what a first call loads (an
// aggregate, a plan).
func (b *apiRun) firstCall(op func(r *rand.Rand) error) {
	t0 := time.Now()
	if err := op(rand.New(rand.NewPCG(1, 1))); err != nil {
		fmt.Fprintf(b.o.Progress, "  first call failed: %v\n", err)
	}
	fmt.Fprintf(b.o.Progress, "  first call took %v\n", time.Since(t0).Round(time.Millisecond))
}

// run measures a closed-loop scenario: every client calls again as soon as it has an answer
// (throughput; latency is then clients / throughput by Little's law).
func (b *apiRun) run(ctx context.Context, name, note string, op func(r *rand.Rand) error) {
	if !b.want(name) {
		return
	}
	fmt.Fprintf(b.o.Progress, "%s: %d clients for %v ...\n", name, b.o.Clients, b.o.Duration)
	b.firstCall(op)
	b.rep.Results = append(b.rep.Results, b.measure(ctx, name, func() apiResult { return drive(ctx, name, note, b.o.Clients, b.o.Duration, op) }))
}

// paced measures a paced scenario o.Repeats times: the same clients offer a fixed load and latency
// is measured from each call's scheduled time, so a stall is not hidden (no coordinated omission).
func (b *apiRun) paced(ctx context.Context, name, note string, rate float64, op func(r *rand.Rand) error) {
	if !b.want(name) {
		return
	}
	fmt.Fprintf(b.o.Progress, "%s: %d clients offering %.0f calls/s for %v, %d runs ...\n", name, b.o.Clients, rate, b.o.Duration, b.o.Repeats)
	b.firstCall(op)
	var runs []apiResult
	for range b.o.Repeats {
		runs = append(runs, b.measure(ctx, name, func() apiResult { return drivePaced(ctx, name, note, b.o.Clients, rate, b.o.Duration, op) }))
	}
	b.rep.Results = append(b.rep.Results, medianRun(runs))
}

// scenarios runs every selected scenario, paced ones first.
func (b *apiRun) scenarios(ctx context.Context) error {
	ops := apiOps{b: b, ctx: ctx}
	for _, rate := range b.o.GetRates {
		b.paced(ctx, fmt.Sprintf("floor_echo_pgx_get_paced_%.0f", rate), "the floor at GetUser's offered load", rate, ops.floorGet)
		b.paced(ctx, fmt.Sprintf("GetUser_paced_%.0f", rate), "latency at a fixed offered load", rate, ops.getUser)
	}
	b.paced(ctx, "ListUsers_page100_paced", "latency at a fixed offered load", b.o.ListRate, ops.listUsers)
	b.paced(ctx, "BatchUpdateUser_20_paced", "latency at a fixed offered load", b.o.BatchRate, ops.batchUpdate)
	b.run(ctx, "floor_echo_pgx_get", "plain echo handler, one pgx row read, same data", ops.floorGet)
	b.run(ctx, "GetUser", "official SDK, SigV4 verified, audited", ops.getUser)
	b.run(ctx, "ListUsers_page100", "pages of 100", ops.listUsers)
	b.run(ctx, "BatchUpdateUser_20", "20 items (the contract's maximum per call), one append", ops.batchUpdate)
	b.run(ctx, "UpdateUser_one_account", "single-user mutations, all on the one seeded account", ops.updateUser)
	accounts := make([]string, 200)
	for i := range accounts {
		x, err := b.sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(fmt.Sprintf("Spread %d", i))})
		if err != nil {
			return err
		}
		accounts[i] = aws.ToString(x.Account.AccountId)
	}
	b.run(ctx, "UpdateAccount_200_accounts", "mutations spread over 200 accounts", func(r *rand.Rand) error {
		id := accounts[r.IntN(len(accounts))]
		_, err := b.sdk.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: &id, Name: aws.String(fmt.Sprintf("Spread %d", r.IntN(1000)))})
		return err
	})
	return nil
}

// apiOps are the calls the scenarios make, each on a user picked at random from the seeded ones.
// It holds the run's context because the drivers call an operation with its random source only.
type apiOps struct {
	b   *apiRun
	ctx context.Context
}

func (o apiOps) pick(r *rand.Rand) string { return o.b.ids[r.IntN(len(o.b.ids))] }

func (o apiOps) floorGet(r *rand.Rand) error {
	resp, err := o.b.plain.Get(o.b.floorURL + "/users/" + o.pick(r))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (o apiOps) getUser(r *rand.Rand) error {
	_, err := o.b.sdk.GetUser(o.ctx, &chime.GetUserInput{AccountId: &o.b.acct, UserId: aws.String(o.pick(r))})
	return err
}

func (o apiOps) listUsers(*rand.Rand) error {
	_, err := o.b.sdk.ListUsers(o.ctx, &chime.ListUsersInput{AccountId: &o.b.acct, MaxResults: aws.Int32(100)})
	return err
}

// randomLicense is Basic or Pro, evenly.
func randomLicense(r *rand.Rand) types.License {
	if r.IntN(2) == 0 {
		return types.LicensePro
	}
	return types.LicenseBasic
}

func (o apiOps) batchUpdate(r *rand.Rand) error {
	items := make([]types.UpdateUserRequestItem, 20)
	lic := randomLicense(r)
	for i := range items {
		items[i] = types.UpdateUserRequestItem{UserId: aws.String(o.pick(r)), LicenseType: lic}
	}
	_, err := o.b.sdk.BatchUpdateUser(o.ctx, &chime.BatchUpdateUserInput{AccountId: &o.b.acct, UpdateUserRequestItems: items})
	return err
}

func (o apiOps) updateUser(r *rand.Rand) error {
	lic := randomLicense(r)
	_, err := o.b.sdk.UpdateUser(o.ctx, &chime.UpdateUserInput{AccountId: &o.b.acct, UserId: aws.String(o.pick(r)), LicenseType: lic})
	return err
}

func (b *apiRun) find(name string) apiResult {
	for _, r := range b.rep.Results {
		if r.Name == name {
			return r
		}
	}
	return apiResult{}
}

func (b *apiRun) check(name, target string, v float64, pass bool) {
	b.rep.Checks = append(b.rep.Checks, bench.Check{Name: name, Target: target, Value: v, Pass: pass})
}

// pacedCheck checks a paced scenario's client-side and server-side p99 (when it ran).
func (b *apiRun) pacedCheck(label, scenario, target string, limit float64) {
	r := b.find(scenario)
	if r.Name == "" {
		return
	}
	b.check(fmt.Sprintf("%s p99 at %.0f/s offered", label, r.TargetPerSec), target, r.P99ms, r.P99ms < limit && r.Errors == 0)
	b.check(fmt.Sprintf("%s server-side p99 at %.0f/s offered", label, r.TargetPerSec), target, r.ServerP99ms, r.ServerP99ms < limit && r.Errors == 0)
}

// checks compares the figures with the targets.
func (b *apiRun) checks() {
	for _, rate := range b.o.GetRates {
		b.pacedCheck("GetUser", fmt.Sprintf("GetUser_paced_%.0f", rate), "< 5 ms", 5)
	}
	b.pacedCheck("ListUsers (100)", "ListUsers_page100_paced", "< 20 ms", 20)
	b.pacedCheck("BatchUpdateUser (20)", "BatchUpdateUser_20_paced", "< 100 ms", 100)
	if best := max(b.find("UpdateUser_one_account").PerSec, b.find("UpdateAccount_200_accounts").PerSec); best > 0 {
		b.check("sustained mutations", ">= 1000/s", best, best >= 1000)
	}
}

// print writes the table, the checks and the JSON report.
func (b *apiRun) print() error {
	rep, out := b.rep, b.o.Out
	fmt.Fprintln(out)
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
	bench.Table(out, []string{"SCENARIO", "OFFERED/S", "CALLS", "ERRORS", "CALLS/S", "P50 ms", "P99 ms", "SERVER P50/P99 ms", "NOTE"}, rows)
	bench.PrintChecks(out, rep.Checks)
	path := bench.ReportPath(b.o.JSON, "api", rep.StartedAt)
	if err := bench.WriteJSON(path, rep); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nJSON report: %s\nseeding took %.1f s\n", path, rep.SeedSecs)
	return nil
}
