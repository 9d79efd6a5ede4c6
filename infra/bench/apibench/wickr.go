package apibench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/infra/bench"
)

// WickrOptions are the parsed flags of `belfry bench wickr`.
type WickrOptions struct {
	Harness
	Users     int           // users created in the one benchmark network (by BatchCreateUser of 50)
	Clients   int           // concurrent clients
	Duration  time.Duration // length of each paced scenario (after its warm-up)
	ListRate  float64       // offered ListUsers pages/s
	CountRate float64       // offered GetUsersCount calls/s
	Repeats   int           // runs of each paced scenario (the median run is reported)
}

type wickrReport struct {
	StartedAt time.Time     `json:"startedAt"`
	Users     int           `json:"users"`
	Clients   int           `json:"clients"`
	Results   []apiResult   `json:"results"`
	Checks    []bench.Check `json:"checks"`
}

// wickrRun is the state of one `belfry bench wickr` run.
type wickrRun struct {
	o        WickrOptions
	srv      *Server
	http     *http.Client
	admin    *WickrAdmin
	pool     *pgxpool.Pool
	network  string
	group    string
	floorURL string
	rep      *wickrReport
}

// WickrCommand runs `belfry bench wickr`: a Belfry server on a scratch database; one Wickr network
// filled with o.Users users by BatchCreateUser of 50 from o.Clients clients (the sustained creation
// rate); then a wait until the read models and the invitation mails have caught up with the fill
// (drain, which prints how long that took); then, paced, ListUsers pages of 100 with a filter
// (groupId) and a sort (username) walked with nextToken, beside the floor (a plain echo handler
// reading the same 100 rows with pgx, same run), and GetUsersCount. With o.CPUProfile, the fill is
// profiled into that file and the paced scenarios into the same name with ".reads" appended.
// Requests are signed with SigV4 for signing name "wickr" (the official Go Wickr client is not
// available here).
func WickrCommand(ctx context.Context, o WickrOptions) error {
	o.defaults()
	if o.Users < 100 || o.Clients < 1 || o.Repeats < 1 || o.ListRate <= 0 || o.CountRate <= 0 {
		return fmt.Errorf("bench wickr: --users must be at least 100, --clients and --repeats at least 1, the rates positive")
	}
	dbURL, stop, err := bench.ScratchDatabase(ctx, o.Postgres, "belfry_bench_wickr")
	if err != nil {
		return err
	}
	defer stop()
	if err := os.MkdirAll("bench-results", 0o755); err != nil {
		return err
	}
	srv, err := o.startServer(ctx, dbURL, false, "bench-results/wickr-server.log")
	if err != nil {
		return err
	}
	defer srv.Close()
	b := &wickrRun{o: o, srv: srv,
		http: &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}},
		rep:  &wickrReport{StartedAt: time.Now().UTC(), Users: o.Users, Clients: o.Clients}}
	b.admin = NewWickrAdmin(srv.HTTPAddr, srv.KeyID, srv.Secret, b.http)
	if b.pool, err = pgxpool.New(ctx, dbURL); err != nil {
		return err
	}
	defer b.pool.Close()
	if err := b.setup(ctx); err != nil {
		return err
	}
	stopProfile, err := bench.StartCPUProfile(o.CPUProfile)
	if err != nil {
		return err
	}
	b.create(ctx)
	stopProfile()
	if err := b.drain(ctx); err != nil {
		return err
	}
	if err := settle(ctx, b.pool); err != nil {
		fmt.Fprintln(o.Progress, err)
	}
	floorURL, stopFloor, err := b.startFloor()
	if err != nil {
		return err
	}
	defer stopFloor()
	b.floorURL = floorURL
	readsProfile := ""
	if o.CPUProfile != "" {
		readsProfile = o.CPUProfile + ".reads"
	}
	if stopProfile, err = bench.StartCPUProfile(readsProfile); err != nil {
		return err
	}
	defer stopProfile()
	b.paced(ctx, "floor_echo_pgx_list100_paced", "plain echo handler, 100 rows read with pgx, same filter and sort", o.ListRate, b.floorPage())
	b.paced(ctx, "ListUsers_page100_filter_sort_paced", "groupId filter, username sort, walked with nextToken", o.ListRate, b.listPage())
	b.paced(ctx, "GetUsersCount_paced", "the projection's counters", o.CountRate, b.count)
	b.checks()
	return b.print()
}

