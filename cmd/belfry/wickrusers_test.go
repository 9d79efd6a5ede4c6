package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	wickrdevicesapi "github.com/belfry/belfry/api/wickr/devices"
	wickrnetworksapi "github.com/belfry/belfry/api/wickr/networks"
	wickrusersapi "github.com/belfry/belfry/api/wickr/users"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/wickrusers"
)

func init() {
	boto3Setups["test_users"] = setupWickrUsers
	boto3Setups["test_devices"] = setupWickrUsers
}

// setupWickrUsers makes what the users' Python tests cannot make through the API on this branch: a
// network with its default group id and a second group (ListSecurityGroups and CreateSecurityGroup
// are the security groups slice's), and a registered user who signed in from two devices (the
// client API's).
func setupWickrUsers(t *testing.T, b *running) map[string]string {
	ctx := context.Background()
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrnetworksapi.CreateInput{Name: "Users", AccessLevel: network.Premium})
	if err != nil {
		t.Fatal(err)
	}
	nets := b.m.wickr.networkCmds.Repo
	if _, err := nets.Execute(ctx, network.StreamName(n.ID), network.CreateGroup{NetworkID: n.ID, GroupID: "FieldOps", Name: "Field"}); err != nil {
		t.Fatal(err)
	}
	st, _, err := nets.Load(ctx, network.StreamName(n.ID))
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.m.wickr.users.BatchCreateUser(ctx, b.awsAcct, "us-east-1", n.ID, "setup",
		[]roster.NewUser{{Username: "signed.in@example.com", FirstName: "Sig", SecurityGroupIDs: []string{st.DefaultGroupID}}})
	if err != nil || len(res.Successful) != 1 {
		t.Fatalf("setup user: %v %+v", err, res)
	}
	uid := res.Successful[0].UserID
	signIn(t, b, n.ID, uid)
	trial, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrnetworksapi.CreateInput{Name: "Trial", AccessLevel: network.Premium, Trial: true})
	if err != nil {
		t.Fatal(err)
	}
	tst, _, err := nets.Load(ctx, network.StreamName(trial.ID))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"WICKR_NETWORK": n.ID, "WICKR_DEFAULT_GROUP": st.DefaultGroupID, "WICKR_OTHER_GROUP": "FieldOps",
		"WICKR_SIGNED_IN_USER": uid, "WICKR_TRIAL_NETWORK": trial.ID, "WICKR_TRIAL_GROUP": tst.DefaultGroupID}
}

