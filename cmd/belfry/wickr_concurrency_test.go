package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	wickrbotsapi "github.com/belfry/belfry/api/wickr/bots"
	wickrnetworksapi "github.com/belfry/belfry/api/wickr/networks"
	"github.com/belfry/belfry/api/wickr/securitygroups"
	wickrssoapi "github.com/belfry/belfry/api/wickr/sso"
	wickraccount "github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/infra/eventstore"
)

// TestWickrConcurrentNetworkUseCases: while an administrator creates security groups, bots are
// created, updated and signed in, deletions of a bot that does not exist are refused, and the
// network's plan changes, all on one network. Every
// use case checks its request on the network's state under the stream's lock — never on a state
// returned by Load, whose maps another command's Evolve changes in place (the race detector
// watches) — and every bot is created once with its own username.
func TestWickrConcurrentNetworkUseCases(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	const region = "us-east-1"
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, region, wickrnetworksapi.CreateInput{Name: "Busy", AccessLevel: network.Premium})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := b.m.wickr.networkCmds.Repo.Load(ctx, network.StreamName(n.ID))
	if err != nil {
		t.Fatal(err)
	}
	group := st.DefaultGroupID
	done := make(chan struct{})
	var writer sync.WaitGroup
	for w := range 6 {
		writer.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				caller := securitygroups.Caller{AwsAccountID: b.awsAcct, Region: region}
				if _, err := b.m.wickr.groups.CreateGroup(ctx, caller, n.ID, fmt.Sprintf("Group %d-%d", w, i), sg.Patch{}, ""); err != nil {
					t.Errorf("create group: %v", err)
					return
				}
			}
		})
	}
	const bots = 16
	ids := make([]string, bots)
	var wg sync.WaitGroup
	for i := range bots {
		wg.Go(func() {
			bot, err := b.m.wickr.bots.CreateBot(ctx, b.awsAcct, region, n.ID, wickrbotsapi.CreateInput{
				Username: fmt.Sprintf("racer%02dbot", i), GroupID: group, Challenge: "Initial-Password-1"})
			if err != nil {
				t.Errorf("bot %d: %v", i, err)
				return
			}
			ids[i] = bot.ID
			name := fmt.Sprintf("Racer %d", i)
			if err := b.m.wickr.bots.UpdateBot(ctx, b.awsAcct, region, n.ID, bot.ID, wickrbotsapi.UpdateInput{DisplayName: &name}); err != nil {
				t.Errorf("update bot %d: %v", i, err)
			}
			if err := b.m.wickr.bots.SignIn(ctx, n.ID, bot.ID, "Initial-Password-1"); err != nil {
				t.Errorf("bot %d signs in: %v", i, err)
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for i := range 20 {
				level := []string{network.Standard, network.Premium}[i%2]
				in := wickrnetworksapi.UpdateInput{Name: "Busy", AccessLevel: &level}
				if err := b.m.wickr.networks.UpdateNetwork(ctx, b.awsAcct, region, n.ID, in); err != nil {
					t.Errorf("plan %s: %v", level, err)
				}
				if err := b.m.wickr.bots.DeleteBot(ctx, b.awsAcct, region, n.ID, "9999999999"); err == nil {
					t.Errorf("deleting a bot that does not exist succeeded")
				}
			}
		})
	}
	wg.Wait()
	close(done)
	writer.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if st, _, err = b.m.wickr.networkCmds.Repo.Load(ctx, network.StreamName(n.ID)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, id := range ids {
		bot, ok := st.Bots[id]
		if !ok || names[bot.Username] || bot.Status != network.BotActive {
			t.Fatalf("bot %s: %+v (usernames so far %v)", id, bot, names)
		}
		names[bot.Username] = true
	}
	if len(st.Bots) != bots {
		t.Fatalf("%d bots, want %d", len(st.Bots), bots)
	}
}

// TestWickrConcurrentSSORegistrationsKeepCompanyIDsTrue: SSO configurations registered at the same
// time on one network, each with its own company id, leave the network with one of them, and the
// company-id claims say exactly that: the network holds its company id (no other network can take
// it) and none of the others (which any network may then use). The one registration that sets a new
// client secret is not undone by those that keep the secret they found.
func TestWickrConcurrentSSORegistrationsKeepCompanyIDsTrue(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	const region = "us-east-1"
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, region, wickrnetworksapi.CreateInput{Name: "SSO", AccessLevel: network.Premium})
	if err != nil {
		t.Fatal(err)
	}
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	claims := eventstore.NewRepository(client, wickrCompanyIDDecider, time.Now)
	register := func(companyID string, secret *string) (network.OIDCConfig, error) {
		return b.m.wickr.sso.Register(ctx, b.awsAcct, region, n.ID, wickrssoapi.RegisterInput{CompanyID: companyID, Secret: secret,
			Issuer: "https://idp.example.com", Scopes: "openid email", UserID: "belfry", RedirectURL: "https://belfry.example.com/callback"})
	}
	if _, err := register("Start", nil); err != nil {
		t.Fatal(err)
	}
	tried := []string{"Start"}
	for round := range 4 {
		var wg sync.WaitGroup
		var withSecret network.OIDCConfig
		for i := range 4 {
			id := fmt.Sprintf("Co_%d_%d", round, i)
			tried = append(tried, id)
			wg.Go(func() {
				var secret *string
				if i == 0 {
					s := fmt.Sprintf("secret-%d", round)
					secret = &s
				}
				out, err := register(id, secret)
				if err != nil {
					t.Errorf("register %s: %v", id, err)
				}
				if i == 0 {
					withSecret = out
				}
			})
		}
		wg.Wait()
		cfg, err := b.m.wickr.sso.Info(ctx, b.awsAcct, region, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Secret.KeyID != withSecret.Secret.KeyID || string(cfg.Secret.Data) != string(withSecret.Secret.Data) {
			t.Fatalf("round %d: the secret set in the round was replaced by the one it replaced", round)
		}
		for _, id := range tried {
			st, _, err := claims.Load(ctx, directory.CompanyIDStream(id))
			if err != nil {
				t.Fatal(err)
			}
			held := st.Owners[strings.ToLower(id)] == n.ID
			if used := strings.EqualFold(id, cfg.CompanyID); held != used {
				t.Fatalf("round %d: the network uses company id %s; the claim of %s is held by it: %v", round, cfg.CompanyID, id, held)
			}
		}
	}
}

// TestWickrConcurrentTrialAndDeletion: a Standard network moved to the Premium free trial while it
// is being deleted ends in one of two ways, each recorded on its AWS account's stream as it was:
// deleted on the trial (the account creates no more networks, guide §2.3), or deleted before the
// trial reached it (the account may create networks). The account learns which from the state the
// deletion was decided on, never from a state read before a plan change.
func TestWickrConcurrentTrialAndDeletion(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	const region = "us-east-1"
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	accounts := eventstore.NewRepository(client, wickrAccountDecider, time.Now)
	nets := b.m.wickr.networkCmds.Repo
	trialled := 0
	for i := range 100 {
		aws := fmt.Sprintf("%012d", 500_000_000_000+i) // an AWS account of its own: one trial each
		n, err := b.m.wickr.networks.CreateNetwork(ctx, aws, region, wickrnetworksapi.CreateInput{Name: "Doomed", AccessLevel: network.Standard})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			on := true
			_ = b.m.wickr.networks.UpdateNetwork(ctx, aws, region, n.ID, wickrnetworksapi.UpdateInput{Name: "Doomed", Trial: &on})
		})
		for d := range 16 {
			wg.Go(func() {
				time.Sleep(time.Duration(i%10)*time.Millisecond + time.Duration(d)*300*time.Microsecond)
				if err := b.m.wickr.networks.DeleteNetwork(ctx, aws, region, n.ID); err != nil {
					t.Errorf("delete %s: %v", n.ID, err)
				}
			})
		}
		wg.Wait()
		st, _, err := nets.Load(ctx, network.StreamName(n.ID))
		if err != nil {
			t.Fatal(err)
		}
		acct, _, err := accounts.Load(ctx, wickraccount.StreamName(aws))
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == network.StatusActive || acct.Blocked != st.Trial {
			t.Fatalf("round %d: network %s %s with trial %v; its account blocked: %v", i, n.ID, st.Status, st.Trial, acct.Blocked)
		}
		if st.Trial {
			trialled++
		}
	}
	t.Logf("%d of 100 networks were deleted on the trial", trialled)
}
