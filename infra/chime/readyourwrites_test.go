package chime_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/chime"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimenumbers"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestReadModelTimeoutAnswersFromTheDecidedState: the numbers read model is stalled (its runner never
// runs), so every wait times out; the port-in and phone-number-order calls still succeed with the
// state their commands decided, and each timeout is counted.
func TestReadModelTimeoutAnswersFromTheDecidedState(t *testing.T) {
	ctx := context.Background()
	pool, client := eventlogtest.Start(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := projections.Ensure(ctx, pool, chimenumbers.Projection{}); err != nil {
		t.Fatal(err)
	}
	stalled := projections.NewRunner(pool, client, chimenumbers.Projection{}, projections.RunnerConfig{})
	reg := prometheus.NewRegistry()
	svc := chime.New(chime.Config{Client: client, Sessions: pool, NumbersStore: chimenumbers.NewStore(pool), NumbersRM: stalled,
		ReadModelWait: 50 * time.Millisecond, Registerer: reg})

	req := porting.Request{ProductType: "BusinessCalling", PhoneNumbers: []string{"+14255550100"}, BillingTelephoneNumber: "+14255550100",
		AuthorizingPerson: "Mary Major", ServiceAddress: "1 Main St, Seattle WA", CustomerName: "Example Corp",
		PortAt: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	p, err := svc.SubmitPortIn(ctx, "111122223333", req)
	if err != nil || p.OrderID == "" || p.Status != porting.Submitted || p.Request.CustomerName != "Example Corp" {
		t.Fatalf("submit past the read-model wait: %+v %v", p, err)
	}
	p, _, err = svc.TransitionPortIn(ctx, "111122223333", p.OrderID, porting.PendingDocuments, "need an LOA", time.Time{})
	if err != nil || p.Status != porting.PendingDocuments {
		t.Fatalf("transition past the read-model wait: %+v %v", p, err)
	}
	o, err := svc.CreatePhoneNumberOrder(ctx, "111122223333", "BusinessCalling", []string{"+14255550102", "+14255550101"})
	if err != nil || o.OrderID == "" || o.Status != phonenumber.OrderProcessing || len(o.Numbers) != 2 ||
		o.Numbers[0] != (chimenumbers.OrderedNumber{E164: "+14255550101", Status: phonenumber.NumberProcessing}) {
		t.Fatalf("order past the read-model wait: %+v %v", o, err)
	}
	if n := timeouts(t, reg); n != 3 {
		t.Fatalf("belfry_read_your_writes_timeouts_total = %v, want 3", n)
	}
}

// timeouts reads belfry_read_your_writes_timeouts_total from the registry.
func timeouts(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "belfry_read_your_writes_timeouts_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("belfry_read_your_writes_timeouts_total not registered")
	return 0
}
