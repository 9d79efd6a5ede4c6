package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/infra/objstore"
)

// callLog is a log of call streams for cdrExport.pass: each event at the next position.
type callLog struct{ evs []*esdb.RecordedEvent }

func (l *callLog) add(t *testing.T, conf string, e call.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	l.raw(conf, e.EventType(), string(b))
}

func (l *callLog) raw(conf, eventType, data string) {
	pos := uint64(len(l.evs) + 1)
	l.evs = append(l.evs, &esdb.RecordedEvent{StreamID: call.StreamName(conf), EventType: eventType, Data: []byte(data),
		Position: esdb.Position{Commit: pos, Prepare: pos}})
}

func (l *callLog) pass(_ context.Context, fn func(*esdb.RecordedEvent) error) error {
	for _, ev := range l.evs {
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

// call adds a one-leg conference placed at placed and ended ten minutes later.
func (l *callLog) call(t *testing.T, conf string, placed time.Time, broken bool) {
	leg := call.Leg{LegID: conf + "-leg", Direction: call.Outbound, From: "+12065550100", To: "+12065550199", FromCountry: "US", ToCountry: "US"}
	l.add(t, conf, call.CallPlaced{ConferenceID: conf, AwsAccountID: "111122223333", AccountID: "acct", Legs: []call.Leg{leg}, At: placed})
	if broken {
		l.raw(conf, call.TypeLegConnected, `{"legId": 7}`)
	} else {
		l.add(t, conf, call.LegConnected{LegID: leg.LegID, At: placed.Add(time.Minute)})
	}
	l.add(t, conf, call.LegEnded{LegID: leg.LegID, Reason: call.ReasonCompleted, At: placed.Add(10 * time.Minute)})
	l.add(t, conf, call.ConferenceEnded{At: placed.Add(10 * time.Minute)})
}

// TestCDRsPastAnUndecodableEvent: `belfry reports cdrs` meets a call event that does not decode. The
// CDRs of every other conference are written all the same — those after it in the log too — and the
// run fails naming the conference whose records it cannot know, but only when that conference ended
// in the range (or its end is unknown).
func TestCDRsPastAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var l callLog
	l.call(t, "c-old-broken", from.Add(-time.Hour), true)
	l.call(t, "c-good-1", from.Add(time.Hour), false)
	l.call(t, "c-broken", from.Add(2*time.Hour), true)
	l.call(t, "c-good-2", from.Add(3*time.Hour), false)
	l.raw("c-no-end", call.TypeCallPlaced, `{"conferenceId": "c-no-end", "at": "yesterday"}`)
	out := objstore.DirTarget{Dir: t.TempDir(), Name: "cdrs"}
	g := cdrExport{pass: l.pass, out: out, workers: 2, progress: io.Discard}
	st, err := g.run(context.Background(), from, from.Add(24*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "c-broken") || !strings.Contains(err.Error(), "c-no-end") || strings.Contains(err.Error(), "c-old-broken") {
		t.Fatalf("the run should fail naming c-broken and c-no-end only: %v", err)
	}
	var keys []string
	_ = filepath.WalkDir(out.Dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			keys = append(keys, filepath.Base(path))
		}
		return nil
	})
	slices.Sort(keys)
	if st.written.Load() != 2 || len(keys) != 2 || !strings.HasPrefix(keys[0], "c-good-1_") || !strings.HasPrefix(keys[1], "c-good-2_") {
		t.Fatalf("CDRs written: %d, files %v", st.written.Load(), keys)
	}
}
