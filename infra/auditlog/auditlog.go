// Package auditlog appends API-call records to the event store in batches.
//
// Invariants: records go to the stream "audit.apicalls-<instance id>" owned by this process alone, so
// each batch is appended with the exact expected revision; Record never blocks a request (the buffer
// holds BufferSize records; when full, Record waits rather than drop). Close flushes everything.
package auditlog

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/audit"
)

// Config tunes the writer.
type Config struct {
	FlushInterval time.Duration // default 10 ms
	BufferSize    int           // default 10000
	Logger        *slog.Logger
}

// Writer batches audit records into the event store.
type Writer struct {
	client *esdb.Client
	cfg    Config
	stream string
	rev    int64
	in     chan audit.APICallRecorded
	done   chan struct{}
	once   sync.Once
}

// New starts a writer.
func New(client *esdb.Client, cfg Config) *Writer {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 10 * time.Millisecond
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 10000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Writer{client: client, cfg: cfg, stream: audit.StreamPrefix + uuid.NewString(), rev: -1,
		in: make(chan audit.APICallRecorded, cfg.BufferSize), done: make(chan struct{})}
	go w.loop()
	return w
}

// Record queues one record.
func (w *Writer) Record(r audit.APICallRecorded) { w.in <- r }

// Close flushes queued records and stops.
func (w *Writer) Close() {
	w.once.Do(func() {
		close(w.in)
		<-w.done
	})
}

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.cfg.FlushInterval)
	defer t.Stop()
	var batch []audit.APICallRecorded
	for {
		select {
		case r, ok := <-w.in:
			if !ok {
				w.flush(batch)
				return
			}
			batch = append(batch, r)
			if len(batch) >= 500 {
				w.flush(batch)
				batch = nil
			}
		case <-t.C:
			if len(batch) > 0 {
				w.flush(batch)
				batch = nil
			}
		}
	}
}

func (w *Writer) flush(batch []audit.APICallRecorded) {
	if len(batch) == 0 {
		return
	}
	evs := make([]esdb.EventData, len(batch))
	for i, r := range batch {
		b, _ := json.Marshal(r)
		id, err := uuid.Parse(r.EventID)
		if err != nil {
			id = uuid.New()
		}
		evs[i] = esdb.EventData{EventID: id, EventType: audit.TypeAPICallRecorded, ContentType: esdb.ContentTypeJson, Data: b}
	}
	for attempt := 0; attempt < 20; attempt++ {
		var expect esdb.ExpectedRevision = esdb.NoStream{}
		if w.rev >= 0 {
			expect = esdb.Revision(uint64(w.rev))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := w.client.AppendToStream(ctx, w.stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, evs...)
		cancel()
		if err == nil {
			// Retries with the same event ids are idempotent, so a timed-out append is never doubled.
			w.rev += int64(len(evs))
			return
		}
		w.cfg.Logger.Warn("audit append failed; retrying", "records", len(evs), "err", err)
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	w.cfg.Logger.Error("audit records could not be stored", "records", len(evs))
}
