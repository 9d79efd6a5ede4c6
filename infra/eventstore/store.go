package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/belfry/belfry/domain/envelope"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
)

// Connect opens a client for an esdb:// or kurrentdb:// connection string.
func Connect(url string) (*esdb.Client, error) {
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("eventstore: parse %q: %w", url, err)
	}
	conf.Logger = func(level esdb.LogLevel, format string, args ...interface{}) {}
	c, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("eventstore: connect: %w", err)
	}
	return c, nil
}

// ErrConcurrency is returned when a command kept losing the race for its stream.
var ErrConcurrency = &domain.Error{Kind: domain.KindConflict, Msg: "concurrent modification"}

// IsCode reports whether err is an esdb error with the given code.
func IsCode(err error, code esdb.ErrorCode) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == code
}

// Decider bundles the pure functions of one aggregate type.
type Decider[S any, C any, E any] struct {
	Initial func() S
	Evolve  func(S, E) S
	Decide  func(S, C, time.Time) ([]E, error)
	Decode  func(eventType string, data []byte) (E, error)
	Type    func(E) string
}

// DeciderOf builds the Decider of an aggregate from its pure functions; its events name their own type.
func DeciderOf[S, C any, E interface{ EventType() string }](initial func() S, evolve func(S, E) S,
	decide func(S, C, time.Time) ([]E, error), decode func(string, []byte) (E, error)) Decider[S, C, E] {
	return Decider[S, C, E]{Initial: initial, Evolve: evolve, Decide: decide, Decode: decode, Type: func(e E) string { return e.EventType() }}
}

// Result is what a command produced.
type Result[S any, E any] struct {
	State    S
	Events   []E
	Revision int64  // stream revision after the command; -1 when the stream does not exist
	Position uint64 // $all position of the last appended event; 0 when nothing was appended
}

// Repository runs commands for one aggregate type.
type Repository[S any, C any, E any] struct {
	client     *esdb.Client
	d          Decider[S, C, E]
	now        func() time.Time
	maxRetries int

	mu    sync.Mutex
	cache map[string]cached[S]
	keys  keyLock

	qmu    sync.Mutex
	queues map[string]*jobQueue[S, E]

	snaps *snapshotter[S] // nil: no snapshots
}

type cached[S any] struct {
	state    S
	revision int64
	lastID   uuid.UUID // id of the event at revision
	snapRev  int64     // revision of the stream's last snapshot known to this process; -1: none
	snapAt   time.Time // when this process took it (zero: it did not)
}

const maxCached = 100_000

// NewRepository returns a repository; now is the clock handed to Decide.
func NewRepository[S any, C any, E any](client *esdb.Client, d Decider[S, C, E], now func() time.Time) *Repository[S, C, E] {
	if now == nil {
		now = time.Now
	}
	return &Repository[S, C, E]{client: client, d: d, now: now, maxRetries: 8, cache: map[string]cached[S]{}}
}

// Load folds the stream and returns its state and revision (-1: no stream). Evolve may update
// reference fields of a state in place, so callers read only value fields of the returned state.
func (r *Repository[S, C, E]) Load(ctx context.Context, stream string) (S, int64, error) {
	unlock := r.keys.lock(stream)
	defer unlock()
	c, err := r.load(ctx, stream)
	return c.state, c.revision, err
}

// load brings the stream's state up to date: from the cache, else from its snapshot, else from its
// first event. The caller holds the stream's lock.
func (r *Repository[S, C, E]) load(ctx context.Context, stream string) (cached[S], error) {
	c, ok := r.cached(stream)
	var found bool
	var err error
	if ok {
		c, found, err = r.fold(ctx, stream, c, false)
	} else {
		c, found, err = r.loadCold(ctx, stream)
	}
	if err != nil {
		return c, err
	}
	if !found {
		// Never written, or deleted since it was cached: either way it folds from nothing.
		r.forget(stream)
		return c, nil
	}
	if r.snaps != nil {
		c = r.snaps.takeIfDue(stream, c)
	}
	r.remember(stream, c)
	return c, nil
}

