// Command genopenmetrics writes an OpenMetrics text of a web product's
// metrics, for benchmarking imports (scripts/bench-import.sh): per route a
// latency histogram (ten buckets, _count and _sum), request counters by
// status code and a gauge of requests in flight, one sample per series every
// step over a duration ending at -end, metric family by family, series by
// series, ending with "# EOF". 50 routes over 2 h at 1 s are 6.12 M samples.
//
//	go run ./scripts/genopenmetrics -routes 50 -duration 2h -o /tmp/bench.om
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genopenmetrics:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	routes   int
	duration time.Duration
	step     time.Duration
	end      time.Time
	seed     uint64
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genopenmetrics", flag.ContinueOnError)
	var c config
	var out, end string
	fs.IntVar(&c.routes, "routes", 50, "routes, 17 series each")
	fs.DurationVar(&c.duration, "duration", 2*time.Hour, "time covered")
	fs.DurationVar(&c.step, "step", time.Second, "time between two samples of a series")
	fs.StringVar(&end, "end", "", "time of the last samples, RFC 3339 (default: now)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed; the same seed and flags give the same text")
	fs.StringVar(&out, "o", "", "output file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.routes < 1 || c.step < time.Millisecond || c.duration < c.step {
		return fmt.Errorf("want -routes ≥ 1, -step ≥ 1ms and -duration ≥ -step")
	}
	c.end = time.Now().Truncate(c.step)
	if end != "" {
		t, err := time.Parse(time.RFC3339, end)
		if err != nil {
			return fmt.Errorf("-end: %w", err)
		}
		c.end = t
	}
	w := stdout
	if out != "" {
		f, err := os.Create(out) // #nosec G304 -- the operator names the file
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	c.write(bw)
	return bw.Flush()
}

var bounds = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}

var codes = []struct {
	code string
	rate float64
}{{"200", 20}, {"301", 1}, {"404", 0.5}, {"500", 0.02}}

// write writes the whole text: three families, each route's series in
// time order. A write error sticks in w, for Flush to return.
func (c config) write(w *bufio.Writer) {
	n := int(c.duration / c.step)
	first := c.end.Add(-time.Duration(n-1) * c.step)
	ts := func(i int) string { return formatTime(first.Add(time.Duration(i) * c.step)) }
	fmt.Fprint(w, "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n# UNIT http_request_duration_seconds seconds\n")
	for r := range c.routes {
		rnd := rand.New(rand.NewPCG(c.seed, uint64(r))) // #nosec G404 G115 -- reproducible benchmark data, no secret
		var counts [10]float64
		sum := 0.0
		for i := range n {
			t := ts(i)
			reqs := math.Floor(20 * rnd.Float64())
			for k := range counts[:9] {
				counts[k] += math.Floor(reqs * float64(k+1) / 10 * rnd.Float64())
			}
			counts[9] += reqs
			sum += reqs * 0.05 * rnd.Float64()
			for k, b := range bounds {
				fmt.Fprintf(w, "http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %s %s\n", route(r), b, formatFloat(counts[k]), t)
			}
			fmt.Fprintf(w, "http_request_duration_seconds_count{route=\"%s\"} %s %s\n", route(r), formatFloat(counts[9]), t)
			fmt.Fprintf(w, "http_request_duration_seconds_sum{route=\"%s\"} %s %s\n", route(r), formatFloat(sum), t)
		}
	}
	fmt.Fprint(w, "# HELP http_requests Requests by status code.\n# TYPE http_requests counter\n")
	for r := range c.routes {
		for j, cd := range codes {
			rnd := rand.New(rand.NewPCG(c.seed, uint64(r)<<8|uint64(4+j))) // #nosec G404 G115 -- reproducible benchmark data, no secret
			v := 0.0
			for i := range n {
				v += math.Floor(cd.rate * 2 * rnd.Float64())
				fmt.Fprintf(w, "http_requests_total{route=\"%s\",code=\"%s\"} %s %s\n", route(r), cd.code, formatFloat(v), ts(i))
			}
		}
	}
	fmt.Fprint(w, "# HELP http_requests_in_flight Requests being served.\n# TYPE http_requests_in_flight gauge\n")
	for r := range c.routes {
		rnd := rand.New(rand.NewPCG(c.seed, uint64(r)<<8|2)) // #nosec G404 G115 -- reproducible benchmark data, no secret
		for i := range n {
			fmt.Fprintf(w, "http_requests_in_flight{route=\"%s\"} %d %s\n", route(r), rnd.IntN(8), ts(i))
		}
	}
	fmt.Fprint(w, "# EOF\n")
}

func route(r int) string { return fmt.Sprintf("/api/v1/route/%02d", r) }

// formatTime writes t in OpenMetrics' unit, seconds, with milliseconds
// only when it has some.
func formatTime(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
