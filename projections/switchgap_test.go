package projections_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/projections"
)

// gapNotes is the notes read model whose Tables — first called by a rebuild once it has caught up,
// to analyze the new generation — runs beforeSwitch once: what happens between a rebuild's catch-up
// and its switch.
type gapNotes struct {
	*notes
	beforeSwitch func()
	fired        atomic.Bool
}

func (g *gapNotes) Tables() []string {
	if g.beforeSwitch != nil && g.fired.CompareAndSwap(false, true) {
		g.beforeSwitch()
	}
	return nil
}

// TestRebuildSwitchKeepsEventsAppliedDuringItsCatchUp: an event appended after a rebuild caught up
// but before it switched (while it analyzed the new tables) is applied by the live runner to the old
// generation only. The switch must not make the read models go back in time: the new generation
// must hold it once live, though the log stays quiet afterwards, and the live runner, which says it
// applied it, must not answer a read-your-writes wait the read models do not satisfy.
func TestRebuildSwitchKeepsEventsAppliedDuringItsCatchUp(t *testing.T) {
	pool, client := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := appendRaw(t, client, "note-g", "note", []byte(`{"n":1}`))[0]
	p := &gapNotes{notes: &notes{name: "gap"}}
	live := projections.NewRunner(pool, client, p, projections.RunnerConfig{})
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = live.Run(rctx); close(done) }()
	defer func() { stop(); <-done }()
	if err := live.WaitFor(ctx, first); err != nil {
		t.Fatal(err)
	}
	var during uint64
	p.beforeSwitch = func() {
		during = appendRaw(t, client, "note-g", "note", []byte(`{"n":2}`))[0]
		if err := live.WaitFor(ctx, during); err != nil {
			t.Error(err)
		}
	}
	if err := projections.Rebuild(ctx, pool, client, p, nil); err != nil {
		t.Fatal(err)
	}
	if during == 0 {
		t.Fatal("the hook between catch-up and switch did not run")
	}
	if st := statusOf(t, pool, client, "gap"); st.Generation != 2 {
		t.Fatalf("status after the rebuild %+v", st)
	}
	// The live runner reports the event applied; the served generation must hold it.
	if live.Position() < during {
		t.Fatalf("the live runner is at %d, before %d", live.Position(), during)
	}
	if rows := noteRows(t, pool, "rm_gap_g2"); len(rows) != 2 {
		t.Fatalf("the generation switched to holds %d rows, want 2 (the event appended before the switch is missing): %v", len(rows), rows)
	}
}
