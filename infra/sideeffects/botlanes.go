package sideeffects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Bot events do not wait in line behind one another. The watermill topic is consumed one message
// at a time, and a bot endpoint may take its 2 s three times over for each event (guide §11.2.4): on
// the topic's handler one slow or hostile endpoint would delay every other bot's events. So the
// handler only records the event in botLanesTable (created by migration 0029) (idempotently, keyed by the message id) and acks
// it; each bot with events due gets a goroutine of its own that delivers them in order. A recorded
// event stays until its delivery returns (delivered, or dropped as the guide says), or until it
// failed MaxRetries+1 times with backoff and was parked on the poison topic: a restart redelivers
// what was in flight, and a delivered event is kept (marked done) for botLanesKeep, so that the
// redelivery of a message whose ack was lost records nothing again.
const (
	botLanesTable = "sideeffects_bot_events"
	botLanesKeep  = time.Hour
	// botLease is how long a delivery holds its event: past it (a crashed process) the event is
	// delivered again. It outlasts any delivery (three attempts of 2 s and the reply URL's command).
	botLease = time.Minute
	// botLanesIdle is the longest the lanes sleep without being woken: an idle server looks for
	// events due (another process's lease that expired) and drops the old done ones this often.
	// Otherwise they sleep until the next event is due (a retry's backoff, a lease's end).
	botLanesIdle = 30 * time.Second
)

