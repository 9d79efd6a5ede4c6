package apibench

import (
	"math"
	"testing"
)

func TestBucketQuantileInterpolatesLikeHistogramQuantile(t *testing.T) {
	bs := []bucket{{0.001, 50}, {0.002, 90}, {0.005, 100}, {math.Inf(1), 100}}
	for _, tc := range []struct{ q, want float64 }{{0.5, 0.001}, {0.25, 0.0005}, {0.7, 0.0015}, {0.99, 0.0047}} {
		if got := bucketQuantile(bs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q=%v: got %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := bucketQuantile([]bucket{{0.001, 0}, {math.Inf(1), 5}}, 0.99); got != 0.001 {
		t.Errorf("a quantile in the +Inf bucket is the highest finite bound, got %v", got)
	}
	if got := bucketQuantile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %v", got)
	}
	delta := subtractBuckets([]bucket{{0.001, 60}, {math.Inf(1), 70}}, []bucket{{0.001, 10}, {math.Inf(1), 20}})
	if delta[0].count != 50 || delta[1].count != 50 {
		t.Errorf("delta: %+v", delta)
	}
	if apiOperation("GetUser_paced") != "GetUser" || apiOperation("floor_echo_pgx_get") != "" {
		t.Error("scenario names map to operations")
	}
}

func TestMedianRunReportsTheMiddleP99AndEveryRun(t *testing.T) {
	got := medianRun([]apiResult{{P99ms: 30}, {P99ms: 10}, {P99ms: 20}})
	if got.P99ms != 20 || got.Runs != 3 || len(got.P99Runs) != 3 || got.P99Runs[0] != 30 {
		t.Fatalf("%+v", got)
	}
	if one := medianRun([]apiResult{{P99ms: 7}}); one.P99ms != 7 || one.Runs != 1 {
		t.Fatalf("%+v", one)
	}
}
