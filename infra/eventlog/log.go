package eventlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/migrations"
)

// lockKey is the advisory-lock key that admits one writer per database.
const lockKey = 0x62656c66727931 // "belfry1"

// LogConfig tunes the writer.
type LogConfig struct {
	// MaxBatchRequests bounds how many write requests one commit carries (default 2000).
	MaxBatchRequests int
	// MaxBatchBytes bounds the payload of one commit (default 16 MiB).
	MaxBatchBytes int
	// RingSize is how many recent records stay in memory for live subscribers (default 16384), and
	// RingBytes how many bytes of them at most (default 16 MiB; the newest record always stays): a
	// subscriber further behind reads from PostgreSQL. Both bound the heap the collector walks.
	RingSize  int
	RingBytes int
	// Now is the clock for Created stamps and $maxAge (default time.Now). A group is never stamped
	// before the last group stored, so Created stamps grow with positions even when it steps back.
	Now func() time.Time
	// Metrics, when set, receives the writer's figures.
	Metrics *Metrics
	// SigningKey, when set, signs a checkpoint of the chain every CheckpointEvery (default 10 s) while
	// the log grows, and when it closes (see package chain).
	SigningKey      ed25519.PrivateKey
	CheckpointEvery time.Duration
	// Logger receives the writer's notices (default slog.Default()).
	Logger *slog.Logger
}

func (c *LogConfig) setDefaults() {
	if c.MaxBatchRequests <= 0 {
		c.MaxBatchRequests = 2000
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 16 << 20
	}
	if c.RingSize <= 0 {
		c.RingSize = 16384
	}
	if c.RingBytes <= 0 {
		c.RingBytes = 16 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Log is the single-writer event log over Postgres.
type Log struct {
	cfg      LogConfig
	pool     *pgxpool.Pool
	lockConn *pgxpool.Conn
	storeID  uuid.UUID

	// Whoever holds the writer's turn (see writeQueue) decides and commits: the writer goroutine, or,
	// when the log is idle, the goroutine submitting a request, which then commits it itself (two
	// goroutine hand-offs fewer for a lone append). The turn passes under the queue's mutex, so the
	// writer-owned fields below are only ever used by one goroutine at a time.
	q    writeQueue
	stop chan struct{}
	done chan struct{}

	// writer-owned: requests carried to the next group, stream states keyed by base stream name
	carry  []*writeReq
	states map[string]*streamState
	// writer-owned: the created stamp of the last group decided; a group is never stamped before
	// it, so that created stamps grow with positions even when the clock steps back (PositionAt)
	lastCreated int64

	mu      sync.RWMutex
	head    uint64
	changed chan struct{}
	ring    []Record // ring[(pos-1) % len] holds position pos for pos in [ringLo, head]; other slots are zero
	ringLo  uint64
	// ringBytes is the size (recordSize) of the records in [ringLo, head].
	ringBytes int
	closed    bool

	copyBuf []byte // writer-owned: the COPY data of the group being committed

	chain *chainer
	heads heads // see heads.go
}

// streamState is what the writer knows of a stream and its metadata stream.
type streamState struct {
	last       int64 // last revision of the stream, -1 none
	tombstoned bool
	metaLast   int64 // last revision of "$$name", -1 none
	meta       streamMeta
	metaRaw    map[string]any
	recent     *recentAppend // the last append committed by this writer; nil: unknown
}

// deleted reports whether a soft delete hides every event of the stream.
func (s *streamState) deleted() bool {
	return s.last >= 0 && s.meta.TruncateBefore > s.last
}

type opKind int

const (
	opAppend opKind = iota
	opDelete
	opTombstone
)

type writeReq struct {
	op     opKind
	stream string
	expect Expect
	events []Proposed
	size   int
	reply  chan writeReply
}

type writeReply struct {
	res WriteResult
	err error
}

// Open migrates the schema, takes the writer lock and starts the writer.
func Open(ctx context.Context, pool *pgxpool.Pool, cfg LogConfig) (*Log, error) {
	cfg.setDefaults()
	lockConn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventlog: acquire lock connection: %w", err)
	}
	var ok bool
	if err := lockConn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(lockKey)).Scan(&ok); err != nil {
		lockConn.Release()
		return nil, fmt.Errorf("eventlog: advisory lock: %w", err)
	}
	if !ok {
		lockConn.Release()
		return nil, ErrLocked
	}
	if _, err := migrations.Apply(ctx, pool); err != nil {
		lockConn.Release()
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	storeID, err := StoreID(ctx, pool)
	if err != nil {
		lockConn.Release()
		return nil, err
	}
	l := &Log{
		cfg:      cfg,
		pool:     pool,
		lockConn: lockConn,
		storeID:  storeID,
		q:        writeQueue{slots: make(chan struct{}, maxQueued), kick: make(chan struct{}, 1)},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		states:   map[string]*streamState{},
		changed:  make(chan struct{}),
		ring:     make([]Record, cfg.RingSize),
	}
	if err := l.reloadHead(ctx); err != nil {
		lockConn.Release()
		return nil, err
	}
	l.chain = &chainer{pool: pool, log: cfg.Logger, key: cfg.SigningKey, storeID: storeID, every: cfg.CheckpointEvery}
	if err := l.chain.load(ctx); err != nil {
		lockConn.Release()
		return nil, err
	}
	go l.writer()
	if cfg.SigningKey != nil {
		l.chain.done = make(chan struct{})
		go l.chain.run(l.done)
	}
	return l, nil
}

func (l *Log) reloadHead(ctx context.Context) error {
	var head, created int64
	err := l.pool.QueryRow(ctx, "SELECT position, created FROM eventlog.events ORDER BY position DESC LIMIT 1").Scan(&head, &created)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("eventlog: read head: %w", err)
	}
	l.lastCreated = max(l.lastCreated, created)
	l.mu.Lock()
	l.head = uint64(head)
	l.ringLo = uint64(head) + 1 // nothing in memory yet
	clear(l.ring)
	l.ringBytes = 0
	l.mu.Unlock()
	return nil
}

