package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/infra/carrier"
	"github.com/belfry/belfry/infra/eventbridge"
)

// ebSink is an EventBridge endpoint: it refuses its first request with 503 (the event must come
// again), checks each body's signature, and keeps the events by id.
type ebSink struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	calls  int
	events map[string]eventbridge.Event
	raw    map[string]map[string]any
}

func (s *ebSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls == 1 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if got := r.Header.Get(eventbridge.SignatureHeader); got != eventbridge.Sign(s.secret, body) {
		s.t.Errorf("signature %q does not match the body", got)
	}
	var ev eventbridge.Event
	var raw map[string]any
	if json.Unmarshal(body, &ev) != nil || json.Unmarshal(body, &raw) != nil {
		s.t.Errorf("not an event: %s", body)
	}
	s.events[ev.ID], s.raw[ev.ID] = ev, raw["detail"].(map[string]any)
}

// byType waits until the sink holds events of every eventType in want, and returns them by type.
func (s *ebSink) byType(t *testing.T, want ...string) map[string][]map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.mu.Lock()
		out := map[string][]map[string]any{}
		for _, d := range s.raw {
			out[d["eventType"].(string)] = append(out[d["eventType"].(string)], d)
		}
		s.mu.Unlock()
		missing := false
		for _, w := range want {
			missing = missing || len(out[w]) == 0
		}
		if !missing {
			return out
		}
	}
	t.Fatalf("the endpoint never received all of %v: %v", want, s.raw)
	return nil
}

// TestEventBridgeStreamOfCalls: guide §15.4 — with BELFRY_EVENTBRIDGE_URL set, a Business Calling
// call's events reach the endpoint as EventBridge events of the caller's AWS account and region,
// signed, each id once, after the endpoint's first refusal (503) is retried.
func TestEventBridgeStreamOfCalls(t *testing.T) {
	t.Parallel()
	sink := &ebSink{t: t, secret: []byte("s3cret-signing-key"), events: map[string]eventbridge.Event{}, raw: map[string]map[string]any{}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.cfg.EventBridgeURL, m.cfg.EventBridgeSecret = srv.URL, string(sink.secret)
		m.Carrier = &carrier.Sim{Ring: 2 * time.Second, Talk: 10 * time.Second, Speed: 200}
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Events Inc")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@events.example")
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: aws.String(alice), E164PhoneNumber: aws.String(found.E164PhoneNumbers[0])}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUserSettings(ctx, &chime.UpdateUserSettingsInput{AccountId: &acct, UserId: aws.String(alice),
		UserSettings: &types.UserSettings{Telephony: &types.TelephonySettings{InboundCalling: aws.Bool(true), OutboundCalling: aws.Bool(true), SMS: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	st, out := b.clientCall(t, "POST", "/client/v1/calls", aliceTok, map[string]string{"To": "+442071838750"})
	if st != 201 {
		t.Fatalf("place: %d %v", st, out)
	}
	id := out["Call"].(map[string]any)["CallId"].(string)
	b.callUntil(t, aliceTok, id, "Ended")
	got := sink.byType(t, "chime:CallPlaced", "chime:CallLegConnected", "chime:CallLegEnded", "chime:CallEnded")
	placed := got["chime:CallPlaced"][0]
	legs := placed["legs"].([]any)
	if placed["conferenceId"] != id || len(legs) != 1 || legs[0].(map[string]any)["fromNumber"] != found.E164PhoneNumbers[0] ||
		legs[0].(map[string]any)["toNumber"] != "+442071838750" || legs[0].(map[string]any)["direction"] != "Outbound" {
		t.Fatalf("CallPlaced: %v", placed)
	}
	if e := got["chime:CallLegEnded"][0]; e["reason"] != "Completed" || e["conferenceId"] != id {
		t.Fatalf("CallLegEnded: %v", e)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, ev := range sink.events {
		if ev.Source != "aws.chime" || ev.DetailType != eventbridge.DetailCall || ev.Account != b.awsAcct || ev.Region != "us-east-1" || ev.Version != "0" {
			t.Fatalf("envelope: %+v", ev)
		}
		if _, err := time.Parse(time.RFC3339, ev.Time); err != nil {
			t.Fatalf("time %q: %v", ev.Time, err)
		}
	}
	if len(sink.events) != 4 {
		t.Fatalf("%d distinct events, want the call's 4: %v", len(sink.events), sink.raw)
	}
}

// TestConfigRefusesAPlainEventBridgeEndpoint: events leave the machine only over https.
func TestConfigRefusesAPlainEventBridgeEndpoint(t *testing.T) {
	t.Parallel()
	c := Config{DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", EventBridgeURL: "http://events.example.com/in"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_EVENTBRIDGE_URL") {
		t.Fatalf("a plain http endpoint off this machine: %v", err)
	}
	c.EventBridgeURL = "https://events.example.com/in"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
