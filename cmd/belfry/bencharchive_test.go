package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/bench/archivebench"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// TestBenchArchiveArchivesEveryMessage runs `belfry bench archive` small: users registered through
// their mailed invitations, data retention enabled through the Admin API, messages posted through
// the client API; every message of the measured window is archived and dated, and the second
// target's catch-up writes every message of the network again.
func TestBenchArchiveArchivesEveryMessage(t *testing.T) {
	t.Parallel()
	o := archivebench.Options{Users: 4, Group: 2, Senders: 2, Rate: 20, Duration: time.Second, Warmup: 500 * time.Millisecond,
		Within: 10 * time.Second, Progress: io.Discard}
	rep, err := runArchiveBench(context.Background(), pgtest.NewDatabase(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posted == 0 || rep.PostErrors != 0 || rep.Archived != rep.Posted || rep.NotArchived != 0 || rep.MaxMs <= 0 {
		t.Fatalf("report: %+v", rep)
	}
	if rep.CatchUpLines != rep.Posted+rep.WarmupPosted || rep.FloorLines != rep.CatchUpLines {
		t.Fatalf("catch-up %d lines, floor %d, want the %d posted", rep.CatchUpLines, rep.FloorLines, rep.Posted+rep.WarmupPosted)
	}
}