// call signs and sends one Wickr request and decodes its JSON answer into out (nil: ignored).
func (b *wickrRun) call(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	return b.admin.Call(ctx, method, path, query, body, out)
}

// setup creates the network and finds its default group.
func (b *wickrRun) setup(ctx context.Context) error {
	var n struct {
		NetworkID string `json:"networkId"`
	}
	if err := b.call(ctx, http.MethodPost, "/networks", nil, map[string]any{"networkName": "Bench", "accessLevel": "PREMIUM"}, &n); err != nil {
		return err
	}
	b.network = n.NetworkID
	return b.pool.QueryRow(ctx, `SELECT group_id FROM rm.wickr_security_groups WHERE network_id = $1 AND is_default`, b.network).Scan(&b.group)
}

// create fills the network with o.Users users, BatchCreateUser of 50 from every client, and reports
// the sustained rate in users/s.
func (b *wickrRun) create(ctx context.Context) {
	batches := (b.o.Users + 49) / 50
	fmt.Fprintf(b.o.Progress, "BatchCreateUser_50: %d users in %d batches from %d clients ...\n", b.o.Users, batches, b.o.Clients)
	var next, failed atomic.Int64
	start := time.Now()
	fill, done := context.WithCancel(ctx)
	defer done()
	res := drive(fill, "BatchCreateUser_50", "", b.o.Clients, 24*time.Hour, func(*rand.Rand) error {
		i := next.Add(1) - 1
		if i >= int64(batches) {
			done()
			return nil
		}
		users := make([]map[string]any, 50)
		for j := range users {
			users[j] = map[string]any{"username": fmt.Sprintf("user%07d@bench.example.com", i*50+int64(j)), "firstName": fmt.Sprintf("First%d", j),
				"lastName": fmt.Sprintf("Last%d", (i*50+int64(j))%997), "securityGroupIds": []string{b.group}}
		}
		var out struct{ Failed []any }
		err := b.call(ctx, http.MethodPost, "/networks/"+b.network+"/users", nil, map[string]any{"users": users}, &out)
		if err == nil && len(out.Failed) > 0 {
			err = fmt.Errorf("%d users refused", len(out.Failed))
		}
		if err != nil {
			failed.Add(1)
			fmt.Fprintln(b.o.Progress, "  BatchCreateUser:", err)
		}
		return err
	})
	elapsed := time.Since(start)
	res.Calls = int64(batches) - failed.Load()
	res.PerSec = float64(b.o.Users) / elapsed.Seconds()
	res.Note = fmt.Sprintf("users/s over the whole fill (%d users, %.1f s, warm-up included)", b.o.Users, elapsed.Seconds())
	res.Errors = failed.Load()
	b.rep.Results = append(b.rep.Results, res)
}

// listPage walks the filtered, sorted list with nextToken, 100 users a page, each client on its own
// walk (back to the first page at the end).
func (b *wickrRun) listPage() func(*rand.Rand) error {
	type walk struct{ token string }
	walks := make(chan *walk, 4096)
	return func(*rand.Rand) error {
		var w *walk
		select {
		case w = <-walks:
		default:
			w = &walk{}
		}
		defer func() { walks <- w }()
		q := url.Values{"maxResults": {"100"}, "groupId": {b.group}, "sortFields": {"username"}, "sortDirection": {"ASC"}}
		if w.token != "" {
			q.Set("nextToken", w.token)
		}
		var out struct {
			Users     []json.RawMessage `json:"users"`
			NextToken string            `json:"nextToken"`
		}
		if err := b.call(context.Background(), http.MethodGet, "/networks/"+b.network+"/users", q, nil, &out); err != nil {
			return err
		}
		if len(out.Users) == 0 {
			return fmt.Errorf("an empty page")
		}
		w.token = out.NextToken
		return nil
	}
}

