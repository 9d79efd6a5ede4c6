package apibench

import (
	"math"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// apiOperation is the API operation a bench scenario calls ("" for the floor).
func apiOperation(scenario string) string {
	if strings.HasPrefix(scenario, "floor") {
		return ""
	}
	op, _, _ := strings.Cut(scenario, "_")
	return op
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	upper float64
	count uint64
}

// latencyBuckets reads the cumulative buckets of belfry_api_request_seconds for a Chime operation.
func latencyBuckets(g prometheus.Gatherer, op string) []bucket { return serviceBuckets(g, "chime", op) }

// serviceBuckets reads the cumulative buckets of belfry_api_request_seconds for an operation of a
// service (its signing name: chime, wickr).
func serviceBuckets(g prometheus.Gatherer, service, op string) []bucket {
	if g == nil || op == "" {
		return nil
	}
	fams, err := g.Gather()
	if err != nil {
		return nil
	}
	for _, f := range fams {
		if f.GetName() != "belfry_api_request_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] != service || labels["operation"] != op {
				continue
			}
			h := m.GetHistogram()
			out := make([]bucket, 0, len(h.GetBucket())+1)
			for _, b := range h.GetBucket() {
				out = append(out, bucket{upper: b.GetUpperBound(), count: b.GetCumulativeCount()})
			}
			return append(out, bucket{upper: math.Inf(1), count: h.GetSampleCount()})
		}
	}
	return nil
}

// subtractBuckets returns after - before, bucket by bucket (before may be empty).
func subtractBuckets(after, before []bucket) []bucket {
	out := append([]bucket(nil), after...)
	for i := range out {
		if i < len(before) {
			out[i].count -= before[i].count
		}
	}
	return out
}

// bucketQuantile estimates the q-quantile (seconds) of cumulative buckets by linear interpolation
// within the bucket that holds it, as PromQL's histogram_quantile does.
func bucketQuantile(bs []bucket, q float64) float64 {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return 0
	}
	rank := q * float64(bs[len(bs)-1].count)
	i := sort.Search(len(bs), func(i int) bool { return float64(bs[i].count) >= rank })
	if i == len(bs)-1 && math.IsInf(bs[i].upper, 1) {
		return bs[len(bs)-2].upper
	}
	lower, below := 0.0, uint64(0)
	if i > 0 {
		lower, below = bs[i-1].upper, bs[i-1].count
	}
	in := bs[i].count - below
	if in == 0 {
		return bs[i].upper
	}
	return lower + (bs[i].upper-lower)*(rank-float64(below))/float64(in)
}

// serverLatency sets res's server-side quantiles from the buckets of op gathered before and after
// the scenario.
func serverLatency(res *apiResult, g prometheus.Gatherer, op string, before []bucket) {
	serviceLatency(res, g, "chime", op, before)
}

// serviceLatency is serverLatency for an operation of a service.
func serviceLatency(res *apiResult, g prometheus.Gatherer, service, op string, before []bucket) {
	delta := subtractBuckets(serviceBuckets(g, service, op), before)
	res.ServerP50ms, res.ServerP99ms = bucketQuantile(delta, 0.5)*1000, bucketQuantile(delta, 0.99)*1000
}

// counterSum adds up every series of a counter.
func counterSum(g prometheus.Gatherer, name string) float64 {
	fams, err := g.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
