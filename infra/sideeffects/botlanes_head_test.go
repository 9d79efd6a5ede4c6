package sideeffects

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// orderedSink records the rooms of the bot events it is given, in order.
type orderedSink struct {
	mu    sync.Mutex
	rooms []string
}

func (s *orderedSink) DeliverBotEvent(_ context.Context, ev BotEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms = append(s.rooms, ev.RoomID)
	return nil
}

func (s *orderedSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rooms...)
}

// TestBotLaneWaitsForItsFirstEvent: a bot whose first event is held by a lease (a process that
// crashed mid-delivery holds it for up to botLease) or waits out a retry's backoff gets no lane while
// that lasts, though a later event of the bot is due: its events go in order, so the lane could
// deliver nothing, and starting it again at every wake-up spins, querying PostgreSQL without pause.
// Once the lease ends both events are delivered, in order.
func TestBotLaneWaitsForItsFirstEvent(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+botLanesTable+` (id, bot_id, payload, attempts, leased_until) VALUES
		('e1', 'b1', '{"roomId":"r1"}', 1, now() + interval '1500 milliseconds'), ('e2', 'b1', '{"roomId":"r2"}', 0, NULL)`); err != nil {
		t.Fatal(err)
	}
	sink := &orderedSink{}
	cfg := RouterConfig{}
	cfg.defaults()
	l := newBotLanes(pool, sink, nil, cfg)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	before := pool.Stat().AcquireCount()
	go func() { defer close(done); l.run(lctx) }()
	time.Sleep(time.Second) // the lease still holds e1
	if n := pool.Stat().AcquireCount() - before; n > 50 {
		t.Errorf("the lanes made %d queries in the second the bot's first event was leased, want a few", n)
	}
	if got := sink.got(); len(got) != 0 {
		t.Errorf("delivered %v while the bot's first event was leased", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(sink.got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	if got := sink.got(); len(got) != 2 || got[0] != "r1" || got[1] != "r2" {
		t.Errorf("delivered %v after the lease ended, want [r1 r2]", got)
	}
}