// startFloor serves the floor: GET /page?after=<username> reads the next 100 users of the group by
// username with pgx and answers them as JSON.
func (b *wickrRun) startFloor() (string, func() error, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/page", func(c echo.Context) error {
		rows, err := b.pool.Query(c.Request().Context(), `SELECT user_id, username, first_name, last_name, status, suspended FROM rm.wickr_users
			WHERE network_id = $1 AND group_id = $2 AND NOT deleted AND username > $3 ORDER BY username, user_id LIMIT 100`,
			b.network, b.group, c.QueryParam("after"))
		if err != nil {
			return err
		}
		type row struct {
			UserID, Username, FirstName, LastName string
			Status                                int
			Suspended                             bool
		}
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.UserID, &r.Username, &r.FirstName, &r.LastName, &r.Status, &r.Suspended); err != nil {
				return err
			}
			out = append(out, r)
		}
		return c.JSON(http.StatusOK, map[string]any{"users": out})
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &http.Server{Handler: e}
	go func() { _ = s.Serve(lis) }()
	return "http://" + lis.Addr().String(), s.Close, nil
}

func (b *wickrRun) floorPage() func(*rand.Rand) error {
	return func(r *rand.Rand) error {
		after := fmt.Sprintf("user%07d@bench.example.com", r.IntN(max(1, b.o.Users-100)))
		resp, err := b.http.Get(b.floorURL + "/page?after=" + url.QueryEscape(after))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("floor: status %d", resp.StatusCode)
		}
		return nil
	}
}

func (b *wickrRun) count(*rand.Rand) error {
	var c struct{ Total int }
	if err := b.call(context.Background(), http.MethodGet, "/networks/"+b.network+"/users/count", nil, nil, &c); err != nil {
		return err
	}
	if c.Total != b.o.Users {
		return fmt.Errorf("GetUsersCount total %d, want %d", c.Total, b.o.Users)
	}
	return nil
}

func (b *wickrRun) paced(ctx context.Context, name, note string, rate float64, op func(*rand.Rand) error) {
	fmt.Fprintf(b.o.Progress, "%s: %d clients offering %.0f calls/s for %v, %d runs ...\n", name, b.o.Clients, rate, b.o.Duration, b.o.Repeats)
	var runs []apiResult
	api := apiOperation(name)
	for range b.o.Repeats {
		// The server's own quantiles, from when the warm-up ends (as the client's recording starts).
		snap := make(chan []bucket, 1)
		go func() { time.Sleep(warmup); snap <- serviceBuckets(b.srv.Metrics, "wickr", api) }()
		res := drivePaced(ctx, name, note, b.o.Clients, rate, b.o.Duration, op)
		if before := <-snap; api != "" {
			serviceLatency(&res, b.srv.Metrics, "wickr", api, before)
		}
		runs = append(runs, res)
	}
	b.rep.Results = append(b.rep.Results, medianRun(runs))
}

func (b *wickrRun) find(name string) apiResult {
	for _, r := range b.rep.Results {
		if r.Name == name {
			return r
		}
	}
	return apiResult{}
}

func (b *wickrRun) check(name, target string, v float64, pass bool) {
	b.rep.Checks = append(b.rep.Checks, bench.Check{Name: name, Target: target, Value: v, Pass: pass})
}

