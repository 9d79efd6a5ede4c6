package botdelivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belfry/belfry/infra/egress"
)

// TestDeliverDoesNotFollowRedirects: an endpoint that answers a redirect has not taken the event
// (the guide asks for 200). Following it would turn a 302 into a GET, which a 200 counts as
// delivered while the bot never got the event, and a 307 would re-send the event — its message and
// reply URL — to wherever the redirect points, plain http included.
func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer plain.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		endpoint := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+"/stolen", code)
		}))
		tr := New(Config{HTTP: endpoint.Client(), Logger: slog.New(slog.DiscardHandler)})
		err := tr.Deliver(context.Background(), Target{BotID: "b", HTTPSEndpoint: endpoint.URL, SecurityToken: "tok"}, []byte(`{"Message":"secret"}`))
		endpoint.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("redirect %d: the redirect's target got %d requests, want 0", code, n)
		}
		if n := testutil.ToFloat64(tr.dropped); n != 1 {
			t.Errorf("redirect %d: dropped %v, want 1 (a redirect is not a delivery)", code, n)
		}
		if err := tr.Challenge(context.Background(), endpoint.URL); err == nil {
			t.Errorf("redirect %d: the challenge passed", code)
		}
	}
}

// TestChallengeErrorHidesEndpointSecrets: the endpoint URL is a sensitive member (it often embeds a
// credential), hidden in the audit record; the verification's error, which becomes the API's error
// message and the audit record's errorMessage, must not repeat its path or query.
func TestChallengeErrorHidesEndpointSecrets(t *testing.T) {
	down := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := down.URL
	client := down.Client()
	down.Close() // connection refused
	var logs bytes.Buffer
	tr := New(Config{HTTP: client, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	endpoint := url + "/hooks/SECRETPATH?token=SECRETTOKEN"
	err := tr.Challenge(context.Background(), endpoint)
	if err == nil {
		t.Fatal("the challenge of a closed endpoint passed")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the challenge error repeats the endpoint's secret: %v", err)
	}
	bad := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"Challenge": "wrong"})
	}))
	defer bad.Close()
	tr = New(Config{HTTP: bad.Client(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := tr.Challenge(context.Background(), bad.URL+"/hooks/SECRETPATH?token=SECRETTOKEN"); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("a wrong echo: %v", err)
	}
	tr = New(Config{HTTP: client, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_ = tr.Deliver(context.Background(), Target{BotID: "b", HTTPSEndpoint: endpoint, SecurityToken: "tok"}, []byte(`{}`))
	if strings.Contains(logs.String(), "SECRET") {
		t.Errorf("the log of a dropped event repeats the endpoint's secret: %s", logs.String())
	}
}

// TestDefaultClientRefusesInternalEndpoints: the endpoint is whatever a tenant administrator typed.
// The default client must not let it reach the server's own machine (or, the same check, the cloud's
// metadata address and private networks), neither for the challenge nor for bot events — and an
// endpoint refused so is not retried (it will not become reachable in 600 ms). The challenge's error
// never names the address the endpoint's name resolved to.
func TestDefaultClientRefusesInternalEndpoints(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var in struct{ Challenge string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		_ = json.NewEncoder(w).Encode(in)
	}))
	defer internal.Close()
	var logs bytes.Buffer
	tr := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	for _, endpoint := range []string{internal.URL, "http://localhost:" + port + "/hook"} {
		err := tr.Challenge(context.Background(), endpoint)
		if !errors.Is(err, egress.ErrForbidden) {
			t.Errorf("the challenge to %s: %v, want egress.ErrForbidden", endpoint, err)
		}
		// The error reaches the tenant (the API's answer): it names no address a name resolved to.
		if endpoint != internal.URL && err != nil && (strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "::1")) {
			t.Errorf("the challenge's error names the address localhost resolved to: %v", err)
		}
		start := time.Now()
		if err := tr.Deliver(context.Background(), Target{BotID: "b", HTTPSEndpoint: endpoint, SecurityToken: "tok"}, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 150*time.Millisecond {
			t.Errorf("a refused endpoint was retried (%v)", took)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests, want 0", n)
	}
	if got := testutil.ToFloat64(tr.dropped); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
	if strings.Contains(logs.String(), "tok") || strings.Contains(logs.String(), "/hook") {
		t.Errorf("the log repeats the token or the endpoint's path: %s", logs.String())
	}
}
