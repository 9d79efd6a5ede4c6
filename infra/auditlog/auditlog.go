// Package auditlog appends API-call records to the event store in batches (group commit).
//
// Two lanes feed one writer goroutine:
//
//   - The authenticated lane (Record, Queue) carries the records of calls whose SigV4 signature was
//     verified. Record blocks until the batch holding its record has been appended, so a call answered
//     after Record returned never lacks its record, even after kill -9 (the API does so for every call
//     but successful reads' records, which it Queues: it does not wait for their append). The lane holds
//     Config.BufferSize records; when it is full, Record and Queue wait (back-pressure, never a drop).
//   - The unauthenticated lane (RecordUnauthenticated) carries the records of unsigned calls and of
//     calls whose signature failed. It is a separate bounded lane that never blocks: it admits at most
//     Config.UnauthenticatedRate records a second (a token bucket with a burst of
//     Config.UnauthenticatedBuffer) and holds at most Config.UnauthenticatedBuffer records and
//     Config.UnauthenticatedBytes bytes; a record beyond any of these bounds is dropped. An appender
//     appends the authenticated records of a round first, in appends of their own, and then at most
//     unauthenticatedPerRound unauthenticated ones, so a flood of unauthenticated requests can neither
//     fill the authenticated lane nor make its records wait behind its own, and what it costs the event
//     log and the audit read model is bounded by the rate.
//
// Dropped records are counted in belfry_audit_records_dropped_total{reason} and, so that an auditor
// sees the gap in the record stream itself, in a summary record (EventName AuditRecordsDropped,
// EventType AwsServiceEvent, serviceEventDetails audit.ServiceEventDetails) appended at most every
// Config.SummaryInterval while drops occur, and on Close.
//
// Invariants: records go to the streams "audit.apicalls-<instance id>-<n>", one per appender
// (Config.Appenders), each owned by one goroutine of this process alone, so each append carries the
// exact expected revision; the appenders take records from the same lanes, so while one waits for its
// append another takes what queued meanwhile and the event log commits their appends together; an
// appender appends as soon as it is idle (no timer delays a record); each record is bounded by
// audit.Encode (at most audit.MaxRecordBytes) and each append carries at most Config.BatchBytes of
// records, below the event log's append limit; an append refused as invalid (InvalidArgument) is
// split in halves and retried, so only a record the log refuses on its own is dropped (reason
// "invalid_record"), never its batch-mates. Close appends everything queued.
package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/audit"
)

// Drop reasons, the values of the reason label.
const (
	ReasonUnauthenticatedLaneFull = "unauthenticated_lane_full"
	ReasonUnauthenticatedRate     = "unauthenticated_rate"
	ReasonInvalidRecord           = "invalid_record"
	ReasonAppendFailed            = "append_failed"
	ReasonClosed                  = "writer_closed"
	ReasonUnencodable             = "unencodable"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("auditlog: writer closed")

// unauthenticatedPerRound caps the unauthenticated records one round of the writer appends.
const unauthenticatedPerRound = 64

// maxRecordsPerAppend caps the records of one append.
const maxRecordsPerAppend = 500

// Config tunes the writer; zero fields take the defaults.
type Config struct {
	BufferSize            int           // authenticated lane, records; default 10000
	UnauthenticatedBuffer int           // unauthenticated lane, records; default 1000
	UnauthenticatedBytes  int           // unauthenticated lane, encoded bytes; default 8 MiB
	UnauthenticatedRate   float64       // unauthenticated records admitted per second; default 500
	BatchBytes            int           // encoded records per append; default 512 KiB (the log takes 1 MiB)
	SummaryInterval       time.Duration // how often drops are reported in the stream; default 10 s
	AppendTimeout         time.Duration // one append attempt; default 10 s
	AppendAttempts        int           // attempts of one append on transient errors; default 20
	Appenders             int           // appends in flight at once, each to a stream of its own; default 4
	Registerer            prometheus.Registerer
	Logger                *slog.Logger
}

func (c *Config) setDefaults() {
	if c.BufferSize <= 0 {
		c.BufferSize = 10000
	}
	if c.UnauthenticatedBuffer <= 0 {
		c.UnauthenticatedBuffer = 1000
	}
	if c.UnauthenticatedBytes <= 0 {
		c.UnauthenticatedBytes = 8 << 20
	}
	if c.UnauthenticatedRate <= 0 {
		c.UnauthenticatedRate = 500
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 512 << 10
	}
	if c.SummaryInterval <= 0 {
		c.SummaryInterval = 10 * time.Second
	}
	if c.AppendTimeout <= 0 {
		c.AppendTimeout = 10 * time.Second
	}
	if c.AppendAttempts <= 0 {
		c.AppendAttempts = 20
	}
	if c.Appenders <= 0 {
		c.Appenders = 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// pending is one encoded record on its way to the log.
type pending struct {
	id   uuid.UUID
	data []byte
	done chan error // nil for unauthenticated records: nobody waits
}

func (p pending) finish(err error) {
	if p.done != nil {
		p.done <- err
	}
}

// Writer batches audit records into the event store.
type Writer struct {
	client    *esdb.Client
	cfg       Config
	appenders []*appender
	running   sync.WaitGroup

	auth, unauth chan pending
	unauthBytes  atomic.Int64
	unauthRate   *bucket

	mu      sync.RWMutex // held for reading while a record is handed to a lane; Close takes it to stop them
	closed  bool
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once

	dropped  *prometheus.CounterVec
	appended prometheus.Counter
	splits   prometheus.Counter
	drops    dropWindow
}

// New starts a writer.
func New(client *esdb.Client, cfg Config) *Writer {
	w := newWriter(client, cfg)
	w.start()
	return w
}

// newWriter is a writer whose appenders are not started yet.
func newWriter(client *esdb.Client, cfg Config) *Writer {
	cfg.setDefaults()
	w := &Writer{client: client, cfg: cfg,
		auth: make(chan pending, cfg.BufferSize), unauth: make(chan pending, cfg.UnauthenticatedBuffer),
		quit: make(chan struct{}), stopped: make(chan struct{}),
		unauthRate: newBucket(cfg.UnauthenticatedRate, cfg.UnauthenticatedBuffer, time.Now()),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_audit_records_dropped_total",
			Help: "Audit records that were not stored, by reason."}, []string{"reason"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_audit_records_appended_total",
			Help: "Audit records appended to the event log."}),
		splits: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_audit_append_splits_total",
			Help: "Audit appends the event log refused as invalid, split in halves and retried."}),
	}
	w.drops.reset(time.Now())
	for _, r := range []string{ReasonUnauthenticatedLaneFull, ReasonUnauthenticatedRate, ReasonInvalidRecord, ReasonAppendFailed, ReasonClosed, ReasonUnencodable} {
		w.dropped.WithLabelValues(r)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(w.dropped, w.appended, w.splits)
	}
	instance := uuid.NewString()
	for i := range cfg.Appenders {
		w.appenders = append(w.appenders, &appender{w: w, first: i == 0, rev: -1,
			stream: fmt.Sprintf("%s%s-%d", audit.StreamPrefix, instance, i)})
	}
	return w
}

