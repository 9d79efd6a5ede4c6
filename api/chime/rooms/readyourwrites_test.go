package rooms_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/pins"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const aws = "111122223333"

// TestReadModelTimeoutAnswersFromTheDecidedState: the rooms read model is stalled (its runner never
// runs), so every wait times out; UpdateRoom and Create/UpdateRoomMembership still answer with what
// their commands decided — the new name, the new member, the new role — and each timeout is counted.
func TestReadModelTimeoutAnswersFromTheDecidedState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, client := eventlogtest.Start(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for _, p := range []projections.Projection{chimeaccounts.Projection{}, chimerooms.Projection{}} {
		if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
			t.Fatal(err)
		}
	}
	accountsRM := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{})
	done := make(chan struct{})
	go func() { defer close(done); _ = accountsRM.Run(ctx) }()
	defer func() { cancel(); <-done }()
	stalled := projections.NewRunner(pool, client, chimerooms.Projection{}, projections.RunnerConfig{})
	ring, err := datakeys.OpenFileKeyring(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	keys := datakeys.New(pool).WithKeyring(ring)

	accounts := newRepo(client, eventstore.Decider[account.State, account.Command, account.Event]{
		Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
		Type: func(e account.Event) string { return e.EventType() }})
	acct, user := uuid.NewString(), uuid.NewString()
	if _, err := accounts.Execute(ctx, account.StreamName(acct), account.Create{AccountID: acct, AwsAccountID: aws, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	_, pin, err := pins.Reserver{Client: client, Keys: keys}.Reserve(ctx, acct, user)
	if err != nil {
		t.Fatal(err)
	}
	added, err := accounts.Execute(ctx, account.StreamName(acct), account.AddUser{AccountID: acct, UserID: user, Email: "alice@example.com", Username: "alice", PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if err := accountsRM.WaitFor(ctx, added.Position); err != nil {
		t.Fatal(err)
	}
	roomRepo := newRepo(client, eventstore.Decider[room.State, room.Command, room.Event]{
		Initial: room.Initial, Evolve: room.Evolve, Decide: room.Decide, Decode: room.Decode,
		Type: func(e room.Event) string { return e.EventType() }})
	roomID := uuid.NewString()
	if _, err := roomRepo.Execute(ctx, room.StreamName(roomID), room.Create{AccountID: acct, Name: "Ops", CreatedBy: "arn:aws:iam::111122223333:user/admin"}); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	ryw := usecase.NewReadYourWrites(50*time.Millisecond, reg)
	svc := rooms.New(rooms.Deps{Rooms: rooms.Rooms{Repo: roomRepo, RM: stalled, RYW: ryw}, Accounts: accounts, Store: chimerooms.NewStore(pool),
		Directory: chimeaccounts.NewStore(pool).WithSecrets(keys), Keys: keys})
	r, err := svc.UpdateRoom(ctx, aws, acct, roomID, "Incidents")
	if err != nil || r.RoomID != roomID || r.AccountID != acct || r.Name != "Incidents" || r.CreatedBy == "" || r.UpdatedAt.IsZero() {
		t.Fatalf("rename past the read-model wait: %+v %v", r, err)
	}
	m, err := svc.CreateRoomMembership(ctx, aws, acct, roomID, user, "", "arn:aws:iam::111122223333:user/admin")
	if err != nil || m.RoomID != roomID || m.MemberID != user || m.MemberType != room.MemberUser || m.Email != "alice@example.com" ||
		m.FullName != "alice" || m.Role != room.RoleMember || m.InvitedBy == "" {
		t.Fatalf("new membership past the read-model wait: %+v %v", m, err)
	}
	m, err = svc.UpdateRoomMembership(ctx, aws, acct, roomID, user, room.RoleAdministrator)
	if err != nil || m.MemberID != user || m.Role != room.RoleAdministrator || m.Email != "alice@example.com" {
		t.Fatalf("role change past the read-model wait: %+v %v", m, err)
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