// Close stops the writer (pending requests fail with ErrClosed) and releases the lock.
func (l *Log) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.changed)
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	if l.chain.done != nil {
		<-l.chain.done // the last checkpoint is signed while the lock is still held
	}
	// Unlock explicitly: the connection goes back to the pool, not to the server.
	_, _ = l.lockConn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(lockKey))
	l.lockConn.Release()
}

// StoreID is the identity of the store, generated into the database on its first migration.
func (l *Log) StoreID() uuid.UUID { return l.storeID }

// Head returns the position of the last committed event (0 when the log is empty) and a channel that
// is closed when the head moves or the log closes.
func (l *Log) Head() (uint64, <-chan struct{}) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.head, l.changed
}

// Closed reports whether Close was called.
func (l *Log) Closed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// Append appends events to a stream if the expected revision holds.
func (l *Log) Append(ctx context.Context, stream string, expect Expect, events []Proposed) (WriteResult, error) {
	if err := checkAppend(stream, events); err != nil {
		return WriteResult{}, err
	}
	size := 0
	for i := range events {
		size += eventSize(&events[i])
	}
	if size > MaxAppendSize {
		return WriteResult{}, ErrAppendTooLarge
	}
	return l.submit(ctx, &writeReq{op: opAppend, stream: stream, expect: expect, events: events, size: size})
}

// Delete soft-deletes a stream.
func (l *Log) Delete(ctx context.Context, stream string, expect Expect) (WriteResult, error) {
	if err := checkDeletable(stream); err != nil {
		return WriteResult{}, err
	}
	return l.submit(ctx, &writeReq{op: opDelete, stream: stream, expect: expect})
}

// Tombstone hard-deletes a stream for ever.
func (l *Log) Tombstone(ctx context.Context, stream string, expect Expect) (WriteResult, error) {
	if err := checkDeletable(stream); err != nil {
		return WriteResult{}, err
	}
	return l.submit(ctx, &writeReq{op: opTombstone, stream: stream, expect: expect})
}