// loadCold loads a stream with nothing cached: from its snapshot when it has a usable one (the events
// after it are read while it is fetched, when the store tells its head first, and while it decodes),
// else from its first event.
func (r *Repository[S, C, E]) loadCold(ctx context.Context, stream string) (cached[S], bool, error) {
	initial := cached[S]{state: r.d.Initial(), revision: -1, snapRev: -1}
	if r.snaps == nil {
		return r.fold(ctx, stream, initial, false)
	}
	ahead := int(min(max(r.snaps.cfg.Every+1, aheadEvents), maxAheadEvents))
	var tail <-chan tailEvent[E]
	var tailFrom cached[S]
	// The tail's read ends when the load does; stop ends it sooner, before a fold from the start.
	tailCtx, stop := context.WithCancel(ctx)
	defer stop()
	snap, ok := r.snaps.fetch(ctx, stream, func(h Snapshot) {
		tailFrom = cached[S]{revision: h.Revision, lastID: h.EventID}
		tail = r.readAhead(tailCtx, stream, tailFrom, true, ahead)
	})
	if !ok {
		stop()
		return r.fold(ctx, stream, initial, false)
	}
	c := cached[S]{revision: snap.Revision, lastID: snap.EventID, snapRev: snap.Revision}
	if tail == nil || tailFrom.revision != c.revision || tailFrom.lastID != c.lastID {
		// No head, or another snapshot was saved between the head and the data: read after this one.
		readCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop()
		tailCtx, stop = readCtx, cancel
		tail = r.readAhead(tailCtx, stream, c, true, ahead)
	}
	if c.state, ok = r.snaps.decode(stream, snap); !ok {
		stop()
		return r.fold(ctx, stream, initial, false)
	}
	c, found, err := r.foldEvents(tailCtx, c, tail)
	if errors.Is(err, errStaleSnapshot) {
		r.snaps.ignored.Add(1)
		return r.fold(ctx, stream, initial, false)
	}
	if err == nil && found {
		r.snaps.used.Add(1)
	}
	return c, found, err
}

// fold reads the stream after c's revision and folds it into c's state; false when the stream does
// not exist. With verify (c comes from a snapshot), the read starts at c's revision, whose event must
// be c's last event, else the snapshot is stale (errStaleSnapshot).
func (r *Repository[S, C, E]) fold(ctx context.Context, stream string, c cached[S], verify bool) (cached[S], bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return r.foldEvents(ctx, c, r.readAhead(ctx, stream, c, verify, aheadEvents))
}

// aheadEvents bounds the events read and decoded ahead of their fold. A load from a snapshot reads
// up to its snapshot distance ahead (at most maxAheadEvents): the whole tail of a snapshot taken on
// time is read and decoded while the snapshot decodes, instead of stopping after 256 events until the
// fold begins (which left three quarters of a 999-event tail to be read after the decode).
const (
	aheadEvents    = 256
	maxAheadEvents = 4096
)

// tailEvent is an event read and decoded ahead of its fold, or the end of the read: err is io.EOF at
// the stream's end, errNoStream, errStaleSnapshot, or what failed.
type tailEvent[E any] struct {
	num uint64
	id  uuid.UUID
	e   E
	err error
}

// errNoStream reports a stream that does not exist.
var errNoStream = errors.New("eventstore: no such stream")

// readAhead reads the stream as fold describes it on a goroutine of its own, decoding each event, so
// that reading and decoding overlap with whatever the caller does meanwhile (decoding a snapshot,
// evolving the state). The channel's last item ends the read; the goroutine ends with ctx. The
// read is work in flight on the client (lifetime.go): it fails with ErrClosing once the client
// closes.
func (r *Repository[S, C, E]) readAhead(ctx context.Context, stream string, c cached[S], verify bool, ahead int) <-chan tailEvent[E] {
	out := make(chan tailEvent[E], ahead)
	send := func(t tailEvent[E]) bool {
		select {
		case out <- t:
			return t.err == nil
		case <-ctx.Done():
			return false
		}
	}
	release, ok := acquire(r.client)
	if !ok {
		out <- tailEvent[E]{err: ErrClosing}
		close(out)
		return out
	}
	var from esdb.StreamPosition = esdb.Start{}
	if verify {
		from = esdb.Revision(uint64(c.revision))
	} else if c.revision >= 0 {
		from = esdb.Revision(uint64(c.revision + 1))
	}
	go func() {
		defer release()
		defer close(out)
		rs, err := r.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: from}, ^uint64(0))
		if err != nil {
			send(tailEvent[E]{err: logError("read "+short(stream), err)})
			return
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			switch {
			case errors.Is(err, io.EOF) && verify: // the stream ends before the snapshot's last event
				send(tailEvent[E]{err: errStaleSnapshot})
				return
			case errors.Is(err, io.EOF):
				send(tailEvent[E]{err: io.EOF})
				return
			case IsCode(err, esdb.ErrorCodeResourceNotFound):
				send(tailEvent[E]{err: errNoStream})
				return
			case err != nil:
				send(tailEvent[E]{err: logError("read "+short(stream), err)})
				return
			case verify:
				if int64(ev.Event.EventNumber) != c.revision || ev.Event.EventID != c.lastID {
					send(tailEvent[E]{err: errStaleSnapshot})
					return
				}
				verify = false
				continue
			}
			e, err := r.d.Decode(ev.Event.EventType, ev.Event.Data)
			if !send(tailEvent[E]{num: ev.Event.EventNumber, id: ev.Event.EventID, e: e, err: err}) {
				return
			}
		}
	}()
	return out
}

