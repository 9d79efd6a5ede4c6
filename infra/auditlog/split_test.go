package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
)

// TestAuditRefusedAppendIsSplit: with appends allowed past the log's 1 MiB limit, twelve ~200 KB
// records queued before the writer starts go out as one append, which the log refuses; the writer
// splits it and every record is stored, none dropped.
func TestAuditRefusedAppendIsSplit(t *testing.T) {
	_, c := eventlogtest.Start(t)
	w := newWriter(c, Config{BatchBytes: 64 << 20, Appenders: 1})
	big := `{"note":"` + strings.Repeat("a", audit.MaxMemberBytes-20) + `"}`
	ids := map[string]bool{}
	total := 0
	for i := 0; i < 12; i++ {
		r := audit.APICallRecorded{EventName: "CreateAccount", EventID: uuid.NewString(), RequestParameters: json.RawMessage(big), ResponseElements: json.RawMessage(big)}
		ids[r.EventID] = true
		w.RecordUnauthenticated(r)
		total += len(big) * 2
	}
	if total <= eventlog.MaxAppendSize || len(w.unauth) != 12 {
		t.Fatalf("queued %d records, %d bytes: the test needs one append past the limit", len(w.unauth), total)
	}
	w.start()
	w.Close()

	rs, err := c.ReadStream(context.Background(), w.appenders[0].stream, esdb.ReadStreamOptions{}, ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r audit.APICallRecorded
		if err := json.Unmarshal(ev.Event.Data, &r); err != nil {
			t.Fatal(err)
		}
		if len(ev.Event.Data) < 2*len(big) {
			t.Errorf("record %s was cut to %d bytes", r.EventID, len(ev.Event.Data))
		}
		delete(ids, r.EventID)
	}
	if len(ids) != 0 {
		t.Fatalf("%d records lost", len(ids))
	}
	if n := counterValue(t, w.splits); n == 0 {
		t.Fatal("no append was refused and split")
	}
	if n := counterValue(t, w.dropped.WithLabelValues(ReasonInvalidRecord)); n != 0 {
		t.Fatalf("%v records dropped as invalid", n)
	}
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