// botLanes delivers the recorded bot events, one goroutine per bot.
type botLanes struct {
	pool   *pgxpool.Pool
	h      BotEventDeliverer
	poison message.Publisher
	cfg    RouterConfig
	wake   chan struct{}

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func newBotLanes(pool *pgxpool.Pool, h BotEventDeliverer, poison message.Publisher, cfg RouterConfig) *botLanes {
	return &botLanes{pool: pool, h: h, poison: poison, cfg: cfg, wake: make(chan struct{}, 1), running: map[string]bool{}}
}

// record is the topic's handler: the event is recorded for its bot's lane, and acked.
func (l *botLanes) record(msg *message.Message) error {
	var be BotEvent
	if err := json.Unmarshal(msg.Payload, &be); err != nil {
		return fmt.Errorf("sideeffects: bad bot event message %s: %w", msg.UUID, err)
	}
	_, err := l.pool.Exec(msg.Context(), `INSERT INTO `+botLanesTable+` (id, bot_id, payload, correlation_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, msg.UUID, be.BotID, []byte(msg.Payload), middleware.MessageCorrelationID(msg))
	if err != nil {
		return fmt.Errorf("sideeffects: record bot event %s: %w", msg.UUID, err)
	}
	l.wakeUp()
	return nil
}

// run starts a lane for every bot whose first event is due (botHeads), when woken (an event
// recorded, a lane ended) and when the next event falls due, until ctx ends; then it waits for the
// lanes. Every change of an event's due time or lease is made by a lane, which wakes run when it
// ends, so the next due time run sleeps until is never stale.
func (l *botLanes) run(ctx context.Context) {
	defer l.wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		l.dispatch(ctx)
		timer.Reset(l.nextDue(ctx))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-l.wake:
		}
	}
}

// botHeads are the bots' first events not done: the only ones a lane may deliver (a bot's events go
// in order), so the only ones whose due time and lease decide when a bot has something to deliver. A
// later event that is due while its bot's first one waits (a retry's backoff, another delivery's
// lease) starts no lane: that lane would claim nothing, end, wake run, and start again at once.
const botHeads = `(SELECT DISTINCT ON (bot_id) bot_id, due, leased_until FROM ` + botLanesTable + `
	WHERE done IS NULL ORDER BY bot_id, seq) AS head`

// nextDue is how long until the next bot's first event not done falls due and is free of any lease
// (at most botLanesIdle; a moment when it cannot be read).
func (l *botLanes) nextDue(ctx context.Context) time.Duration {
	var ms *float64
	err := l.pool.QueryRow(ctx, `SELECT extract(epoch FROM min(greatest(due, coalesce(leased_until, due))) - now()) * 1000
		FROM `+botHeads).Scan(&ms)
	switch {
	case err != nil:
		return time.Second
	case ms == nil:
		return botLanesIdle
	}
	return min(max(time.Duration(*ms*float64(time.Millisecond)), 10*time.Millisecond), botLanesIdle)
}

func (l *botLanes) wakeUp() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *botLanes) dispatch(ctx context.Context) {
	_, _ = l.pool.Exec(ctx, `DELETE FROM `+botLanesTable+` WHERE done < now() - $1 * interval '1 millisecond'`, botLanesKeep.Milliseconds())
	rows, _ := l.pool.Query(ctx, `SELECT bot_id FROM `+botHeads+`
		WHERE due <= now() AND (leased_until IS NULL OR leased_until < now())`)
	bots, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		if ctx.Err() == nil {
			l.cfg.Logger.Warn("sideeffects: bot events due", "err", err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, bot := range bots {
		if !l.running[bot] {
			l.running[bot] = true
			l.wg.Add(1)
			go l.lane(ctx, bot)
		}
	}
}

// botRow is a recorded bot event claimed for a delivery.
type botRow struct {
	seq      int64
	id, corr string
	payload  []byte
	attempts int
}

// lane delivers a bot's events in order until none is due.
func (l *botLanes) lane(ctx context.Context, bot string) {
	defer func() {
		l.mu.Lock()
		delete(l.running, bot)
		l.mu.Unlock()
		l.wakeUp() // its next event's due time changed: run looks again
		l.wg.Done()
	}()
	for ctx.Err() == nil {
		var r botRow
		// The bot's first event not done, if it is due and no delivery holds it: never a later one
		// before it.
		err := l.pool.QueryRow(ctx, `UPDATE `+botLanesTable+` SET leased_until = now() + $2 * interval '1 millisecond', attempts = attempts + 1
			WHERE seq = (SELECT seq FROM `+botLanesTable+` WHERE bot_id = $1 AND done IS NULL ORDER BY seq LIMIT 1)
			AND due <= now() AND (leased_until IS NULL OR leased_until < now())
			RETURNING seq, id, payload, correlation_id, attempts`, bot, botLease.Milliseconds()).
			Scan(&r.seq, &r.id, &r.payload, &r.corr, &r.attempts)
		if err != nil {
			if !errors.Is(err, pgx.ErrNoRows) && ctx.Err() == nil {
				l.cfg.Logger.Warn("sideeffects: claim a bot event", "bot", bot, "err", err)
			}
			return
		}
		l.deliver(ctx, r)
	}
}

// deliver delivers one claimed event and records the outcome.
func (l *botLanes) deliver(ctx context.Context, r botRow) {
	err := l.call(ctx, r)
	if ctx.Err() != nil { // stopping: the event is delivered again by the next run
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_, _ = l.pool.Exec(rctx, `UPDATE `+botLanesTable+` SET leased_until = NULL, attempts = attempts - 1 WHERE seq = $1`, r.seq)
		return
	}
	var q string
	var args []any
	switch {
	case err == nil:
		q = `UPDATE ` + botLanesTable + ` SET done = now(), leased_until = NULL WHERE seq = $1`
	case r.attempts > l.cfg.MaxRetries && l.park(ctx, r, err) == nil:
		q = `UPDATE ` + botLanesTable + ` SET done = now(), leased_until = NULL WHERE seq = $1`
	default:
		wait := min(l.cfg.RetryInterval<<min(r.attempts-1, 16), 5*time.Second)
		l.cfg.Logger.Warn("sideeffects: bot event delivery failed; retrying", "id", r.id, "attempt", r.attempts, "wait", wait, "err", err)
		q, args = `UPDATE `+botLanesTable+` SET due = now() + $2 * interval '1 millisecond', leased_until = NULL WHERE seq = $1`, []any{wait.Milliseconds()}
	}
	if _, err := l.pool.Exec(ctx, q, append([]any{r.seq}, args...)...); err != nil && ctx.Err() == nil {
		l.cfg.Logger.Warn("sideeffects: record a bot event's delivery", "id", r.id, "err", err)
	}
}

// call runs the deliverer on one event (a panic is a failure).
func (l *botLanes) call(ctx context.Context, r botRow) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sideeffects: bot event %s: panic: %v", r.id, p)
		}
	}()
	var be BotEvent
	if err := json.Unmarshal(r.payload, &be); err != nil {
		return fmt.Errorf("sideeffects: bad bot event %s: %w", r.id, err)
	}
	dctx, cancel := context.WithTimeout(ctx, botLease-10*time.Second) // done before another takes it
	defer cancel()
	return l.h.DeliverBotEvent(dctx, be)
}

// park puts an event that kept failing on the poison topic, as the router's middleware does (an
// error: it stays, and is tried again after the backoff).
func (l *botLanes) park(ctx context.Context, r botRow, cause error) error {
	msg := message.NewMessage(r.id, r.payload)
	middleware.SetCorrelationID(r.corr, msg)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, cause.Error())
	msg.Metadata.Set(middleware.PoisonedTopicKey, TopicBotEvents)
	msg.Metadata.Set(middleware.PoisonedHandlerKey, HandlerBotEvent)
	msg.SetContext(ctx)
	if err := l.poison.Publish(TopicPoison, msg); err != nil {
		l.cfg.Logger.Error("sideeffects: park a bot event on the poison topic", "id", r.id, "err", err)
		return fmt.Errorf("sideeffects: park bot event %s: %w", r.id, err)
	}
	l.cfg.Logger.Warn("sideeffects: bot event parked on the poison topic", slog.String("id", r.id), slog.Any("err", cause))
	return nil
}