// foldEvents folds what readAhead sends into c until the read ends.
func (r *Repository[S, C, E]) foldEvents(ctx context.Context, c cached[S], events <-chan tailEvent[E]) (cached[S], bool, error) {
	for t := range events {
		switch {
		case errors.Is(t.err, io.EOF):
			return c, true, nil
		case errors.Is(t.err, errNoStream):
			return cached[S]{state: r.d.Initial(), revision: -1, snapRev: -1}, false, nil
		case t.err != nil:
			return c, false, t.err
		}
		c.state = r.d.Evolve(c.state, t.e)
		c.revision, c.lastID = int64(t.num), t.id
	}
	return c, false, fmt.Errorf("eventstore: read interrupted: %w", context.Cause(ctx))
}

func (r *Repository[S, C, E]) cached(stream string) (cached[S], bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cache[stream]
	return c, ok
}

// Peek returns the cached state of a stream without reading it, or loads it when it is not cached.
// Use it only for facts that never change once set (such as an owner id); decisions go through Execute.
func (r *Repository[S, C, E]) Peek(ctx context.Context, stream string) (S, error) {
	unlock := r.keys.lock(stream)
	defer unlock()
	if c, ok := r.cached(stream); ok {
		return c.state, nil
	}
	c, err := r.load(ctx, stream)
	return c.state, err
}

// Inspect runs fn on a stream's state under the stream's lock: with latest, the stream read up to
// its end; else the cached state when there is one (no I/O), which may be older than the stream
// (another process may have appended). Use it to refuse early what a decision would refuse anyway,
// never instead of the decision. fn only reads the state and keeps no reference into it (Evolve
// updates maps of a state in place).
func (r *Repository[S, C, E]) Inspect(ctx context.Context, stream string, latest bool, fn func(S) error) error {
	unlock := r.keys.lock(stream)
	defer unlock()
	c, ok := r.cached(stream)
	if latest || !ok {
		var err error
		if c, err = r.load(ctx, stream); err != nil {
			return err
		}
	}
	return fn(c.state)
}

func (r *Repository[S, C, E]) forget(stream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cache, stream)
}

func (r *Repository[S, C, E]) remember(stream string, c cached[S]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		clear(r.cache)
	}
	r.cache[stream] = c
}

