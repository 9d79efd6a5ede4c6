package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

func TestBotsThroughSDK(t *testing.T) {
	t.Parallel()
	dnsSrv := startDNS(t)
	echo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Challenge, EventType string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in.EventType != "HTTPSEndpointVerification" || len(in.Challenge) != 20 {
			http.Error(w, "unexpected", 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"Challenge": in.Challenge})
	}))
	defer echo.Close()
	mute := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer mute.Close()
	var mu sync.Mutex
	var dryRuns []string
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		dryRuns = append(dryRuns, r.Header.Get("X-Amz-Invocation-Type")+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer lambda.Close()

	b := startBelfryWith(t, func(m *Main) {
		m.cfg.DNSResolver = dnsSrv.addr
		m.cfg.LambdaURL = lambda.URL
		m.BotHTTP = echo.Client() // trusts the test servers' certificate
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Bots Inc")})
	acct := a.Account.AccountId
	_, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("exampleBot")})
	apiErr(t, err, "BadRequestException", 400) // a Team account has no bots

	b.claimDomain(t, dnsSrv, aws.ToString(acct), "example.com")

	bot, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("exampleBot"), Domain: aws.String("example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(bot.Bot.BotEmail) != "exampleBot-chimebot@example.com" || aws.ToString(bot.Bot.SecurityToken) == "" || aws.ToBool(bot.Bot.Disabled) {
		t.Fatalf("created bot: %+v", bot.Bot)
	}
	_, err = c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("bad name")})
	apiErr(t, err, "BadRequestException", 400)
	_, err = c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("x"), Domain: aws.String("unclaimed.org")})
	apiErr(t, err, "BadRequestException", 400)
	for i := 1; i < 10; i++ {
		if _, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String(fmt.Sprintf("bot%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("eleventh")})
	apiErr(t, err, "ResourceLimitExceededException", 400)

	p := chime.NewListBotsPaginator(c, &chime.ListBotsInput{AccountId: acct, MaxResults: aws.Int32(4)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Bots)
	}
	if n != 10 {
		t.Fatalf("listed %d bots", n)
	}

	up, err := c.UpdateBot(ctx, &chime.UpdateBotInput{AccountId: acct, BotId: bot.Bot.BotId, Disabled: aws.Bool(true)})
	if err != nil || !aws.ToBool(up.Bot.Disabled) {
		t.Fatalf("disable: %+v %v", up, err)
	}
	re, err := c.RegenerateSecurityToken(ctx, &chime.RegenerateSecurityTokenInput{AccountId: acct, BotId: bot.Bot.BotId})
	if err != nil || aws.ToString(re.Bot.SecurityToken) == aws.ToString(bot.Bot.SecurityToken) {
		t.Fatalf("regenerate: %+v %v", re, err)
	}

	// Events configuration: the HTTPS endpoint must echo the challenge.
	_, err = c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, OutboundEventsHTTPSEndpoint: aws.String(mute.URL)})
	apiErr(t, err, "BadRequestException", 400)
	_, err = c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, OutboundEventsHTTPSEndpoint: aws.String("http://plain.example.com")})
	apiErr(t, err, "BadRequestException", 400)
	pe, err := c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, OutboundEventsHTTPSEndpoint: aws.String(echo.URL)})
	if err != nil || aws.ToString(pe.EventsConfiguration.OutboundEventsHTTPSEndpoint) != echo.URL {
		t.Fatalf("put HTTPS events: %+v %v", pe, err)
	}
	ge, err := c.GetEventsConfiguration(ctx, &chime.GetEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId})
	if err != nil || aws.ToString(ge.EventsConfiguration.OutboundEventsHTTPSEndpoint) != echo.URL {
		t.Fatalf("get events: %+v %v", ge, err)
	}
	// Lambda: the ARN is checked and dry-run through the configured invoker.
	arn := "arn:aws:lambda:us-east-1:111122223333:function:bot-handler"
	if _, err := c.DeleteEventsConfiguration(ctx, &chime.DeleteEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, LambdaFunctionArn: aws.String("not-an-arn")})
	apiErr(t, err, "BadRequestException", 400)
	pe, err = c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, LambdaFunctionArn: aws.String(arn)})
	if err != nil || aws.ToString(pe.EventsConfiguration.LambdaFunctionArn) != arn || pe.EventsConfiguration.OutboundEventsHTTPSEndpoint != nil {
		t.Fatalf("put Lambda events: %+v %v", pe, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dryRuns) != 1 || dryRuns[0] != "DryRun /2015-03-31/functions/arn:aws:lambda:us-east-1:111122223333:function:bot-handler/invocations" {
		t.Fatalf("dry runs: %v", dryRuns)
	}
	if _, err := c.DeleteEventsConfiguration(ctx, &chime.DeleteEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId}); err != nil {
		t.Fatal(err)
	}
	ge, _ = c.GetEventsConfiguration(ctx, &chime.GetEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId})
	if ge.EventsConfiguration.LambdaFunctionArn != nil || ge.EventsConfiguration.OutboundEventsHTTPSEndpoint != nil {
		t.Fatalf("after delete: %+v", ge.EventsConfiguration)
	}
	_, err = c.GetBot(ctx, &chime.GetBotInput{AccountId: acct, BotId: aws.String("ghost")})
	apiErr(t, err, "NotFoundException", 404)

	// Sign-in delegate groups (Enterprise accounts).
	_, err = c.AssociateSigninDelegateGroupsWithAccount(ctx, &chime.AssociateSigninDelegateGroupsWithAccountInput{AccountId: acct,
		SigninDelegateGroups: []types.SigninDelegateGroup{{GroupName: aws.String("Pro Users")}, {GroupName: aws.String("Basic Users")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: acct})
	if len(got.Account.SigninDelegateGroups) != 2 || aws.ToString(got.Account.SigninDelegateGroups[0].GroupName) != "Basic Users" {
		t.Fatalf("delegate groups: %+v", got.Account.SigninDelegateGroups)
	}
	if _, err := c.DisassociateSigninDelegateGroupsFromAccount(ctx, &chime.DisassociateSigninDelegateGroupsFromAccountInput{AccountId: acct,
		GroupNames: []string{"Basic Users"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetAccount(ctx, &chime.GetAccountInput{AccountId: acct})
	if len(got.Account.SigninDelegateGroups) != 1 || aws.ToString(got.Account.SigninDelegateGroups[0].GroupName) != "Pro Users" {
		t.Fatalf("after disassociate: %+v", got.Account.SigninDelegateGroups)
	}
	_, err = c.AssociateSigninDelegateGroupsWithAccount(ctx, &chime.AssociateSigninDelegateGroupsWithAccountInput{AccountId: acct,
		SigninDelegateGroups: []types.SigninDelegateGroup{{GroupName: aws.String("OU=Sales,DC=example,DC=com")}}})
	apiErr(t, err, "BadRequestException", 400)
	team, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Plain team")})
	_, err = c.AssociateSigninDelegateGroupsWithAccount(ctx, &chime.AssociateSigninDelegateGroupsWithAccountInput{AccountId: team.Account.AccountId,
		SigninDelegateGroups: []types.SigninDelegateGroup{{GroupName: aws.String("Pro Users")}}})
	apiErr(t, err, "BadRequestException", 400)
}
