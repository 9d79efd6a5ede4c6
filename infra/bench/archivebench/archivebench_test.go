package archivebench

import (
	"testing"
	"time"
)

// TestAnalyzeDatesEachMessageByTheShipmentPastIt: a message is archived at the first sample whose
// shipment reached its position; warm-up posts are counted apart; a message never reached is not
// archived; the backlog counts the answered messages the shipment had not reached.
func TestAnalyzeDatesEachMessageByTheShipmentPastIt(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	posts := []post{
		{id: "w", due: at(0), acked: at(10), measured: false},
		{id: "a", due: at(100), acked: at(110), measured: true},
		{id: "b", due: at(200), acked: at(210), measured: true},
		{id: "c", due: at(300), acked: at(310), measured: true},
	}
	seqs := map[string]int64{"w": 5, "a": 10, "b": 20, "c": 30}
	samples := []sample{{at(50), 5}, {at(400), 9}, {at(600), 20}, {at(900), 25}}
	var rep Report
	analyze(&rep, posts, seqs, samples, at(100), at(310))
	if rep.WarmupPosted != 1 || rep.Posted != 3 || rep.Archived != 2 || rep.NotArchived != 1 {
		t.Fatalf("counts: %+v", rep)
	}
	// a: 110 → 600 (the 400 sample was short of 10): 490 ms; b: 210 → 600: 390 ms.
	if rep.P50Ms != 390 || rep.MaxMs != 490 || rep.PostP50Ms != 10 {
		t.Fatalf("latencies: p50 %v max %v post p50 %v", rep.P50Ms, rep.MaxMs, rep.PostP50Ms)
	}
	if rep.MaxBacklog != 3 || rep.DrainSeconds < 0.289 || rep.DrainSeconds > 0.291 {
		t.Fatalf("backlog %d, drain %v", rep.MaxBacklog, rep.DrainSeconds)
	}
}