// signIn registers a pending user through its invitation from device "laptop" and signs it in from
// device "phone", as the client API will.
func signIn(t *testing.T, b *running, networkID, userID string) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sealed, err := datakeys.New(pool).SealFor(ctx, networkID, wickr.UserSubject(userID), []byte("hash of Correct-Horse-9"))
	if err != nil {
		t.Fatal(err)
	}
	stream := roster.StreamName(networkID, userID)
	st, _, err := b.m.wickr.networkCmds.Repo.Load(ctx, network.StreamName(networkID))
	if err != nil {
		t.Fatal(err)
	}
	pol := roster.Policy{Groups: map[string]sg.Settings{}}
	for id, g := range st.Groups {
		pol.Groups[id] = g.Settings
	}
	shape := roster.PasswordShape{Length: 15, Lowercase: 10, Uppercase: 2, Numbers: 1, Symbols: 2}
	rs, _, err := b.m.wickr.rosters.Repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []roster.Command{
		roster.Register{NetworkID: networkID, UserID: userID, AppID: "laptop", DeviceType: "MacOSX", Password: sealed, Shape: shape, Policy: pol,
			InviteExpiresAt: rs.Users[userID].InviteExpiresAt},
		roster.SignIn{NetworkID: networkID, UserID: userID, AppID: "phone", DeviceType: "iOS", PasswordOK: true, Checked: sealed, Policy: pol},
	} {
		if _, _, err := b.m.wickr.rosters.Execute(ctx, stream, c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWickrResetDeviceSignsInAgain: a device an admin reset is Reset until it signs in again, which
// registers it again (Active).
func TestWickrResetDeviceSignsInAgain(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	env := setupWickrUsers(t, b)
	ctx := context.Background()
	netID, userID := env["WICKR_NETWORK"], env["WICKR_SIGNED_IN_USER"]
	ok, failed, err := b.m.wickr.devices.BatchResetDevicesForUser(ctx, b.awsAcct, "us-east-1", netID, userID, []string{"phone"})
	if err != nil || len(ok) != 1 || len(failed) != 0 {
		t.Fatalf("reset: %v %v %v", ok, failed, err)
	}
	status := func() string {
		list, _, err := b.m.wickr.devices.ListDevicesForUser(ctx, b.awsAcct, "us-east-1", netID, userID, wickrdevicesapi.Page{Sort: []string{"type"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if d.AppID == "phone" {
				return d.Status
			}
		}
		return "missing"
	}
	if s := status(); s != roster.DeviceReset {
		t.Fatalf("after the reset the phone is %s", s)
	}
	st, _, err := b.m.wickr.networkCmds.Repo.Load(ctx, network.StreamName(netID))
	if err != nil {
		t.Fatal(err)
	}
	pol := roster.Policy{Groups: map[string]sg.Settings{}}
	for id, g := range st.Groups {
		pol.Groups[id] = g.Settings
	}
	rs, _, err := b.m.wickr.rosters.Repo.Load(ctx, roster.StreamName(netID, userID))
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := b.m.wickr.rosters.Execute(ctx, roster.StreamName(netID, userID),
		roster.SignIn{NetworkID: netID, UserID: userID, AppID: "phone", DeviceType: "iOS", PasswordOK: true, Checked: rs.Users[userID].Password, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Events[0].(roster.DeviceRegistered); !ok {
		t.Fatalf("signing in again from a reset device registers it: %#v", d.Events)
	}
	if s := status(); s != roster.DeviceActive {
		t.Fatalf("after signing in again the phone is %s", s)
	}
}

func init() { boto3Setups["test_guests"] = setupWickrGuests }

// setupWickrGuests makes what the guests' Python tests cannot make through the admin API: a guest
// account (self-registration is the client API's), the guests a network's users communicated with
// in two billing periods (rows of rm.wickr_guest_sightings, standing in for messaging, which records
// them), a Premium network and a trial network.
func setupWickrGuests(t *testing.T, b *running) map[string]string {
	ctx := context.Background()
	var ids []string
	for _, in := range []wickrnetworksapi.CreateInput{{Name: "Guests", AccessLevel: network.Premium}, {Name: "Trial", AccessLevel: network.Premium, Trial: true}} {
		n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const account = "Guest.Account@example.org"
	hash := wickr.UsernameHash(account)
	sealed, err := datakeys.New(pool).SealFor(ctx, wickr.GuestTenant, wickr.GuestSubject(hash), []byte("hash of a password"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := eventstore.Connect(b.m.esURL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := eventstore.NewRepository(client, wickrGuestDecider, time.Now).Execute(ctx, guest.StreamName(account), guest.SelfRegister{Username: account, Password: sealed}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	this, last := now.Format("2006-01"), now.AddDate(0, -1, 0).Format("2006-01")
	for _, s := range []struct{ period, username string }{{this, "guest.account@example.org"}, {this, "bob@example.net"}, {this, "carol@example.com"},
		{last, "bob@example.net"}} {
		if _, err := pool.Exec(ctx, `INSERT INTO rm.wickr_guest_sightings (network_id, billing_period, username_hash, username) VALUES ($1,$2,$3,$4)`,
			ids[0], s.period, wickr.UsernameHash(s.username), s.username); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"WICKR_NETWORK": ids[0], "WICKR_TRIAL_NETWORK": ids[1], "WICKR_GUEST_HASH": hash, "WICKR_THIS_PERIOD": this,
		"WICKR_LAST_PERIOD": last}
}

// TestWickrConcurrentBatchesKeepUsernamesUnique: batches sent at the same time whose usernames
// overlap create each username once; the others are refused as taken, their seats given back, and
// the read model, the counters and the seat count agree with what was created.
func TestWickrConcurrentBatchesKeepUsernamesUnique(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrnetworksapi.CreateInput{Name: "Race", AccessLevel: network.Premium})
	if err != nil {
		t.Fatal(err)
	}
	nets := b.m.wickr.networkCmds.Repo
	st, _, err := nets.Load(ctx, network.StreamName(n.ID))
	if err != nil {
		t.Fatal(err)
	}
	const batches, step = 6, 25 // batch g asks for users g*25 … g*25+49: each overlaps the next by 25
	results := make([]wickrusersapi.CreateResult, batches)
	errs := make([]error, batches)
	var wg sync.WaitGroup
	for g := range batches {
		wg.Go(func() {
			items := make([]roster.NewUser, roster.MaxBatch)
			for j := range items {
				items[j] = roster.NewUser{Username: fmt.Sprintf("racer%03d@example.com", g*step+j), SecurityGroupIDs: []string{st.DefaultGroupID}}
			}
			results[g], errs[g] = b.m.wickr.users.BatchCreateUser(ctx, b.awsAcct, "us-east-1", n.ID, "", items)
		})
	}
	wg.Wait()
	created := map[string]string{}
	refused := 0
	for g, res := range results {
		if errs[g] != nil {
			t.Fatalf("batch %d: %v", g, errs[g])
		}
		for _, u := range res.Successful {
			if prev, dup := created[u.Username]; dup {
				t.Fatalf("%s created twice: users %s and %s", u.Username, prev, u.UserID)
			}
			created[u.Username] = u.UserID
		}
		for _, f := range res.Failed {
			if !strings.Contains(f.Reason, "already taken") {
				t.Fatalf("batch %d: unexpected refusal %+v", g, f)
			}
		}
		refused += len(res.Failed)
		if len(res.Successful)+len(res.Failed) != roster.MaxBatch {
			t.Fatalf("batch %d: %d created + %d refused of %d", g, len(res.Successful), len(res.Failed), roster.MaxBatch)
		}
	}
	distinct := (batches-1)*step + roster.MaxBatch
	if len(created) != distinct || refused != batches*roster.MaxBatch-distinct {
		t.Fatalf("created %d (want %d), refused %d", len(created), distinct, refused)
	}
	if st, _, err = nets.Load(ctx, network.StreamName(n.ID)); err != nil || st.Seats != distinct {
		t.Fatalf("seats %d, want %d (%v)", st.Seats, distinct, err)
	}
	c, err := b.m.wickr.users.GetUsersCount(ctx, b.awsAcct, "us-east-1", n.ID)
	if err != nil || c.Pending != distinct || c.Total != distinct {
		t.Fatalf("GetUsersCount %+v, want %d pending (%v)", c, distinct, err)
	}
	seen := 0
	for p := (wickrusers.UserPage{Sort: []string{"username"}, Limit: 100}); ; {
		list, next, err := b.m.wickr.users.ListUsers(ctx, b.awsAcct, "us-east-1", n.ID, wickrusers.UserFilter{}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list {
			if created[u.Username] != u.UserID {
				t.Fatalf("listed %s as user %s, created as %q", u.Username, u.UserID, created[u.Username])
			}
			seen++
		}
		if p.NextToken = next; next == "" {
			break
		}
	}
	if seen != distinct {
		t.Fatalf("ListUsers shows %d users, want %d", seen, distinct)
	}
}
