package eventbridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/eventbridge"
)

// firstEvents answers a meeting's and its account's first events from memory.
type firstEvents struct{}

func (firstEvents) FirstEvent(_ context.Context, stream string) (string, []byte, error) {
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	var e interface{ EventType() string } = meeting.Scheduled{AccountID: "acct-1", OrganizerID: "u-1", Title: "W", StartsAt: at, At: at}
	if strings.HasPrefix(stream, account.StreamPrefix) {
		e = account.Created{AccountID: "acct-1", AwsAccountID: "210987654321", Name: "Acme", AccountType: "Team", CreatedAt: at}
	}
	b, _ := json.Marshal(e)
	return e.EventType(), b, nil
}

// TestRedirectIsNotDelivery: the endpoint that answers a redirect has not taken the event. Following
// it turns a 302 into a GET whose 200 counted the event delivered although no one received it, and
// re-sends a 307's body to wherever it points — plain http to any host included, which
// ValidateEndpoint refuses as the endpoint itself.
func TestRedirectIsNotDelivery(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/elsewhere", code)
		}))
		reg := prometheus.NewRegistry()
		d, err := eventbridge.New(eventbridge.Config{Endpoint: srv.URL, Region: "eu-west-2", Registerer: reg}, firstEvents{})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 3, 10, 1, 0, 0, time.UTC)
		data, _ := json.Marshal(meeting.Started{By: "u-1", At: at})
		_ = d.Deliver(context.Background(), eventbridge.SourceEvent{Stream: meeting.StreamName("m-1"), Type: meeting.TypeStarted,
			EventID: uuid.NewString(), Data: data})
		srv.Close()
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("redirect %d: the redirect's target got %d requests", code, n)
		}
		if v := delivered(t, reg); v != 0 {
			t.Errorf("redirect %d: counted delivered %v times", code, v)
		}
	}
}

// delivered is belfry_eventbridge_events_total{outcome="delivered"}.
func delivered(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == "belfry_eventbridge_events_total" && l.GetName() == "outcome" && l.GetValue() == "delivered" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