// maxQueued bounds the requests waiting for the writer; more submitters wait to queue.
const maxQueued = 4096

func (l *Log) submit(ctx context.Context, r *writeReq) (WriteResult, error) {
	r.reply = make(chan writeReply, 1)
	q := &l.q
	select {
	case q.slots <- struct{}{}:
	case <-l.stop:
		return WriteResult{}, ErrClosed
	case <-ctx.Done():
		return WriteResult{}, ctx.Err()
	}
	q.mu.Lock()
	switch {
	case q.stopped:
		q.mu.Unlock()
		<-q.slots
		return WriteResult{}, ErrClosed
	case !q.leading && len(q.reqs) == 0:
		q.leading = true
		q.inline.Add(1)
		q.mu.Unlock()
		<-q.slots
		l.commitInline(r)
	default:
		q.reqs = append(q.reqs, r)
		if !q.leading {
			q.leading = true
			q.kick <- struct{}{} // never blocks: only the goroutine taking the turn sends
		}
		q.mu.Unlock()
	}
	// Once queued, the outcome is decided by the writer. A caller whose ctx ends first gets ctx.Err()
	// while the write may still commit (a retry with the same event ids is an idempotent retry).
	select {
	case rep := <-r.reply:
		return rep.res, rep.err
	case <-l.done:
		// The writer has exited; whatever it answered is already in the buffered reply channel.
		select {
		case rep := <-r.reply:
			return rep.res, rep.err
		default:
			return WriteResult{}, ErrClosed
		}
	case <-ctx.Done():
		return WriteResult{}, ctx.Err()
	}
}

// commitInline commits r, alone, on the submitting goroutine, which holds the writer's turn; it then
// hands the turn to the writer goroutine if requests arrived meanwhile.
func (l *Log) commitInline(r *writeReq) {
	q := &l.q
	defer q.inline.Done()
	l.process([]*writeReq{r}) // one request: nothing to carry
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.reqs) > 0 && !q.stopped {
		q.kick <- struct{}{}
		return
	}
	q.leading = false // when stopped, the writer goroutine fails what is queued
}

// writer commits the queued requests, group by group, whenever it is handed the turn.
func (l *Log) writer() {
	defer close(l.done)
	for {
		select {
		case <-l.q.kick:
		case <-l.stop:
			l.q.shutdown(l.carry)
			return
		}
		for {
			batch := l.q.take(l.carry, l.cfg.MaxBatchRequests, l.cfg.MaxBatchBytes)
			if batch == nil {
				break // the turn is given up
			}
			l.carry = l.process(batch)
			select {
			case <-l.stop:
				l.q.shutdown(l.carry)
				return
			default:
			}
		}
		l.carry = nil
	}
}

// writeQueue holds the requests waiting for the writer and the writer's turn.
type writeQueue struct {
	mu      sync.Mutex
	reqs    []*writeReq
	leading bool // some goroutine holds the writer's turn
	stopped bool
	slots   chan struct{}  // one per queued request: bounds the queue
	kick    chan struct{}  // hands the turn to the writer goroutine
	inline  sync.WaitGroup // commits running on submitting goroutines
}

// take returns the next group, the carried requests first, at most maxReqs requests and (about)
// maxBytes of payload, or nil, giving up the turn, when there is none.
func (q *writeQueue) take(carry []*writeReq, maxReqs, maxBytes int) []*writeReq {
	batch := carry
	size := 0
	for _, r := range batch {
		size += r.size
	}
	q.mu.Lock()
	n := 0
	for n < len(q.reqs) && len(batch) < maxReqs && size < maxBytes {
		batch = append(batch, q.reqs[n])
		size += q.reqs[n].size
		n++
	}
	q.reqs = append(q.reqs[:0], q.reqs[n:]...)
	if len(batch) == 0 {
		q.leading = false
	}
	q.mu.Unlock()
	for range n {
		<-q.slots
	}
	if len(batch) == 0 {
		return nil
	}
	return batch
}

