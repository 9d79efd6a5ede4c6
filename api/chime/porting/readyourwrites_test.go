package porting_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/belfry/belfry/api/chime/numbers"
	portingapi "github.com/belfry/belfry/api/chime/porting"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/portdocs"
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
	ryw := usecase.NewReadYourWrites(50*time.Millisecond, reg)
	store := chimenumbers.NewStore(pool)
	nums := newRepo(client, eventstore.Decider[phonenumber.State, phonenumber.Command, phonenumber.Event]{
		Initial: phonenumber.Initial, Evolve: phonenumber.Evolve, Decide: phonenumber.Decide, Decode: phonenumber.Decode,
		Type: func(e phonenumber.Event) string { return e.EventType() }})
	orders := newRepo(client, eventstore.Decider[phonenumber.Order, phonenumber.OrderCommand, phonenumber.Event]{
		Initial: phonenumber.InitialOrder, Evolve: phonenumber.EvolveOrder, Decide: phonenumber.DecideOrder, Decode: phonenumber.Decode,
		Type: func(e phonenumber.Event) string { return e.EventType() }})
	ports := newRepo(client, eventstore.Decider[porting.Order, porting.Command, porting.Event]{
		Initial: porting.Initial, Evolve: porting.Evolve, Decide: porting.Decide, Decode: porting.Decode,
		Type: func(e porting.Event) string { return e.EventType() }})
	numSvc := numbers.New(numbers.Deps{Numbers: nums, Orders: orders, NumbersRM: stalled, Store: store, RYW: ryw})
	svc := portingapi.New(portingapi.Deps{Ports: ports, Numbers: nums, NumberCmd: numSvc, NumbersRM: stalled, Store: store,
		Documents: portdocs.New(pool, client), RYW: ryw})

	req := porting.Request{ProductType: "BusinessCalling", PhoneNumbers: []string{"+14255550100"}, BillingTelephoneNumber: "+14255550100",
		AuthorizingPerson: "Mary Major", ServiceAddress: "1 Main St, Seattle WA", CustomerName: "Example Corp",
		PortAt: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	p, err := svc.SubmitPortIn(ctx, "111122223333", req, "")
	if err != nil || p.OrderID == "" || p.Status != porting.Submitted || p.Request.CustomerName != "Example Corp" {
		t.Fatalf("submit past the read-model wait: %+v %v", p, err)
	}
	p, _, err = svc.TransitionPortIn(ctx, "111122223333", p.OrderID, porting.PendingDocuments, "need an LOA", time.Time{})
	if err != nil || p.Status != porting.PendingDocuments {
		t.Fatalf("transition past the read-model wait: %+v %v", p, err)
	}
	o, err := numSvc.CreatePhoneNumberOrder(ctx, "111122223333", "BusinessCalling", []string{"+14255550102", "+14255550101"})
	if err != nil || o.OrderID == "" || o.Status != phonenumber.OrderProcessing || len(o.Numbers) != 2 ||
		o.Numbers[0] != (chimenumbers.OrderedNumber{E164: "+14255550101", Status: phonenumber.NumberProcessing}) {
		t.Fatalf("order past the read-model wait: %+v %v", o, err)
	}
	if n := timeouts(t, reg); n != 3 {
		t.Fatalf("belfry_read_your_writes_timeouts_total = %v, want 3", n)
	}
}

// repo adapts an event-store repository to the slices' port, as cmd/belfry does.
type repo[S, C, E any] struct {
	*eventstore.Repository[S, C, E]
}

func newRepo[S, C, E any](client *esdb.Client, d eventstore.Decider[S, C, E]) repo[S, C, E] {
	return repo[S, C, E]{eventstore.NewRepository(client, d, nil)}
}

func (r repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	res, err := r.Repository.Execute(ctx, stream, cmd)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
}

func (r repo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	res, err := r.Repository.ExecuteFunc(ctx, stream, decide)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
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
