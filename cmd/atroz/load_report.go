package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadRecorder collects the answers of a load run.
type loadRecorder struct {
	mu        sync.Mutex
	latencies []time.Duration // in the order answers came
	status    map[string]int64
	accepted  int64
	firstErr  map[string]string
}

func newLoadRecorder(rate int, d time.Duration) *loadRecorder {
	n := min(int64(d.Seconds()*float64(rate))+1, 10_000_000)
	return &loadRecorder{latencies: make([]time.Duration, 0, n), status: map[string]int64{}, firstErr: map[string]string{}}
}

// answered records an item the server answered with status.
func (r *loadRecorder) answered(status int, ok bool, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, latency)
	r.status[strconv.Itoa(status)]++
	if ok {
		r.accepted++
	}
}

// failed records an item that got no answer, under a short class of its error.
func (r *loadRecorder) failed(err error, latency time.Duration) {
	class := errorClass(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, latency)
	r.status[class]++
	if _, ok := r.firstErr[class]; !ok {
		r.firstErr[class] = err.Error()
	}
}

// errorClass names a transport error: timeout, refused, reset or error.
func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "EOF"):
		return "reset"
	}
	return "error"
}

// progress prints a line each second until done: items answered, accepted
// and the p99 of the answers of that second.
func (r *loadRecorder) progress(w io.Writer, start time.Time, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			r.mu.Lock()
			last := slices.Clone(r.latencies[seen:])
			seen = len(r.latencies)
			answered, accepted := len(r.latencies), r.accepted
			r.mu.Unlock()
			fmt.Fprintf(w, "%4.0fs  answered %d  accepted %d  this second: %d answers, p99 %s\n",
				now.Sub(start).Seconds(), answered, accepted, len(last), percentiles(last, 0.99)[0])
		}
	}
}

// loadReport is what a load run found.
type loadReport struct {
	Kind          string             `json:"kind"`
	Target        string             `json:"target"`
	Rate          int                `json:"rate"`
	Seconds       float64            `json:"seconds"`
	Sent          int64              `json:"sent"`
	Accepted      int64              `json:"accepted"`
	Rejected      int64              `json:"rejected"`
	ByStatus      map[string]int64   `json:"by_status"`
	Errors        map[string]string  `json:"errors,omitempty"`
	LatencyMs     map[string]float64 `json:"latency_ms"`
	AcceptedItems int64              `json:"accepted_items"`
	Stored        *int64             `json:"stored,omitempty"`
}

// report sums up the run; perItem converts accepted items to stored things.
func (r *loadRecorder) report(o *loadOptions, elapsed time.Duration, perItem int64) *loadReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent := int64(len(r.latencies))
	q := percentiles(r.latencies, 0.5, 0.95, 0.99, 1)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &loadReport{
		Kind: o.kind, Target: o.target.String(), Rate: o.rate, Seconds: elapsed.Seconds(),
		Sent: sent, Accepted: r.accepted, Rejected: sent - r.accepted,
		ByStatus: r.status, Errors: r.firstErr,
		LatencyMs:     map[string]float64{"p50": ms(q[0]), "p95": ms(q[1]), "p99": ms(q[2]), "max": ms(q[3])},
		AcceptedItems: r.accepted * perItem,
	}
}

// percentiles returns the given quantiles of ds (sorting ds), zero when empty.
func percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	for i, q := range qs {
		k := int(q*float64(len(ds))+0.5) - 1
		out[i] = ds[min(max(k, 0), len(ds)-1)]
	}
	return out
}

// print writes the report as text or JSON.
func (r *loadReport) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s load on %s: %d/s for %.1fs (latency from each item's due time)\n", r.Kind, r.Target, r.Rate, r.Seconds)
	fmt.Fprintf(&b, "sent %d  accepted %d  rejected %d  (%.0f accepted/s)\n", r.Sent, r.Accepted, r.Rejected, float64(r.Accepted)/r.Seconds)
	keys := make([]string, 0, len(r.ByStatus))
	for k := range r.ByStatus {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-8s %d", k, r.ByStatus[k])
		if e, ok := r.Errors[k]; ok {
			fmt.Fprintf(&b, "  (first: %s)", e)
		}
		b.WriteByte('\n')
	}
	l := r.LatencyMs
	fmt.Fprintf(&b, "latency ms  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", l["p50"], l["p95"], l["p99"], l["max"])
	if r.Stored != nil {
		verdict := "all stored"
		if *r.Stored != r.AcceptedItems {
			verdict = "MISSING " + strconv.FormatInt(r.AcceptedItems-*r.Stored, 10)
		}
		fmt.Fprintf(&b, "stored %d of %d accepted items (queried from the server): %s\n", *r.Stored, r.AcceptedItems, verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