// shutdown fails every request not yet committed (carry and the queue) with ErrClosed, once an
// inline commit in progress has finished.
func (q *writeQueue) shutdown(carry []*writeReq) {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.inline.Wait()
	q.mu.Lock()
	pending := append(carry, q.reqs...)
	q.reqs = nil
	q.mu.Unlock()
	for _, r := range pending {
		r.reply <- writeReply{err: ErrClosed}
	}
}

// process decides and commits one group. Requests touching a stream already in the group are carried
// to the next group, so each group touches each stream once and decisions never see uncommitted rows.
func (l *Log) process(batch []*writeReq) (carry []*writeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	touched := make(map[string]bool, len(batch))
	run := batch[:0:0]
	for _, r := range batch {
		k := baseStream(r.stream)
		if touched[k] {
			carry = append(carry, r)
			continue
		}
		touched[k] = true
		run = append(run, r)
	}
	if err := l.loadStates(ctx, run); err != nil {
		if rowFault(err) {
			l.isolate(run, err)
			return carry
		}
		for _, r := range run {
			r.reply <- writeReply{err: err}
		}
		return carry
	}
	rows, ok := l.decideRun(ctx, run)
	if len(rows) == 0 {
		for _, p := range ok {
			p.r.reply <- writeReply{res: p.res}
		}
		return carry
	}
	l.commit(ctx, rows, ok, len(run))
	return carry
}

// decided is a request whose records are in the group, with its result and the state update to
// apply once they are committed.
type decided struct {
	r     *writeReq
	res   WriteResult
	apply func()
}

// decideRun decides each request of a run on its stream's state, answering refusals and idempotent
// retries at once; it returns the group's records and the requests they belong to.
func (l *Log) decideRun(ctx context.Context, run []*writeReq) ([]Record, []decided) {
	l.mu.RLock()
	next := l.head + 1
	l.mu.RUnlock()
	now := max(toTicks(l.cfg.Now()), l.lastCreated) // never before the group before it
	l.lastCreated = now
	var rows []Record
	var ok []decided
	for _, r := range run {
		st := l.states[baseStream(r.stream)]
		recs, res, apply, err := l.decide(ctx, r, st, next, now)
		if errors.Is(err, errIdempotentRetry) {
			r.reply <- writeReply{res: res}
			continue
		}
		if err != nil {
			r.reply <- writeReply{err: err}
			continue
		}
		next += uint64(len(recs))
		rows = append(rows, recs...)
		ok = append(ok, decided{r: r, res: res, apply: apply})
	}
	return rows, ok
}

// commit chains and stores a group's records in one statement, then applies, publishes and answers.
func (l *Log) commit(ctx context.Context, rows []Record, ok []decided, requests int) {
	started := time.Now()
	fail := func(err error) {
		for _, p := range ok {
			p.r.reply <- writeReply{err: err}
		}
	}
	if err := l.chain.reloadIfStale(ctx); err != nil {
		fail(err)
		return
	}
	newChain := l.chain.rows(rows)
	if err := l.insert(ctx, rows); err != nil {
		if rowFault(err) {
			reqs := make([]*writeReq, len(ok))
			for i, p := range ok {
				reqs[i] = p.r
			}
			l.isolate(reqs, err)
			return
		}
		// The commit may or may not have happened: forget cached state and re-read the head.
		l.states = map[string]*streamState{}
		l.heads.forget()
		_ = l.reloadHead(context.Background())
		l.chain.stale = true // reloaded before the next group is chained
		fail(fmt.Errorf("eventlog: commit: %w", err))
		return
	}
	l.chain.advance(rows[len(rows)-1].Position, newChain)
	for _, p := range ok {
		p.apply()
	}
	if m := l.cfg.Metrics; m != nil {
		m.Commits.Inc()
		m.Events.Add(float64(len(rows)))
		m.Requests.Add(float64(requests))
		m.GroupRequests.Observe(float64(requests))
		m.CommitSeconds.Observe(time.Since(started).Seconds())
	}
	l.heads.apply(headUpdates(l.states, rows))
	l.publish(rows)
	for _, p := range ok {
		p.r.reply <- writeReply{res: p.res}
	}
}

