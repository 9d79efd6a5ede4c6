package apibench

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// apiResult is one scenario's figures.
type apiResult struct {
	Name   string  `json:"name"`
	Calls  int64   `json:"calls"`
	Errors int64   `json:"errors"`
	PerSec float64 `json:"callsPerSecond"`
	P50ms  float64 `json:"p50Ms"`
	P99ms  float64 `json:"p99Ms"`
	// ServerP50ms and ServerP99ms are the server-side latencies of the scenario's operation, from
	// belfry_api_request_seconds (interpolated within its buckets, as histogram_quantile does).
	ServerP50ms float64 `json:"serverP50Ms,omitempty"`
	ServerP99ms float64 `json:"serverP99Ms,omitempty"`
	// TargetPerSec is the offered load of a paced scenario (0: closed loop, as fast as possible).
	TargetPerSec float64 `json:"targetPerSecond,omitempty"`
	// Runs is how many times a paced scenario ran; the figures are those of the run with the median
	// client p99, and P99Runs lists every run's client p99 (one hiccup of the machine moves a 10 s p99).
	Runs    int       `json:"runs,omitempty"`
	P99Runs []float64 `json:"p99MsRuns,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// medianRun returns the run with the median client p99, listing every run's p99.
func medianRun(runs []apiResult) apiResult {
	sorted := append([]apiResult(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].P99ms < sorted[j].P99ms })
	med := sorted[(len(sorted)-1)/2]
	med.Runs = len(runs)
	for _, r := range runs {
		med.P99Runs = append(med.P99Runs, r.P99ms)
	}
	return med
}

// warmup is how long each scenario runs before it records anything (new connections, caches).
const warmup = time.Second

// drivePaced runs op from n goroutines that together offer rate calls/s for d (after the warm-up):
// client i calls at start + (k*n+i)/rate. Latency counts from the scheduled time, so a call that
// starts late because the previous one was slow is charged for the wait.
func drivePaced(ctx context.Context, name, note string, n int, rate float64, d time.Duration, op func(r *rand.Rand) error) apiResult {
	var calls, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now().Add(warmup)
	interval := time.Duration(float64(time.Second) * float64(n) / rate)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			var mine []time.Duration
			due := start.Add(-warmup).Add(time.Duration(float64(time.Second) * float64(i) / rate))
			for due.Before(start.Add(d)) && ctx.Err() == nil {
				time.Sleep(time.Until(due))
				err := op(r)
				switch {
				case due.Before(start):
				case err != nil:
					errs.Add(1)
				default:
					mine = append(mine, time.Since(due))
					calls.Add(1)
				}
				due = due.Add(interval)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res := summarize(name, note, calls.Load(), errs.Load(), time.Since(start), lat)
	res.TargetPerSec = rate
	return res
}

func summarize(name, note string, calls, errs int64, elapsed time.Duration, lat []time.Duration) apiResult {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return apiResult{Name: name, Calls: calls, Errors: errs, PerSec: float64(calls) / elapsed.Seconds(), P50ms: pct(0.5), P99ms: pct(0.99), Note: note}
}

// drive runs op from n goroutines for d and reports throughput and latency percentiles.
func drive(ctx context.Context, name, note string, n int, d time.Duration, op func(r *rand.Rand) error) apiResult {
	var calls, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now().Add(warmup)
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(r)
				switch {
				case t0.Before(start):
				case err != nil:
					errs.Add(1)
				default:
					mine = append(mine, time.Since(t0))
					calls.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return summarize(name, note, calls.Load(), errs.Load(), time.Since(start), lat)
}