// Execute runs cmd against stream: load, decide, append with the expected revision, retry on conflict.
// Commands on one stream from this process run one at a time; conflicts with other processes are
// retried after a short jittered backoff.
func (r *Repository[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (Result[S, E], error) {
	return r.ExecuteFunc(ctx, stream, func(s S, now time.Time) ([]E, error) { return r.d.Decide(s, cmd, now) })
}

// ExecuteFunc is Execute with a decision function of the caller's (e.g. one that also collects
// per-item errors of a batch); decide may run more than once when the stream changed concurrently.
//
// Commands on one stream are coalesced: while one group is being appended, later commands queue; the
// next group decides them one after the other on the evolving state (so each sees the effect of the
// ones before it, exactly as if they had run in sequence) and appends all their events in one append
// with the expected revision — one round trip and one WAL flush for the group.
//
// When ctx ends first, ExecuteFunc waits for a decision of the command under way and returns
// ctx.Err(); decide never runs after that. A command not decided yet is dropped from its group, but
// one decided already (its events in the group's append under way, or decided on the cached state
// for the next append) may still be appended: ctx.Err() does not say the command took no effect.
func (r *Repository[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (Result[S, E], error) {
	j := &job[S, E]{decide: decide, env: envelope.From(ctx), done: make(chan jobResult[S, E], 1)}
	r.qmu.Lock()
	if r.queues == nil {
		r.queues = map[string]*jobQueue[S, E]{}
	}
	q := r.queues[stream]
	if q == nil {
		q = &jobQueue[S, E]{}
		r.queues[stream] = q
	}
	q.jobs = append(q.jobs, j)
	lead := !q.leading
	q.leading = true
	r.qmu.Unlock()
	if lead {
		r.lead(stream, q)
	}
	select {
	case out := <-j.done:
		return out.res, out.err
	case <-ctx.Done():
		j.abandon()
		return Result[S, E]{}, ctx.Err()
	}
}

// maxGroup bounds the commands of one group (and so one append's size).
const maxGroup = 32

type job[S any, E any] struct {
	decide func(S, time.Time) ([]E, error)
	env    envelope.Envelope
	done   chan jobResult[S, E]
	events []E
	err    error
	pre    []E // the decision made on the cached state, when the group is that lone command

	// mu is held while decide runs; abandoned is set under it when the caller gives up. A caller
	// that gives up so waits for a decision under way and is never decided for afterwards: decide
	// (typically a closure writing the caller's variables) never runs once ExecuteFunc returned.
	mu        sync.Mutex
	abandoned bool
}

// errAbandoned answers, inside the group, a command whose caller has already gone.
var errAbandoned = errors.New("eventstore: the caller gave up before its command was decided")

// run decides the job on state unless its caller gave up.
func (j *job[S, E]) run(state S, now time.Time) ([]E, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.abandoned {
		return nil, errAbandoned
	}
	return j.decide(state, now)
}

// abandon marks the job given up, after any decision under way.
func (j *job[S, E]) abandon() {
	j.mu.Lock()
	j.abandoned = true
	j.mu.Unlock()
}

type jobResult[S any, E any] struct {
	res Result[S, E]
	err error
}

type jobQueue[S any, E any] struct {
	jobs    []*job[S, E]
	leading bool
}

// lead runs one group, then hands the queue to a new goroutine if more commands wait, so that the
// caller that led gets its answer without serving everyone after it.
func (r *Repository[S, C, E]) lead(stream string, q *jobQueue[S, E]) {
	r.qmu.Lock()
	jobs := q.jobs
	if len(jobs) > maxGroup {
		jobs, q.jobs = jobs[:maxGroup], jobs[maxGroup:]
	} else {
		q.jobs = nil
	}
	r.qmu.Unlock()
	if done, ok := acquire(r.client); ok {
		r.runGroup(stream, jobs)
		done()
	} else {
		for _, j := range jobs {
			j.done <- jobResult[S, E]{err: ErrClosing}
		}
	}
	r.qmu.Lock()
	more := len(q.jobs) > 0
	if !more {
		q.leading = false
		delete(r.queues, stream)
	}
	r.qmu.Unlock()
	if more {
		go r.lead(stream, q)
	}
}

func (r *Repository[S, C, E]) runGroup(stream string, jobs []*job[S, E]) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	unlock := r.keys.lock(stream)
	defer unlock()
	answered := false
	fail := func(err error) {
		answered = true
		for _, j := range jobs {
			j.done <- jobResult[S, E]{err: err}
		}
	}
	// A panicking decision must not wedge the stream: every command of the group gets an error, the
	// cached state (possibly half-evolved) is dropped, and the queue moves on.
	defer func() {
		if p := recover(); p != nil {
			r.forget(stream)
			if !answered {
				fail(fmt.Errorf("eventstore: a command on %s panicked: %v", stream, p))
			}
		}
	}()
	for attempt := 0; ; attempt++ {
		now := r.now()
		c, err := r.startingState(ctx, stream, jobs, attempt, now)
		if err != nil {
			fail(err)
			return
		}
		state, data := r.decideGroup(jobs, c.state, now)
		if len(data) == 0 {
			answered = true
			for _, j := range jobs {
				j.done <- jobResult[S, E]{res: Result[S, E]{State: state, Revision: c.revision}, err: j.err}
			}
			return
		}
		var expect esdb.ExpectedRevision = esdb.NoStream{}
		if c.revision >= 0 {
			expect = esdb.Revision(uint64(c.revision))
		}
		wr, err := r.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, data...)
		if err != nil {
			r.forget(stream)
		}
		if IsCode(err, esdb.ErrorCodeWrongExpectedVersion) {
			if attempt+1 >= r.maxRetries {
				fail(domain.Wrapf(ErrConcurrency, "%s was changed concurrently %d times; try again", stream, attempt+1))
				return
			}
			time.Sleep(time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond)
			continue
		}
		if err != nil {
			fail(logError("append to "+short(stream), err))
			return
		}
		answered = true
		r.answerGroup(stream, jobs, c, state, data, wr)
		return
	}
}

// startingState is the state a group decides on. A lone command on a cached stream is decided
// without reading (its decision is kept on the job): if it appends, the expected revision proves the
// cache current. A refusal or a no-op proves nothing, so it is decided again on the freshly read
// stream (nothing was evolved yet, so the cache is untouched).
func (r *Repository[S, C, E]) startingState(ctx context.Context, stream string, jobs []*job[S, E], attempt int, now time.Time) (cached[S], error) {
	c, cachedOK := r.cached(stream)
	if attempt == 0 && cachedOK && len(jobs) == 1 {
		pre, err := jobs[0].run(c.state, now)
		if err == nil && len(pre) > 0 {
			jobs[0].pre = pre
			return c, nil
		}
	}
	jobs[0].pre = nil
	return r.load(ctx, stream)
}

// decideGroup decides the group's commands one after the other on the evolving state and encodes
// their events with their envelopes.
func (r *Repository[S, C, E]) decideGroup(jobs []*job[S, E], state S, now time.Time) (S, []esdb.EventData) {
	var data []esdb.EventData
	for _, j := range jobs {
		if j.pre != nil {
			j.events, j.err, j.pre = j.pre, nil, nil
		} else {
			j.events, j.err = j.run(state, now)
		}
		if j.err != nil {
			j.events = nil
			continue
		}
		for _, e := range j.events {
			body, err := json.Marshal(e)
			if err != nil {
				j.events, j.err = nil, fmt.Errorf("eventstore: encode %s: %w", r.d.Type(e), err)
				break
			}
			id := uuid.New()
			meta := j.env
			meta.EventID, meta.OccurredAt, meta.SchemaVersion = id.String(), now.UTC(), envelope.SchemaVersion
			mb, _ := json.Marshal(meta)
			data = append(data, esdb.EventData{EventID: id, EventType: r.d.Type(e), ContentType: esdb.ContentTypeJson, Data: body, Metadata: mb})
		}
		// Later commands of the group decide on the state these events make. Evolve may update
		// the cached state in place: a failed append drops it from the cache.
		for _, e := range j.events {
			state = r.d.Evolve(state, e)
		}
	}
	return state, data
}

// answerGroup caches the state after a successful append, answers every command of the group, and
// then (still under the stream's lock) takes a snapshot when one is due.
func (r *Repository[S, C, E]) answerGroup(stream string, jobs []*job[S, E], c cached[S], state S, data []esdb.EventData, wr *esdb.WriteResult) {
	// The log says which revision the append ended at (a recreated stream continues the numbering
	// of its deleted events, so rev+len(data) would be wrong after a delete).
	newRev := int64(wr.NextExpectedVersion)
	next := cached[S]{state: state, revision: newRev, lastID: data[len(data)-1].EventID, snapRev: c.snapRev, snapAt: c.snapAt}
	r.remember(stream, next)
	for _, j := range jobs {
		res := Result[S, E]{State: state, Revision: newRev}
		if len(j.events) > 0 {
			res.Events, res.Position = j.events, wr.CommitPosition
		}
		j.done <- jobResult[S, E]{res: res, err: j.err}
	}
	if r.snaps != nil {
		r.remember(stream, r.snaps.takeIfDue(stream, next))
	}
}

// Reserve claims a unique value by creating stream with one event (expected revision NoStream);
// it reports false when another claim created the stream first.
func Reserve(ctx context.Context, client *esdb.Client, stream, eventType string, data any) (bool, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return false, err
	}
	env := envelope.From(ctx)
	id := uuid.New()
	env.EventID, env.OccurredAt, env.SchemaVersion = id.String(), time.Now().UTC(), envelope.SchemaVersion
	mb, _ := json.Marshal(env)
	_, err = client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}},
		esdb.EventData{EventID: id, EventType: eventType, ContentType: esdb.ContentTypeJson, Data: b, Metadata: mb})
	if IsCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return false, nil
	}
	if err != nil {
		return false, logError("reserve "+short(stream), err)
	}
	return true, nil
}