// decide checks one request against the stream state and returns the records to write, the result,
// and a function that updates the cached state once the records are committed.
func (l *Log) decide(ctx context.Context, r *writeReq, st *streamState, next uint64, now int64) ([]Record, WriteResult, func(), error) {
	target := st
	if isMetaStream(r.stream) {
		// Appends to "$$name" are checked against the metadata stream's own revision.
		target = &streamState{last: st.metaLast}
	}
	if target.tombstoned {
		return nil, WriteResult{}, nil, &StreamDeletedError{Stream: r.stream}
	}
	current := target.last
	exists := current >= 0 && !target.deleted()
	var okExpect bool
	switch r.expect.Kind {
	case ExpectAny:
		okExpect = true
	case ExpectNoStream:
		okExpect = !exists
	case ExpectStreamExists:
		okExpect = exists
	case ExpectExact:
		okExpect = current == int64(r.expect.Revision)
	}
	if !okExpect {
		if r.op == opAppend {
			if res, hit := l.idempotent(ctx, r, current); hit {
				return nil, res, nil, errIdempotentRetry
			}
		}
		return nil, WriteResult{}, nil, &WrongExpectedVersionError{Stream: r.stream, Expected: r.expect, Current: current}
	}
	if r.op == opAppend && (r.expect.Kind == ExpectAny || r.expect.Kind == ExpectStreamExists) && exists {
		// A metadata stream's target has no recent append: its stored tail answers.
		if res, hit := l.repeatsLast(ctx, r, target); hit {
			return nil, res, nil, errIdempotentRetry
		}
	}
	switch r.op {
	case opDelete:
		return softDelete(r, st, current, next, now)
	case opTombstone:
		rec := Record{Position: next, Stream: r.stream, Revision: TombstoneRevision, EventID: uuid.New(),
			Type: "$streamDeleted", ContentType: "application/octet-stream", Created: now, Data: []byte{}, Metadata: []byte{}}
		apply := func() { st.tombstoned = true }
		return []Record{rec}, WriteResult{Revision: TombstoneRevision, Position: next}, apply, nil
	}
	if len(r.events) == 0 {
		return nil, WriteResult{Revision: current, Position: 0}, nil, errIdempotentRetry
	}
	recs := make([]Record, len(r.events))
	for i, e := range r.events {
		recs[i] = Record{Position: next + uint64(i), Stream: r.stream, Revision: uint64(current + 1 + int64(i)),
			EventID: e.EventID, Type: e.Type, ContentType: e.ContentType, Created: now, Data: e.Data, Metadata: e.Metadata}
	}
	last := current + int64(len(recs))
	res := WriteResult{Revision: last, Position: recs[len(recs)-1].Position}
	var apply func()
	if isMetaStream(r.stream) {
		data := recs[len(recs)-1].Data
		apply = func() {
			st.metaLast = last
			st.meta, st.metaRaw = parseMeta(data)
		}
	} else {
		apply = func() { st.last, st.recent = last, newRecentAppend(r.events, res.Position) }
	}
	return recs, res, apply, nil
}

// softDelete writes {"$tb": current+1} (keeping the other metadata keys) to the metadata stream. A
// stream without events (current -1) gets {"$tb": 0}, which hides nothing: as in KurrentDB, deleting
// it succeeds with Any or NoStream and leaves it writable from revision 0.
func softDelete(r *writeReq, st *streamState, current int64, next uint64, now int64) ([]Record, WriteResult, func(), error) {
	raw := map[string]any{}
	for k, v := range st.metaRaw {
		raw[k] = v
	}
	raw["$tb"] = current + 1
	data, _ := jsonMarshal(raw)
	rec := Record{Position: next, Stream: "$$" + r.stream, Revision: uint64(st.metaLast + 1), EventID: uuid.New(),
		Type: "$metadata", ContentType: "application/json", Created: now, Data: data, Metadata: []byte{}}
	apply := func() {
		st.metaLast++
		st.meta, st.metaRaw = parseMeta(data)
	}
	return []Record{rec}, WriteResult{Revision: current, Position: next}, apply, nil
}