// checks compares the figures with issue 9's targets.
func (b *wickrRun) checks() {
	floor, list := b.find("floor_echo_pgx_list100_paced"), b.find("ListUsers_page100_filter_sort_paced")
	b.check("ListUsers pages/s achieved", fmt.Sprintf(">= %.0f/s", b.o.ListRate), list.PerSec, list.PerSec >= 0.98*b.o.ListRate && list.Errors == 0)
	b.check("ListUsers p99 / floor p99", "< 2", list.P99ms/floor.P99ms, list.P99ms < 2*floor.P99ms && list.Errors == 0)
	c := b.find("BatchCreateUser_50")
	b.check("BatchCreateUser of 50 sustained users/s", ">= 20000/s", c.PerSec, c.PerSec >= 20000 && c.Errors == 0)
	n := b.find("GetUsersCount_paced")
	b.check("GetUsersCount p99", "< 5 ms", n.P99ms, n.P99ms < 5 && n.Errors == 0)
}

// print writes the table, the checks and the JSON report.
func (b *wickrRun) print() error {
	rows := make([][]string, len(b.rep.Results))
	for i, r := range b.rep.Results {
		offered := "max"
		if r.TargetPerSec > 0 {
			offered = fmt.Sprintf("%.0f", r.TargetPerSec)
		}
		server := ""
		if r.ServerP99ms > 0 {
			server = fmt.Sprintf("%.2f / %.2f", r.ServerP50ms, r.ServerP99ms)
		}
		rows[i] = []string{r.Name, offered, fmt.Sprint(r.Calls), fmt.Sprint(r.Errors), fmt.Sprintf("%.0f", r.PerSec),
			fmt.Sprintf("%.2f", r.P50ms), fmt.Sprintf("%.2f", r.P99ms), server, r.Note}
	}
	fmt.Fprintln(b.o.Out)
	bench.Table(b.o.Out, []string{"SCENARIO", "OFFERED/S", "CALLS", "ERRORS", "CALLS/S", "P50 ms", "P99 ms", "SERVER P50/P99 ms", "NOTE"}, rows)
	bench.PrintChecks(b.o.Out, b.rep.Checks)
	path := bench.ReportPath(b.o.JSON, "wickr", b.rep.StartedAt)
	if err := bench.WriteJSON(path, b.rep); err != nil {
		return err
	}
	fmt.Fprintf(b.o.Out, "\nJSON report: %s\n", path)
	return nil
}

// drain waits until what the fill left behind is done: every read model at the log's head and the
// invitation mails of the users sent (the fill waits for the users read model only; the others, and
// one mail per user, follow behind). The paced reads then measure the reads, not the reads beside
// the fill's aftermath; how long the mails took is printed.
func (b *wickrRun) drain(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, drainWait)
	defer cancel()
	for last := start; ; {
		var lagging, mails int64
		err := b.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM projections.checkpoints c JOIN projections.registry r ON r.name = c.name AND r.active_generation = c.generation
				WHERE c.position < (SELECT coalesce(max(position), 0) FROM eventlog.events)),
			(SELECT coalesce(max("offset"), 0) FROM watermill_wickr_invitations) -
				(SELECT coalesce(max(offset_acked), 0) FROM watermill_offsets_wickr_invitations WHERE consumer_group = 'belfry')`).Scan(&lagging, &mails)
		if err != nil {
			return fmt.Errorf("bench wickr: waiting for the fill's aftermath: %w", err)
		}
		if lagging == 0 && mails <= 0 {
			fmt.Fprintf(b.o.Progress, "  read models caught up and invitation mails sent %.1f s after the fill\n", time.Since(start).Seconds())
			return nil
		}
		if time.Since(last) >= 10*time.Second {
			fmt.Fprintf(b.o.Progress, "  %d read models behind, %d invitation mails to send ...\n", lagging, mails)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench wickr: the fill's aftermath not done after %v (%d read models behind, %d mails to send)", drainWait, lagging, mails)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// drainWait bounds drain.
const drainWait = 30 * time.Minute
