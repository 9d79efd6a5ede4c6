package sideeffects_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/sideeffects"
)

// botSink delivers bot events: the bots in slow hold their delivery until released (or their
// context ends), as an endpoint that takes its 2 s three times over does.
type botSink struct {
	*sink
	slow    map[string]bool
	release chan struct{}
}

func (b botSink) DeliverBotEvent(ctx context.Context, ev sideeffects.BotEvent) error {
	if b.slow[ev.BotID] {
		b.mu.Lock()
		b.attempts["bot:"+ev.BotID+"/"+ev.RoomID]++
		b.mu.Unlock()
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.mu.Lock()
		b.done["bot:"+ev.BotID+"/"+ev.RoomID]++
		b.mu.Unlock()
		return nil
	}
	return b.handle(ctx, "bot:"+ev.BotID+"/"+ev.RoomID)
}

func startBotRouter(t *testing.T, pool *pgxpool.Pool, b botSink) *sideeffects.Router {
	t.Helper()
	r, err := sideeffects.NewRouter(pool, sideeffects.Handlers{Mailer: b.sink, Orders: b.sink, BotEvents: b},
		sideeffects.RouterConfig{MaxRetries: 2, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Running()
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestSlowBotDoesNotDelayOtherBots: one bot whose endpoint stalls must not delay the events of any
// other bot (each event of a stalling endpoint takes up to 3 × 2 s + 600 ms).
func TestSlowBotDoesNotDelayOtherBots(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	at := time.Now().UTC()
	for _, ev := range []struct{ room, bot string }{{"r1", "slow"}, {"r2", "slow"}, {"r3", "fast"}, {"r4", "fast"}} {
		appendEvent(t, c, room.StreamName(ev.room), room.TypeMemberAdded, room.MemberAdded{MemberID: ev.bot, MemberType: room.MemberBot, InvitedBy: "u@example.com", At: at})
	}
	startRelay(t, pool, c)
	b := botSink{sink: newSink(nil), slow: map[string]bool{"slow": true}, release: make(chan struct{})}
	startBotRouter(t, pool, b)
	defer close(b.release)
	eventually(t, "the fast bot's events while the slow one stalls", func() bool {
		_, done := b.snapshot()
		return done["bot:fast/r3"] == 1 && done["bot:fast/r4"] == 1
	})
	if attempts, _ := b.snapshot(); attempts["bot:slow/r2"] != 0 {
		t.Errorf("the slow bot's second event was sent before its first finished: %v", attempts)
	}
}

// TestBotEventInFlightIsRedeliveredAfterRestart: a bot event whose delivery had not finished when the
// router stopped is delivered by the next one, once.
func TestBotEventInFlightIsRedeliveredAfterRestart(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	startRelay(t, pool, c)
	appendEvent(t, c, room.StreamName("r1"), room.TypeMemberAdded, room.MemberAdded{MemberID: "b1", MemberType: room.MemberBot, InvitedBy: "u@example.com", At: time.Now().UTC()})
	first := botSink{sink: newSink(nil), slow: map[string]bool{"b1": true}, release: make(chan struct{})}
	r := startBotRouter(t, pool, first)
	eventually(t, "the first attempt", func() bool { a, _ := first.snapshot(); return a["bot:b1/r1"] == 1 })
	if err := r.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("close: %v", err)
	}
	second := botSink{sink: newSink(nil)}
	startBotRouter(t, pool, second)
	eventually(t, "the redelivery", func() bool { _, d := second.snapshot(); return d["bot:b1/r1"] == 1 })
	time.Sleep(300 * time.Millisecond)
	if _, d := second.snapshot(); d["bot:b1/r1"] != 1 {
		t.Errorf("delivered %d times after the restart", d["bot:b1/r1"])
	}
	if _, d := first.snapshot(); d["bot:b1/r1"] != 0 {
		t.Fatal("the first router finished a delivery it was stopped in")
	}
}

// TestFailingBotEventIsRetriedThenPoisoned: a bot event whose delivery keeps failing (the bot cannot
// be read) is tried 1+MaxRetries times with backoff, then parked on the poison topic; the bot's next
// event is delivered after it.
func TestFailingBotEventIsRetriedThenPoisoned(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	at := time.Now().UTC()
	appendEvent(t, c, room.StreamName("r1"), room.TypeMemberAdded, room.MemberAdded{MemberID: "b1", MemberType: room.MemberBot, InvitedBy: "u@example.com", At: at})
	appendEvent(t, c, room.StreamName("r2"), room.TypeMemberAdded, room.MemberAdded{MemberID: "b1", MemberType: room.MemberBot, InvitedBy: "u@example.com", At: at})
	startRelay(t, pool, c)
	b := botSink{sink: newSink(func(key string, _ int) bool { return key == "bot:b1/r1" })}
	startBotRouter(t, pool, b)
	eventually(t, "the poison message and the next event", func() bool {
		_, done := b.snapshot()
		return done["bot:b1/r2"] == 1 && count(t, pool, "watermill_"+sideeffects.TopicPoison) == 1
	})
	if attempts, _ := b.snapshot(); attempts["bot:b1/r1"] != 3 {
		t.Errorf("the failing event was attempted %d times, want 3", attempts["bot:b1/r1"])
	}
	var topic string
	if err := pool.QueryRow(context.Background(), `SELECT metadata->>'topic_poisoned' FROM "watermill_belfry_poison"`).Scan(&topic); err != nil || topic != sideeffects.TopicBotEvents {
		t.Errorf("the poison message's topic: %q (%v)", topic, err)
	}
}