// idempotent reports whether the request's events are already stored where the expected revision
// says they go; then the request is a retry of a committed write and answers the same success.
func (l *Log) idempotent(ctx context.Context, r *writeReq, current int64) (WriteResult, bool) {
	var first int64
	switch r.expect.Kind {
	case ExpectNoStream:
		first = 0
	case ExpectExact:
		first = int64(r.expect.Revision) + 1
	default:
		return WriteResult{}, false
	}
	n := int64(len(r.events))
	if n == 0 || first+n-1 > current {
		return WriteResult{}, false
	}
	rows, err := l.pool.Query(ctx, `SELECT revision, event_id, position FROM eventlog.events
		WHERE stream = $1 AND revision BETWEEN $2 AND $3 ORDER BY revision`, r.stream, first, first+n-1)
	if err != nil {
		return WriteResult{}, false
	}
	defer rows.Close()
	i := 0
	var res WriteResult
	for rows.Next() {
		var rev int64
		var id [16]byte
		var pos int64
		if err := rows.Scan(&rev, &id, &pos); err != nil || i >= len(r.events) || id != r.events[i].EventID {
			return WriteResult{}, false
		}
		res = WriteResult{Revision: rev, Position: uint64(pos)}
		i++
	}
	return res, rows.Err() == nil && i == len(r.events)
}

// loadStates fills the writer's cache for the streams of a group in one query.
func (l *Log) loadStates(ctx context.Context, run []*writeReq) error {
	var names []string
	for _, r := range run {
		k := baseStream(r.stream)
		if _, ok := l.states[k]; !ok {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if len(l.states) > 1_000_000 {
		l.states = map[string]*streamState{}
	}
	rows, err := l.pool.Query(ctx, `
		SELECT s,
		  (SELECT revision FROM eventlog.events WHERE stream = s ORDER BY revision DESC LIMIT 1),
		  (SELECT revision FROM eventlog.events WHERE stream = '$$' || s ORDER BY revision DESC LIMIT 1),
		  (SELECT data FROM eventlog.events WHERE stream = '$$' || s ORDER BY revision DESC LIMIT 1)
		FROM unnest($1::text[]) AS s`, names)
	if err != nil {
		return fmt.Errorf("eventlog: load stream states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var last, metaLast *int64
		var meta []byte
		if err := rows.Scan(&name, &last, &metaLast, &meta); err != nil {
			return fmt.Errorf("eventlog: load stream states: %w", err)
		}
		st := &streamState{last: -1, metaLast: -1}
		if last != nil {
			st.last = *last
			if *last == TombstoneRevision {
				st.tombstoned = true
			}
		}
		if metaLast != nil {
			st.metaLast = *metaLast
		}
		st.meta, st.metaRaw = parseMeta(meta)
		l.states[name] = st
	}
	return rows.Err()
}

// recordSize is what a record in the ring holds on to, roughly: its fixed part and its bytes (zero
// for a zero slot).
func recordSize(r *Record) int {
	if r.Position == 0 {
		return 0
	}
	return int(unsafe.Sizeof(*r)) + len(r.Stream) + len(r.Type) + len(r.ContentType) + len(r.Data) + len(r.Metadata)
}

// publish makes committed rows visible to readers and wakes subscribers.
func (l *Log) publish(rows []Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := uint64(len(l.ring))
	for _, r := range rows {
		slot := &l.ring[(r.Position-1)%size]
		l.ringBytes += recordSize(&r) - recordSize(slot) // a zero slot, or the record r replaces
		*slot = r
	}
	l.head = rows[len(rows)-1].Position
	if l.head-l.ringLo+1 > size {
		l.ringLo = l.head - size + 1
	}
	for l.ringBytes > l.cfg.RingBytes && l.ringLo < l.head {
		slot := &l.ring[(l.ringLo-1)%size]
		l.ringBytes -= recordSize(slot)
		*slot = Record{} // let the collector have it
		l.ringLo++
	}
	if !l.closed {
		close(l.changed)
		l.changed = make(chan struct{})
	}
}
