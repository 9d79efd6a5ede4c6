package auditlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func record(name string) audit.APICallRecorded {
	return audit.APICallRecorded{EventVersion: "1.08", EventTime: time.Now().UTC(), EventSource: "chime.amazonaws.com",
		EventName: name, EventID: uuid.NewString(), RequestID: uuid.NewString(), EventType: "AwsApiCall",
		RequestParameters: json.RawMessage(`{"name":"x"}`), ResponseElements: json.RawMessage("null")}
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

type stored struct {
	rec  audit.APICallRecorded
	size int
}

// readStreams returns every record the writer's streams hold, by event id.
func readStreams(t *testing.T, c *esdb.Client, w *auditlog.Writer) map[string]stored {
	t.Helper()
	out := map[string]stored{}
	for _, s := range w.Streams() {
		readStream(t, c, s, out)
	}
	return out
}

func readStream(t *testing.T, c *esdb.Client, stream string, out map[string]stored) {
	t.Helper()
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, ^uint64(0))
	var nf *esdb.Error
	if errors.As(err, &nf) && nf.Code() == esdb.ErrorCodeResourceNotFound {
		return // an appender that appended nothing
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if errors.As(err, &nf) && nf.Code() == esdb.ErrorCodeResourceNotFound {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var r audit.APICallRecorded
		if err := json.Unmarshal(ev.Event.Data, &r); err != nil {
			t.Fatal(err)
		}
		out[r.EventID] = stored{rec: r, size: len(ev.Event.Data)}
	}
}

// TestAuditRecordIsStoredWhenRecordReturns: Record returns only once its record can be read back.
func TestAuditRecordIsStoredWhenRecordReturns(t *testing.T) {
	_, c := eventlogtest.Start(t)
	w := auditlog.New(c, auditlog.Config{})
	defer w.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				r := record("CreateUser")
				if err := w.Record(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
				if _, ok := readStreams(t, c, w)[r.EventID]; !ok {
					t.Errorf("Record returned before record %s was stored", r.EventID)
				}
			}
		}()
	}
	wg.Wait()
}

// TestAuditOversizedRecordIsBoundedAndSparesItsBatch: a 1 MB unauthenticated body of '<' (6 MB as
// escaped JSON) is recorded bounded, beside the records queued with it, all of which are stored.
func TestAuditOversizedRecordIsBoundedAndSparesItsBatch(t *testing.T) {
	_, c := eventlogtest.Start(t)
	w := auditlog.New(c, auditlog.Config{})
	huge := record("CreateAccount")
	huge.RequestParameters = json.RawMessage(`{"name":"` + strings.Repeat("<", 1<<20) + `"}`)
	huge.UserAgent = strings.Repeat("é", 5000)
	var ids []string
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		r := record("CreateUser")
		ids = append(ids, r.EventID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Record(context.Background(), r); err != nil {
				t.Error(err)
			}
		}()
	}
	w.RecordUnauthenticated(huge)
	wg.Wait()
	w.Close()
	got := readStreams(t, c, w)
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Errorf("record %s lost beside the oversized one", id)
		}
	}
	h, ok := got[huge.EventID]
	if !ok {
		t.Fatal("the oversized record was not stored at all")
	}
	if h.size > audit.MaxRecordBytes || string(h.rec.RequestParameters) != "null" || len(h.rec.UserAgent) > audit.MaxStringBytes {
		t.Fatalf("oversized record stored as %d bytes: params %.40s, user agent %d bytes", h.size, h.rec.RequestParameters, len(h.rec.UserAgent))
	}
	if d := h.rec.AdditionalEventData; d == nil || len(d.Truncated) != 2 || d.Truncated[0].Member != "requestParameters" ||
		d.Truncated[0].Bytes != len(huge.RequestParameters) || d.Truncated[1].Member != "userAgent" {
		t.Fatalf("additionalEventData does not say what was left out: %+v", d)
	}
}

// TestAuditUnauthenticatedFloodDropsAndReportsTheGap: a flood of unauthenticated records overflows
// their small lane (16 records, 100 a second); authenticated records are all stored; what was dropped is counted in the metric
// and in an AuditRecordsDropped record.
func TestAuditUnauthenticatedFloodDropsAndReportsTheGap(t *testing.T) {
	_, c := eventlogtest.Start(t)
	reg := prometheus.NewRegistry()
	w := auditlog.New(c, auditlog.Config{UnauthenticatedBuffer: 16, UnauthenticatedRate: 100, Registerer: reg})
	var ids []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // the flood: never blocks, whatever the lane holds
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := record("CreateAccount")
				r.UserIdentity.Type = "Unknown"
				w.RecordUnauthenticated(r)
			}
		}()
	}
	for i := 0; i < 50; i++ {
		r := record("CreateUser")
		ids = append(ids, r.EventID)
		if err := w.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	dropped := func() float64 {
		return value(t, w.DroppedCounter(auditlog.ReasonUnauthenticatedLaneFull)) + value(t, w.DroppedCounter(auditlog.ReasonUnauthenticatedRate))
	}
	for dropped() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	w.Close()
	got := readStreams(t, c, w)
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Errorf("authenticated record %s lost in the flood", id)
		}
	}
	var reported int64
	for _, s := range got {
		if s.rec.EventName == audit.EventNameRecordsDropped {
			d := s.rec.ServiceEventDetails
			if d == nil || d.Dropped != d.ByReason[auditlog.ReasonUnauthenticatedLaneFull]+d.ByReason[auditlog.ReasonUnauthenticatedRate] ||
				!d.WindowEnd.After(d.WindowStart) {
				t.Fatalf("summary record: %+v", d)
			}
			reported += d.Dropped
		}
	}
	if reported != int64(dropped()) {
		t.Fatalf("the stream reports %d dropped records, the metric %v", reported, dropped())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "belfry_audit_records_dropped_total"
	}
	if !found {
		t.Fatal("belfry_audit_records_dropped_total is not registered")
	}
}

// TestAuditQueuedRecordsAreStoredByClose: Queue does not wait, and Close stores what it queued.
func TestAuditQueuedRecordsAreStoredByClose(t *testing.T) {
	_, c := eventlogtest.Start(t)
	w := auditlog.New(c, auditlog.Config{})
	var ids []string
	for range 50 {
		r := record("GetAccount")
		ids = append(ids, r.EventID)
		if err := w.Queue(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got := readStreams(t, c, w)
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Errorf("queued record %s lost", id)
		}
	}
}

// TestAuditRecordAfterCloseFails: a closed writer refuses records rather than lose them silently.
func TestAuditRecordAfterCloseFails(t *testing.T) {
	_, c := eventlogtest.Start(t)
	w := auditlog.New(c, auditlog.Config{})
	w.Close()
	if err := w.Record(context.Background(), record("CreateUser")); !errors.Is(err, auditlog.ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
}
