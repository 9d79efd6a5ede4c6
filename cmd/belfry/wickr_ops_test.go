package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"testing"
	"time"

	wickrnetworksapi "github.com/belfry/belfry/api/wickr/networks"
	"github.com/belfry/belfry/api/wickr/securitygroups"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/wickranalytics"
	"github.com/belfry/belfry/projections/wickrdeletions"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// wickrPolicy is what the roster commands of a network need of its groups, and its default group.
func wickrPolicy(t *testing.T, b *running, networkID string) (roster.Policy, string) {
	t.Helper()
	caller := securitygroups.Caller{AwsAccountID: b.awsAcct, Region: "us-east-1"}
	groups, _, err := b.m.wickr.groups.List(context.Background(), caller, networkID, wickrnetworks.Page{Sort: "id", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	policy := roster.Policy{Groups: map[string]sg.Settings{}}
	var def string
	for _, g := range groups {
		policy.Groups[g.ID] = g.Settings
		if g.IsDefault {
			def = g.ID
		}
	}
	return policy, def
}

// rosterDo runs one roster command on the block of userID through the command path.
func rosterDo(t *testing.T, b *running, networkID, userID string, cmd roster.Command) {
	t.Helper()
	if _, _, err := b.m.wickr.rosters.Command(roster.StreamName(networkID, userID), cmd).Do(context.Background()); err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
}

// inviteUsers invites users ids[i] as user<ids[i]>@example.com into the default group.
func inviteUsers(t *testing.T, b *running, networkID string, ids ...string) {
	t.Helper()
	policy, def := wickrPolicy(t, b, networkID)
	var items []roster.NewUser
	for _, id := range ids {
		items = append(items, roster.NewUser{UserID: id, Username: "user" + id + "@example.com", SecurityGroupIDs: []string{def}})
	}
	rosterDo(t, b, networkID, ids[0], roster.CreateUsers{NetworkID: networkID, Items: items, Policy: policy})
}

// registerUser registers a pending user from device app, its password sealed under its own key.
func registerUser(t *testing.T, b *running, networkID, userID, app string) {
	t.Helper()
	policy, _ := wickrPolicy(t, b, networkID)
	sealed, err := datakeys.New(pgxPool(t, b)).SealFor(context.Background(), networkID, wickr.UserSubject(userID), []byte("hash of Correct-Horse-42"))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := b.m.wickr.rosters.Repo.Load(context.Background(), roster.StreamName(networkID, userID))
	if err != nil {
		t.Fatal(err)
	}
	rosterDo(t, b, networkID, userID, roster.Register{NetworkID: networkID, UserID: userID, AppID: app, DeviceType: "iOS", Password: sealed,
		InviteExpiresAt: st.Users[userID].InviteExpiresAt,
		Shape:           roster.PasswordShape{Length: 16, Lowercase: 8, Uppercase: 2, Numbers: 2, Symbols: 2}, Policy: policy})
}

type analyticsFigures struct{ Registered, Pending, Suspended, Devices, Bots int }

type analyticsPoint struct {
	Start, End string
	analyticsFigures
	Invited, Registrations, Deletions, ActiveUsers int
}

type analyticsReport struct {
	NetworkId, Period, From, To string
	Current                     analyticsFigures
	Points                      []analyticsPoint
}

// analytics calls GetWickrNetworkAnalytics; the body is decoded when the status is 200.
func (r *running) analytics(t *testing.T, networkID, query string) (int, analyticsReport, string) {
	t.Helper()
	resp := r.signedRaw(t, "GET", "/belfry/v1/wickr/networks/"+networkID+"/analytics?"+query, "", "belfry")
	body, _ := io.ReadAll(resp.Body)
	var rep analyticsReport
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, rep, string(body)
}

// awaitAnalytics polls the analytics until the network's current figures are want.
func (r *running) awaitAnalytics(t *testing.T, networkID, query string, want analyticsFigures) analyticsReport {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, rep, body := r.analytics(t, networkID, query)
		if code == 200 && rep.Current == want {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("analytics of %s: %d %s, want current %+v", networkID, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWickrAnalytics: users invited, registered from a device, suspended and deleted through the
// roster's command path on two days show in the Belfry analytics endpoint per day and per week;
// bad parameters and other networks are refused.
func TestWickrAnalytics(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} // a Monday
	b := startBelfryWith(t, func(m *Main) { m.Now = clk.Now })
	ctx := context.Background()
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrNetworkInput("Figures"))
	if err != nil {
		t.Fatal(err)
	}
	inviteUsers(t, b, n.ID, "1001", "1002", "1003")
	registerUser(t, b, n.ID, "1001", "phone-1")
	clk.Add(48 * time.Hour) // Wednesday
	registerUser(t, b, n.ID, "1002", "phone-2")
	policy, _ := wickrPolicy(t, b, n.ID)
	rosterDo(t, b, n.ID, "1002", roster.ToggleSuspend{NetworkID: n.ID, UserIDs: []string{"1002"}, Suspend: true, Policy: policy})
	rosterDo(t, b, n.ID, "1003", roster.DeleteUsers{NetworkID: n.ID, UserIDs: []string{"1003"}, Policy: policy})

	rep := b.awaitAnalytics(t, n.ID, "period=day&from=2026-03-01&to=2026-03-04", analyticsFigures{Registered: 2, Suspended: 1, Devices: 2})
	got := map[string]analyticsPoint{}
	for _, p := range rep.Points {
		got[p.Start] = p
	}
	want := map[string]analyticsPoint{
		"2026-03-01": {Start: "2026-03-01", End: "2026-03-01"},
		"2026-03-02": {"2026-03-02", "2026-03-02", analyticsFigures{Registered: 1, Pending: 2, Devices: 1}, 3, 1, 0, 1},
		"2026-03-03": {"2026-03-03", "2026-03-03", analyticsFigures{Registered: 1, Pending: 2, Devices: 1}, 0, 0, 0, 0},
		"2026-03-04": {"2026-03-04", "2026-03-04", analyticsFigures{Registered: 2, Suspended: 1, Devices: 2}, 0, 1, 1, 1},
	}
	if !reflect.DeepEqual(got, want) || rep.Period != "day" || rep.From != "2026-03-01" || rep.NetworkId != n.ID {
		t.Fatalf("daily report %+v\nwant points %+v", rep, want)
	}
	code, weeks, body := b.analytics(t, n.ID, "period=week&from=2026-03-04&to=2026-03-08")
	if code != 200 || len(weeks.Points) != 1 || weeks.Points[0] != (analyticsPoint{"2026-03-02", "2026-03-08",
		analyticsFigures{Registered: 2, Suspended: 1, Devices: 2}, 3, 2, 1, 2}) || weeks.From != "2026-03-02" {
		t.Fatalf("weekly report %d %s", code, body)
	}
	// The default range ends today (the server's clock): 30 days.
	if code, def, body := b.analytics(t, n.ID, ""); code != 200 || len(def.Points) != 30 || def.To != "2026-03-04" {
		t.Fatalf("default range %d %s", code, body)
	}
	for _, q := range []string{"period=year", "from=yesterday", "to=2026-13-01", "from=2026-03-05&to=2026-03-04", "from=2020-01-01&to=2026-03-04"} {
		if code, _, body := b.analytics(t, n.ID, q); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	for id, status := range map[string]int{"99999999": 404, "abc": 400} {
		if code, _, body := b.analytics(t, id, ""); code != status {
			t.Errorf("network %s: %d %s, want %d", id, code, body, status)
		}
	}
}

// TestWickrTrialExpiry: a network on the Premium free trial keeps it until its 3 months are over;
// once the server's clock passes the end, the sweep moves it to Standard as the decider says (file
// downloads back on in the group that had turned them off), once: later sweeps change nothing.
func TestWickrTrialExpiry(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	b := startBelfryWith(t, func(m *Main) { m.Now = clk.Now; m.SweepEvery = 20 * time.Millisecond })
	ctx := context.Background()
	w := b.m.wickr
	in := wickrNetworkInput("Trial")
	in.AccessLevel, in.Trial = network.Standard, true
	n, err := w.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", in)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Trial || !n.TrialExpiresAt.Equal(time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("created %+v", n)
	}
	off := false
	caller := securitygroups.Caller{AwsAccountID: b.awsAcct, Region: "us-east-1"}
	field, err := w.groups.CreateGroup(ctx, caller, n.ID, "Field", sg.Patch{EnableFileDownload: &off}, "")
	if err != nil || field.Settings.EnableFileDownload {
		t.Fatalf("group %+v %v", field, err)
	}

	clk.Add(91*24*time.Hour + 23*time.Hour) // June 2nd, 09:00: an hour before the end
	time.Sleep(100 * time.Millisecond)      // sweeps run with this clock
	if moved, err := w.networks.ExpireTrials(ctx); err != nil || moved != 0 {
		t.Fatalf("before the end: %d moved, %v", moved, err)
	}
	if got, err := w.networks.GetNetwork(ctx, b.awsAcct, "us-east-1", n.ID); err != nil || !got.Trial || got.AccessLevel != network.Premium {
		t.Fatalf("before the end: %+v %v", got, err)
	}

	clk.Add(25 * time.Hour) // past the end
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := w.networks.GetNetwork(ctx, b.awsAcct, "us-east-1", n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Trial && got.AccessLevel == network.Standard && got.TrialExpiresAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trial did not end: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	g, err := w.groups.Get(ctx, caller, n.ID, field.ID)
	if err != nil || !g.Settings.EnableFileDownload {
		t.Fatalf("Standard turns file downloads back on: %+v %v", g.Settings, err)
	}
	if moved, err := w.networks.ExpireTrials(ctx); err != nil || moved != 0 {
		t.Fatalf("a second sweep: %d moved, %v", moved, err)
	}
	// The account's trial stays used: the network cannot go back to the trial.
	yes := true
	err = w.networks.UpdateNetwork(ctx, b.awsAcct, "us-east-1", n.ID, wickrnetworksapi.UpdateInput{Name: "Trial", Trial: &yes})
	if err == nil {
		t.Fatal("a network that was on the trial must not get another")
	}
}

// startWickrMain runs a Main on cfg (a database and data directory that may have run before) with
// the clock clk and sweeps every sweep; it is closed when the test ends unless closed before.
func startWickrMain(t *testing.T, cfg Config, clk *clock, sweep time.Duration) (*running, func()) {
	t.Helper()
	m := NewMain(cfg)
	var out bytes.Buffer
	m.Out, m.Now, m.SweepEvery = &out, clk.Now, sweep
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	closed := false
	stop := func() {
		if !closed {
			closed = true
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	r := &running{m: m, url: "http://" + m.HTTPAddr()}
	if acct := regexp.MustCompile(`AWS account id: (\d{12})`).FindStringSubmatch(out.String()); acct != nil {
		r.awsAcct = acct[1]
	}
	return r, stop
}

// TestWickrNetworkDeletion: a network with users in two roster blocks, a registered user's sealed
// password and a bot is deleted; the process is cut short after its first steps (keys destroyed,
// the first block's users deleted: what a crash would leave) and Belfry restarts; the deletion
// resumes from the event log and completes: every user and the bot deleted, the usernames released,
// the keys destroyed, and nothing of the network readable through the read models.
func TestWickrNetworkDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: pgtest.NewDatabase(t), DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1"}
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	b, stop := startWickrMain(t, cfg, clk, time.Hour) // no sweep in this first run
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrNetworkInput("Doomed"))
	if err != nil {
		t.Fatal(err)
	}
	acct := b.awsAcct
	inviteUsers(t, b, n.ID, "1001", "1002")
	inviteUsers(t, b, n.ID, "2001")
	registerUser(t, b, n.ID, "1001", "phone-1")
	pool := pgxPool(t, b)
	keys := datakeys.New(pool)
	challenge, err := keys.SealFor(ctx, n.ID, wickr.BotSubject("7"), []byte("bot password"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	nets := eventstore.NewRepository(client, wickrNetworkDecider, clk.Now)
	_, def := wickrPolicy(t, b, n.ID)
	if _, err := nets.Execute(ctx, network.StreamName(n.ID), network.CreateBot{NetworkID: n.ID, BotID: "7", Username: "helperbot",
		GroupID: def, Challenge: challenge}); err != nil {
		t.Fatal(err)
	}
	client.Close()
	rosterState := func(b *running, first string) roster.State {
		st, _, err := b.m.wickr.rosters.Repo.Load(ctx, roster.StreamName(n.ID, first))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	password := rosterState(b, "1001").Users["1001"].Password
	if _, err := keys.OpenSealed(ctx, password); err != nil {
		t.Fatalf("the password opens before the deletion: %v", err)
	}

	if err := b.m.wickr.networks.DeleteNetwork(ctx, acct, "us-east-1", n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.wickr.networks.GetNetwork(ctx, acct, "us-east-1", n.ID); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("a network being deleted is gone for the API: %v", err)
	}
	// The process's first steps, then a crash.
	if err := keys.DestroyTenant(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	rosterDo(t, b, n.ID, "1001", roster.DeleteUsers{NetworkID: n.ID, UserIDs: []string{"1001", "1002"}})
	stop()

	b, _ = startWickrMain(t, cfg, clk, 20*time.Millisecond)
	client, err = eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nets = eventstore.NewRepository(client, wickrNetworkDecider, clk.Now)
	deadline := time.Now().Add(30 * time.Second)
	var st network.State
	for {
		if st, _, err = nets.Load(ctx, network.StreamName(n.ID)); err != nil {
			t.Fatal(err)
		}
		if st.Status == network.StatusDeleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deletion did not complete: %s", st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(st.Bots) != 0 {
		t.Fatalf("bots left: %v", st.Bots)
	}
	dirs := eventstore.NewRepository(client, eventstore.Decider[directory.State, directory.Command, directory.Event]{
		Initial: directory.Initial, Evolve: directory.Evolve, Decide: directory.Decide, Decode: directory.Decode,
		Type: func(e directory.Event) string { return e.EventType() }}, clk.Now)
	for _, first := range []string{"1001", "2001"} {
		for id, u := range rosterState(b, first).Users {
			if !u.Deleted {
				t.Errorf("user %s is not deleted", id)
			}
			shard, _, err := dirs.Load(ctx, directory.StreamName(n.ID, u.Username))
			if err != nil {
				t.Fatal(err)
			}
			if owner, held := shard.Owners[u.Username]; held {
				t.Errorf("username %s still held by %s", u.Username, owner)
			}
		}
	}
	// Crypto-shredding: what was sealed for the network's users and bots is unreadable for good.
	for what, sealed := range map[string]domain.Sealed{"user password": password, "bot challenge": challenge} {
		if _, err := datakeys.New(pool).OpenSealed(ctx, sealed); !errors.Is(err, domain.ErrShredded) {
			t.Errorf("the %s still opens: %v", what, err)
		}
	}
	if _, err := keys.SealFor(ctx, n.ID, wickr.UserSubject("1001"), []byte("again")); !errors.Is(err, domain.ErrShredded) {
		t.Errorf("nothing is sealed again for a deleted network's user: %v", err)
	}
	// The read models: no user, no bot, no figures.
	deadline = time.Now().Add(20 * time.Second)
	for {
		counts, err := wickrusers.NewStore(pool).Counts(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		var liveBots int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm.wickr_bots WHERE network_id = $1 AND NOT deleted`, n.ID).Scan(&liveBots); err != nil {
			t.Fatal(err)
		}
		owner, err := wickranalytics.NewStore(pool).Owner(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if counts == (wickrusers.Counts{}) && liveBots == 0 && owner.Status == network.StatusDeleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read models still show the network: users %+v, bots %d, analytics %+v", counts, liveBots, owner)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pending, err := wickrdeletions.NewStore(pool).PendingDeletions(ctx, 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending deletions %v %v", pending, err)
	}
	if err := b.m.wickr.networks.DeleteNetwork(ctx, acct, "us-east-1", n.ID); err != nil {
		t.Fatalf("deleting a deleted network again: %v", err)
	}
}
