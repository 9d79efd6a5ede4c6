package usagereports_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usagereports"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections/chimeusage"
	"github.com/belfry/belfry/projections/projectiontest"
)

// emitRaw appends an event of type typ whose data its type's decoder refuses.
func (w *world) emitRaw(t *testing.T, stream, typ, data string) {
	t.Helper()
	ev := esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(data)}
	if _, err := w.client.AppendToStream(w.ctx, stream, esdb.AppendToStreamOptions{}, ev); err != nil {
		t.Fatal(err)
	}
}

// TestAnUndecodableEventFailsOnlyItsOwnReport: one chat event that does not decode counts for
// nothing (as the usage read model parks it) and holds back no report; an account whose own stream
// holds an event that does not decode is not written (the error names it) while the others are
// written and recorded, and the next round retries only it.
func TestAnUndecodableEventFailsOnlyItsOwnReport(t *testing.T) {
	w := newWorld(t)
	bucket := &flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}
	svc := w.service(targets{bucket})
	w.seedWeek(t, "acme-usage")
	const broken = "0c1f2e3d-4b5a-4968-8776-655443322110"
	w.emit(t, account.StreamName(broken),
		account.Created{AccountID: broken, AwsAccountID: awsID, Name: "Broken", AccountType: "EnterpriseLWA", CreatedAt: at(1, 8, 0)})
	w.emitRaw(t, account.StreamName(broken), account.TypeRenamed, `{"name": 7}`)
	w.emitRaw(t, conversation.StreamName("c-bad"), conversation.TypeMessagePosted, `{"messageId": "x", "at": "yesterday"}`)
	w.set(at(16, 1, 0))

	st, err := svc.Job().Round(w.ctx)
	if err == nil || !strings.Contains(err.Error(), broken) || strings.Contains(err.Error(), acc) {
		t.Fatalf("round with undecodable events: the error should name the broken account only: %v", err)
	}
	if st.Written != 1 || st.Records != 1 || st.Failed != 1 || st.Unreadable != 1 {
		t.Fatalf("round with undecodable events: %+v", st)
	}
	got, err := os.ReadFile(filepath.Join(bucket.Name, "acme-usage", filepath.FromSlash(weekKey)))
	if err != nil || string(got) != weekCSV {
		t.Fatalf("the good account's report (%v):\n%s\nwant:\n%s", err, got, weekCSV)
	}
	recs, _, err := w.reports.Load(w.ctx, usage.ReportsStream(at(8, 0, 0)))
	if _, ok := recs.Reports[broken]; err != nil || len(recs.Reports) != 1 || ok {
		t.Fatalf("records: %+v, %v", recs.Reports, err)
	}
	// Regenerated into a directory: the same bytes for the good account, the broken one refused again.
	out := objstore.DirTarget{Dir: t.TempDir(), Name: "x"}
	st, err = svc.Generate(w.ctx, at(8, 0, 0), usagereports.Options{Out: out})
	if err == nil || st.Kept+st.Written != 1 || st.Failed != 1 {
		t.Fatalf("regeneration: %+v, %v", st, err)
	}
	if again, _ := os.ReadFile(filepath.Join(out.Dir, filepath.FromSlash(weekKey))); string(again) != weekCSV {
		t.Fatalf("regenerated report:\n%s", again)
	}
	// From the usage read model (which parks the chat event): the same bytes, the same refusal.
	head, err := eventstore.Head(w.ctx, w.client)
	if err != nil {
		t.Fatal(err)
	}
	projectiontest.CatchUp(t, w.ctx, w.pool, w.client, chimeusage.Projection{}, head)
	svc = usagereports.New(usagereports.Deps{Log: log{w.client}, Activity: chimeusage.NewStore(w.pool), CatchUp: 5 * time.Second,
		Reports: w.reports, Settings: w.sets, Targets: targets{bucket}, Logger: quiet{}, Now: w.now})
	out = objstore.DirTarget{Dir: t.TempDir(), Name: "x"}
	st, err = svc.Generate(w.ctx, at(8, 0, 0), usagereports.Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), broken) || !st.FromReadModel || st.Written != 1 || st.Failed != 1 {
		t.Fatalf("from the read model: %+v, %v", st, err)
	}
	if again, _ := os.ReadFile(filepath.Join(out.Dir, filepath.FromSlash(weekKey))); string(again) != weekCSV {
		t.Fatalf("report from the read model:\n%s", again)
	}
}
