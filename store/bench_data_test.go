package store

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// realisticSeries generates what AtroZ stores for a web product, in the
// proportions its collector produces them. Latency is kept as Prometheus
// histograms, so most series are counters: per route, nine bucket counters
// plus the histogram's _sum and _count, and request counters by status
// code. The rest are gauges: requests in flight, WebSocket connections,
// resident memory, a freshness timestamp, and a CPU ratio whose every bit is
// noise. Series 20k+9 (the _sum) and 20k+19 (the CPU ratio) are the
// incompressible ones.
type realisticSeries struct {
	labels []Labels
	gens   []func() float64
}

func newRealisticSeries(n int, seed uint64) *realisticSeries {
	r := rand.New(rand.NewPCG(seed, 1))
	rs := &realisticSeries{}
	for i := range n {
		ls, gen := realisticOne(r, i)
		ls = append(ls, Label{"pod", fmt.Sprintf("shop-%d", i/20)}).normalize()
		rs.labels = append(rs.labels, ls)
		rs.gens = append(rs.gens, gen)
	}
	return rs
}

var bucketBounds = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"}

func realisticOne(r *rand.Rand, i int) (Labels, func() float64) {
	route := fmt.Sprintf("/api/v1/items/%d", i%50)
	base := []string{"route", route, "method", "GET", "service", "shop"}
	switch k := i % 20; {
	case k < 9: // latency histogram buckets: upper buckets count more requests
		return lbl("http_request_duration_seconds_bucket", append(base, "le", bucketBounds[k])...), counter(r, float64(k+1)*0.8)
	case k == 9: // the histogram's sum of seconds
		v := 0.0
		return lbl("http_request_duration_seconds_sum", base...), func() float64 { v += 0.05 * r.Float64() * 8; return v }
	case k == 10:
		return lbl("http_request_duration_seconds_count", base...), counter(r, 7.2)
	case k < 14: // requests by status code; errors are rare
		code := []string{"200", "404", "500"}[k-11]
		rate := map[string]float64{"200": 6, "404": 0.5, "500": 0.01}[code]
		return lbl("http_requests_total", append(base, "code", code)...), counter(r, rate)
	case k == 14:
		return lbl("http_requests_in_flight", "service", "shop"), func() float64 { return float64(r.IntN(8)) }
	case k == 15:
		return lbl("websocket_connections", "service", "shop"), walk(r, 100, 1, 0.2)
	case k == 16:
		return lbl("process_resident_memory_bytes", "service", "shop"), walk(r, 1e8, 4096*16, 0.1)
	case k == 17:
		return lbl("cache_requests_total", "cache", "query", "result", "hit"), counter(r, 0.7)
	case k == 18:
		ts := 1.7e9
		return lbl("data_last_sample_timestamp_seconds", "source", "beacons"), func() float64 { ts++; return ts }
	default:
		return lbl("system_cpu_usage_ratio", "service", "shop"), func() float64 { return 0.3 + 0.1*r.Float64() }
	}
}

// counter grows by a random whole number averaging rate per call.
func counter(r *rand.Rand, rate float64) func() float64 {
	v := 0.0
	return func() float64 {
		v += math.Floor(rate*r.Float64()*2 + r.Float64())
		return v
	}
}

// walk is a gauge that moves by ±step with probability p per call.
func walk(r *rand.Rand, start, step, p float64) func() float64 {
	v := start
	return func() float64 {
		if r.Float64() < p {
			v += step * float64(r.IntN(3)-1)
		}
		return v
	}
}
