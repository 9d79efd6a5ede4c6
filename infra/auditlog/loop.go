package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/belfry/belfry/domain/audit"
)

// appender appends to a stream of its own; the writer's appenders take records from the same lanes, so
// while one waits for its append the next takes what queued meanwhile, and the event log commits
// their appends together.
type appender struct {
	w      *Writer
	first  bool // the first appender also appends the periodic drop summaries
	stream string
	rev    int64 // owned by the appender's loop (and by Close once the loop has stopped)
}

// loop waits for a record, takes whatever else is queued, appends it, and starts over; it never waits
// for a timer with records queued.
func (a *appender) loop() {
	w := a.w
	var tick <-chan time.Time
	if a.first {
		t := time.NewTicker(w.cfg.SummaryInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		var auth, unauth []pending
		select {
		case p := <-w.auth:
			auth = append(auth, p)
		case p := <-w.unauth:
			unauth = append(unauth, w.took(p))
		case <-tick:
			if p, ok := w.summary(time.Now()); ok {
				auth = append(auth, p)
			}
		case <-w.quit: // Record and Queue no longer queue: append what is left
			a.write(w.collect(w.auth, nil, -1))
			a.write(w.collect(w.unauth, nil, -1))
			return
		}
		auth = w.collect(w.auth, auth, maxRecordsPerAppend*4)
		a.write(auth) // the waiting callers first, in appends of their own
		a.write(w.collect(w.unauth, unauth, unauthenticatedPerRound))
	}
}

// took accounts for a record taken from the unauthenticated lane.
func (w *Writer) took(p pending) pending {
	w.unauthBytes.Add(-int64(len(p.data)))
	return p
}

// collect adds to batch records that lane holds, without waiting, until batch holds limit (negative:
// no limit).
func (w *Writer) collect(lane chan pending, batch []pending, limit int) []pending {
	for n := len(batch); limit < 0 || n < limit; n++ {
		select {
		case p := <-lane:
			if lane == w.unauth {
				p = w.took(p)
			}
			batch = append(batch, p)
			continue
		default:
		}
		break
	}
	return batch
}

// write appends batch in chunks of at most BatchBytes and maxRecordsPerAppend records.
func (a *appender) write(batch []pending) {
	for len(batch) > 0 {
		n, size := 0, 0
		for n < len(batch) && n < maxRecordsPerAppend && (n == 0 || size+len(batch[n].data) <= a.w.cfg.BatchBytes) {
			size += len(batch[n].data)
			n++
		}
		a.appendChunk(batch[:n])
		batch = batch[n:]
	}
}

// appendChunk appends chunk; when the log refuses it as invalid it appends the halves, so that only a
// record refused on its own is dropped.
func (a *appender) appendChunk(chunk []pending) {
	w := a.w
	err := a.appendWithRetry(chunk)
	switch {
	case err == nil:
		w.appended.Add(float64(len(chunk)))
		for _, p := range chunk {
			p.finish(nil)
		}
		return
	case isInvalid(err) && len(chunk) > 1:
		w.splits.Inc()
		a.appendChunk(chunk[:len(chunk)/2])
		a.appendChunk(chunk[len(chunk)/2:])
		return
	case isInvalid(err):
		w.drop(ReasonInvalidRecord, 1)
		w.cfg.Logger.Error("audit record refused by the event log; dropped", "event_id", chunk[0].id, "bytes", len(chunk[0].data), "err", err)
	default:
		w.drop(ReasonAppendFailed, len(chunk))
		w.cfg.Logger.Error("audit records could not be stored; dropped", "records", len(chunk), "err", err)
	}
	for _, p := range chunk {
		p.finish(err)
	}
}

// appendWithRetry appends chunk at the appender's revision, retrying transient failures. Retries carry
// the same event ids, so an attempt that timed out after it was stored is not stored twice.
func (a *appender) appendWithRetry(chunk []pending) error {
	w := a.w
	evs := make([]esdb.EventData, len(chunk))
	for i, p := range chunk {
		evs[i] = esdb.EventData{EventID: p.id, EventType: audit.TypeAPICallRecorded, ContentType: esdb.ContentTypeJson, Data: p.data}
	}
	var err error
	for attempt := 0; attempt < w.cfg.AppendAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(50*attempt) * time.Millisecond)
		}
		var expect esdb.ExpectedRevision = esdb.NoStream{}
		if a.rev >= 0 {
			expect = esdb.Revision(uint64(a.rev))
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.AppendTimeout)
		var res *esdb.WriteResult
		res, err = w.client.AppendToStream(ctx, a.stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, evs...)
		cancel()
		if err == nil {
			a.rev = int64(res.NextExpectedVersion)
			return nil
		}
		if isInvalid(err) {
			return err
		}
		w.cfg.Logger.Warn("audit append failed; retrying", "records", len(evs), "attempt", attempt+1, "err", err)
	}
	return fmt.Errorf("auditlog: append of %d records failed %d times: %w", len(evs), w.cfg.AppendAttempts, err)
}

// isInvalid reports an append the log refused as malformed or too large: retrying the same request
// cannot succeed. The log answers InvalidArgument; when it does so before the client has sent the
// whole request, EventStore-Client-Go reports only the EOF its next send met, not the status.
func isInvalid(err error) bool {
	var st interface{ GRPCStatus() *status.Status }
	return errors.As(err, &st) && st.GRPCStatus().Code() == codes.InvalidArgument || errors.Is(err, io.EOF)
}

// summary returns the AuditRecordsDropped record for the drops since the last one, if there were any.
func (w *Writer) summary(now time.Time) (pending, bool) {
	d, ok := w.drops.take(now)
	if !ok {
		return pending{}, false
	}
	w.cfg.Logger.Warn("audit records dropped", "records", d.Dropped, "by_reason", d.ByReason, "since", d.WindowStart)
	id := uuid.New()
	rec := audit.APICallRecorded{
		EventVersion: "1.08", EventTime: now.UTC(), EventSource: "belfry.local", EventName: audit.EventNameRecordsDropped,
		EventType: "AwsServiceEvent", ReadOnly: true, UserIdentity: audit.UserIdentity{Type: "AWSService"},
		RequestID: id.String(), EventID: id.String(), ServiceEventDetails: &d,
	}
	b, err := audit.Encode(rec)
	if err != nil { // cannot happen: every member is the writer's own
		w.cfg.Logger.Error("audit drop summary could not be encoded", "err", err)
		return pending{}, false
	}
	return pending{id: id, data: b}, true
}

// dropWindow counts drops since the last summary.
type dropWindow struct {
	mu       sync.Mutex
	since    time.Time
	total    int64
	byReason map[string]int64
}

func (d *dropWindow) reset(now time.Time) { d.since, d.total, d.byReason = now, 0, map[string]int64{} }

func (d *dropWindow) add(reason string, n int64) {
	d.mu.Lock()
	d.total += n
	d.byReason[reason] += n
	d.mu.Unlock()
}

// take returns the window's drops and starts a new window, or false when nothing was dropped.
func (d *dropWindow) take(now time.Time) (audit.ServiceEventDetails, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.total == 0 {
		d.since = now
		return audit.ServiceEventDetails{}, false
	}
	out := audit.ServiceEventDetails{WindowStart: d.since.UTC(), WindowEnd: now.UTC(), Dropped: d.total, ByReason: d.byReason}
	d.reset(now)
	return out, true
}