func (w *Writer) start() {
	for _, a := range w.appenders {
		w.running.Add(1)
		go func() { defer w.running.Done(); a.loop() }()
	}
}

// Streams are the streams this writer appends to, one per appender.
func (w *Writer) Streams() []string {
	out := make([]string, len(w.appenders))
	for i, a := range w.appenders {
		out[i] = a.stream
	}
	return out
}

// Record stores the record of an authenticated call and returns once it is durable in the event log,
// or with the error that kept it from being stored: ctx's (the record stays queued and is still
// stored), ErrClosed, or the log's (the record is dropped and counted).
func (w *Writer) Record(ctx context.Context, r audit.APICallRecorded) error {
	p, err := w.enqueue(ctx, r, make(chan error, 1))
	if err != nil {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("auditlog: record %s queued, not yet stored: %w", r.EventID, ctx.Err())
	}
}

// Queue puts the record of an authenticated call in the authenticated lane without waiting for it to
// be stored: it waits only while the lane is full, and the record is never dropped for load. The
// record is stored by the writer's next append, but a crash before then loses it.
func (w *Writer) Queue(ctx context.Context, r audit.APICallRecorded) error {
	_, err := w.enqueue(ctx, r, nil)
	return err
}

// enqueue puts a record in the authenticated lane, waiting while it is full.
func (w *Writer) enqueue(ctx context.Context, r audit.APICallRecorded, done chan error) (pending, error) {
	p, err := w.encode(r)
	if err != nil {
		return p, err
	}
	p.done = done
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.drop(ReasonClosed, 1)
		return p, ErrClosed
	}
	select {
	case w.auth <- p:
		return p, nil
	case <-ctx.Done():
		return p, fmt.Errorf("auditlog: record %s not queued: %w", r.EventID, ctx.Err())
	}
}

// RecordUnauthenticated queues the record of a call whose signature was not verified. It never
// blocks: when the unauthenticated lane is full the record is dropped and counted.
func (w *Writer) RecordUnauthenticated(r audit.APICallRecorded) {
	if len(w.unauth) >= cap(w.unauth) { // full: spare the encoding
		w.drop(ReasonUnauthenticatedLaneFull, 1)
		return
	}
	if !w.unauthRate.take(time.Now()) {
		w.drop(ReasonUnauthenticatedRate, 1)
		return
	}
	p, err := w.encode(r)
	if err != nil {
		return
	}
	n := int64(len(p.data))
	if w.unauthBytes.Add(n) > int64(w.cfg.UnauthenticatedBytes) {
		w.unauthBytes.Add(-n)
		w.drop(ReasonUnauthenticatedLaneFull, 1)
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.unauthBytes.Add(-n)
		w.drop(ReasonClosed, 1)
		return
	}
	select {
	case w.unauth <- p:
	default:
		w.unauthBytes.Add(-n)
		w.drop(ReasonUnauthenticatedLaneFull, 1)
	}
}

func (w *Writer) encode(r audit.APICallRecorded) (pending, error) {
	b, err := audit.Encode(r)
	if err != nil {
		w.drop(ReasonUnencodable, 1)
		w.cfg.Logger.Error("audit record could not be encoded", "event_id", r.EventID, "err", err)
		return pending{}, err
	}
	id, err := uuid.Parse(r.EventID)
	if err != nil || id == uuid.Nil {
		id = uuid.New()
	}
	return pending{id: id, data: b}, nil
}

// Close appends everything queued (and a last drop summary) and stops. Record then returns ErrClosed.
func (w *Writer) Close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
		w.running.Wait()
		if p, ok := w.summary(time.Now()); ok { // the appenders have stopped: the first one's stream is free
			w.appenders[0].write([]pending{p})
		}
		close(w.stopped)
	})
}

// drop counts n dropped records.
func (w *Writer) drop(reason string, n int) {
	w.dropped.WithLabelValues(reason).Add(float64(n))
	w.drops.add(reason, int64(n))
}

// DroppedCounter is the belfry_audit_records_dropped_total counter of one reason.
func (w *Writer) DroppedCounter(reason string) prometheus.Counter {
	return w.dropped.WithLabelValues(reason)
}

// bucket is a token bucket: rate tokens a second, at most burst held.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take spends a token if one is left.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
