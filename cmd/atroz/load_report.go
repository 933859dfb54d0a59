package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	accepted  int64 // items the server took, whole or in part
	items     int64 // stored things those items carried
	unknown   int64 // items that got no answer: the server may have them
	firstErr  map[string]string
}

func newLoadRecorder(rate int, d time.Duration) *loadRecorder {
	n := min(int64(d.Seconds()*float64(rate))+1, 10_000_000)
	return &loadRecorder{latencies: make([]time.Duration, 0, n), status: map[string]int64{}, firstErr: map[string]string{}}
}

// answered records an item the server answered with status, taking items
// stored things from it.
func (r *loadRecorder) answered(status int, items int64, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, latency)
	r.status[strconv.Itoa(status)]++
	if items > 0 {
		r.accepted++
		r.items += items
	}
}

// failed records an item that got no answer, under a short class of its error.
func (r *loadRecorder) failed(err error, latency time.Duration) {
	class := errorClass(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, latency)
	r.status[class]++
	r.unknown++
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
	// UnknownItems is what the items without an answer carried: the server
	// may have stored any part of it.
	UnknownItems int64  `json:"unknown_items"`
	Stored       *int64 `json:"stored,omitempty"`
	VerifyError  string `json:"verify_error,omitempty"`
}

// report sums up the run; perItem is what one item carries.
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
		AcceptedItems: r.items,
		UnknownItems:  r.unknown * perItem,
	}
}

// percentiles returns the given quantiles of ds by nearest rank (sorting
// ds), zero when empty.
func percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(ds))-1e-9)) - 1
		out[i] = ds[min(max(k, 0), len(ds)-1)]
	}
	return out
}

// verdict is nil when the check passed or was not asked for: the server
// stored at least every accepted item, and at most those plus what the
// unanswered items carried.
func (r *loadReport) verdict() error {
	switch {
	case r.VerifyError != "" && r.VerifyError != verifyInterrupted:
		return fmt.Errorf("verify: %s", r.VerifyError)
	case r.Stored == nil:
		return nil
	case *r.Stored < r.AcceptedItems:
		return fmt.Errorf("the server stored %d of the %d items it accepted", *r.Stored, r.AcceptedItems)
	case *r.Stored > r.AcceptedItems+r.UnknownItems:
		return fmt.Errorf("the server stored %d items, more than the %d it accepted and the %d that got no answer", *r.Stored, r.AcceptedItems, r.UnknownItems)
	}
	return nil
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
	switch {
	case r.Stored != nil:
		verdict := "all stored"
		if err := r.verdict(); err != nil {
			verdict = err.Error()
		} else if *r.Stored > r.AcceptedItems {
			verdict = fmt.Sprintf("all stored, and %d of the items that got no answer", *r.Stored-r.AcceptedItems)
		}
		fmt.Fprintf(&b, "stored %d of %d accepted items (queried from the server): %s\n", *r.Stored, r.AcceptedItems, verdict)
	case r.VerifyError != "":
		fmt.Fprintf(&b, "stored: %s\n", r.VerifyError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
