package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/bench/mediabench"
)

// cmdBenchMedia runs `belfry bench media` (see infra/bench/mediabench): the SFU's forwarding
// capacity and join time with pion clients on loopback, each beside its floor.
func cmdBenchMedia(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench media", flag.ContinueOnError)
	o := mediabench.Options{Progress: os.Stderr}
	ladder := fs.String("streams", "8,16,32,64,128", "forwarded stream counts to try, in order (comma-separated)")
	fs.DurationVar(&o.Window, "window", 3*time.Second, "measuring window of each step")
	fs.IntVar(&o.Participants, "participants", 50, "participants of the join scenario")
	fs.DurationVar(&o.Budget, "budget", 3*time.Minute, "time budget of the forwarding ladder")
	out := fs.String("json", "", "write the JSON report here (default bench-results/media-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for f := range strings.SplitSeq(*ladder, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("bench media: --streams must be counts from 1 to 1000, got %q", f)
		}
		o.Ladder = append(o.Ladder, n)
	}
	if o.Participants < 2 || o.Participants > 250 {
		return fmt.Errorf("bench media: --participants must be 2 to 250")
	}
	rep, err := mediabench.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	path := bench.ReportPath(*out, "media", rep.StartedAt)
	fmt.Println("JSON report:", path)
	return bench.WriteJSON(path, rep)
}
