package alert

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"atroz/alert/notify"
	"atroz/query"
	"atroz/store"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// rig is a store, a query engine and a manager with an injected clock, and a
// receiver that records what it is sent.
type rig struct {
	t    *testing.T
	db   *store.DB
	m    *Manager
	now  time.Time
	rec  *captureReceiver
	disp *notify.Dispatcher
	path string
}

type captureReceiver struct {
	mu   sync.Mutex
	got  []*notify.Notification
	sent chan struct{}
}

func (c *captureReceiver) Name() string { return "capture" }
func (c *captureReceiver) Send(_ context.Context, ns []*notify.Notification) error {
	c.mu.Lock()
	c.got = append(c.got, ns...)
	c.mu.Unlock()
	for range ns {
		c.sent <- struct{}{}
	}
	return nil
}

func newRig(t *testing.T, path string, rulesFile string, extra ...notify.Receiver) *rig {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "a.db")
	}
	r := &rig{t: t, now: t0, path: path, rec: &captureReceiver{sent: make(chan struct{}, 100)}}
	var err error
	r.db, err = store.Open(path, &store.Options{FlushInterval: -1, PruneInterval: -1, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := LoadRules(rulesFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.disp = notify.NewDispatcher(append([]notify.Receiver{r.rec}, extra...), nil)
	r.m, err = NewManager(r.db, query.New(r.db, &query.Options{CacheBytes: -1}), groups, r.disp, &Options{Now: func() time.Time { return r.now }, RepeatInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.disp.Close()
	_ = r.db.Close()
}

// notified waits for n notifications and returns them.
func (r *rig) notified(n int) []*notify.Notification {
	r.t.Helper()
	for range n {
		select {
		case <-r.rec.sent:
		case <-time.After(5 * time.Second):
			r.t.Fatalf("waited for %d notifications, got %d", n, len(r.rec.got))
		}
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	return append([]*notify.Notification(nil), r.rec.got...)
}

// run writes data every 15 s from `from` to `to` and evaluates after each write.
func (r *rig) run(from, to time.Time, write func(ts time.Time)) {
	r.t.Helper()
	for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
		r.now = ts
		write(ts)
		r.m.EvalAt(context.Background(), ts)
	}
}

func (r *rig) add(ts time.Time, v float64, kv ...string) {
	r.t.Helper()
	ls := store.Labels{{Name: "__name__", Value: kv[0]}}
	for i := 1; i+1 < len(kv); i += 2 {
		ls = append(ls, store.Label{Name: kv[i], Value: kv[i+1]})
	}
	if err := r.db.Append(ls, ts.UnixMilli(), v); err != nil {
		r.t.Fatal(err)
	}
}

// history returns the rule's transitions as "state@minutes-after-t0=value".
func (r *rig) history(name string) []string {
	r.t.Helper()
	events, err := r.m.History(t0.Add(-time.Hour), t0.Add(3*time.Hour), name)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%s@%s", e.State, e.Time.Sub(t0)))
	}
	return out
}

// TestDefaultRules drives each built-in rule with data written to the store:
// its condition holds from t0 for 20 minutes. Each must go pending within
// its window, fire exactly its for later, and resolve once the window no
// longer sees the condition; firing and resolved are notified.
func TestDefaultRules(t *testing.T) {
	type writer func(r *rig, ts time.Time, bad bool)
	cases := []struct {
		alert      string
		window     time.Duration
		forD       time.Duration
		newWriter  func() writer
		valueCheck func(v float64) bool
	}{
		{"HighMemory", 0, 5 * time.Minute, func() writer {
			return func(r *rig, ts time.Time, bad bool) { r.add(ts, pick(bad, 0.9, 0.5), "system_memory_usage_ratio") }
		}, func(v float64) bool { return v == 0.9 }},
		{"HighLatency", 5 * time.Minute, 2 * time.Minute, func() writer {
			fast, all := 0.0, 0.0
			return func(r *rig, ts time.Time, bad bool) {
				all += 10 // while bad, requests take 0.5–1 s; otherwise under 5 ms
				if !bad {
					fast += 10
				}
				for le, v := range map[string]float64{"0.005": fast, "0.5": fast, "1": all, "+Inf": all} {
					r.add(ts, v, "http_request_duration_seconds_bucket", "le", le, "route", "/pay", "service", "shop")
				}
			}
		}, func(v float64) bool { return v > 0.5 && v <= 1 }},
		{"HighErrorRate", 5 * time.Minute, 2 * time.Minute, func() writer {
			ok, errs := 0.0, 0.0
			return func(r *rig, ts time.Time, bad bool) {
				ok += 10
				if bad {
					errs++ // one in eleven
				}
				r.add(ts, ok, "http_requests_total", "code", "200", "service", "shop")
				r.add(ts, errs, "http_requests_total", "code", "500", "service", "shop")
			}
		}, func(v float64) bool { return v > 0.01 && v < 1.0/11+0.005 }}, // the window mixes good and bad minutes when it fires
		{"LowFrameRate", 5 * time.Minute, 5 * time.Minute, func() writer {
			low, high := 0.0, 0.0
			return func(r *rig, ts time.Time, bad bool) {
				if bad {
					low += 15 // frames at 20–30 fps
				} else {
					high += 15 // frames at 60–90 fps
				}
				for le, v := range map[string]float64{"30": low, "60": low, "90": low + high, "+Inf": low + high} {
					r.add(ts, v, "frontend_fps_bucket", "le", le, "page", "/checkout", "service", "shop")
				}
			}
		}, func(v float64) bool { return v > 0 && v < 50 }}, // all in the first bucket: interpolated from 0
		{"PoorLCP", 30 * time.Minute, 10 * time.Minute, func() writer { return vitalsWriter("frontend_lcp_seconds", "4", 5, 1.2) },
			func(v float64) bool { return v >= 0 && v < 0.75 }},
		{"PoorINP", 30 * time.Minute, 10 * time.Minute, func() writer { return vitalsWriter("frontend_inp_seconds", "0.5", 0.8, 0.1) },
			func(v float64) bool { return v >= 0 && v < 0.75 }},
		{"StaleData", 0, time.Minute, func() writer {
			return func(r *rig, ts time.Time, bad bool) {
				last := ts
				if bad {
					last = t0.Add(-15 * time.Minute) // the source stopped 15 minutes before t0
				}
				r.add(ts, float64(last.Unix()), "data_last_sample_timestamp_seconds", "source", "beacons:shop")
			}
		}, func(v float64) bool { return v > 900 }},
		{"WebSocketChurn", time.Minute, time.Minute, func() writer {
			d := 0.0
			return func(r *rig, ts time.Time, bad bool) {
				if bad {
					d += 3 // twelve a minute
				}
				r.add(ts, d, "websocket_disconnects_total", "reason", "error")
			}
		}, func(v float64) bool { return v > 5 }},
	}
	for _, c := range cases {
		t.Run(c.alert, func(t *testing.T) {
			r := newRig(t, "", "")
			w := c.newWriter()
			r.run(t0.Add(-10*time.Minute), t0.Add(45*time.Minute), func(ts time.Time) {
				w(r, ts, !ts.Before(t0) && ts.Before(t0.Add(20*time.Minute)))
			})
			h := r.events(c.alert)
			if len(h) != 3 || h[0].State != StatePending || h[1].State != StateFiring || h[2].State != StateResolved {
				t.Fatalf("transitions %v, want pending, firing, resolved", r.history(c.alert))
			}
			pending, firing, resolved := h[0].Time, h[1].Time, h[2].Time
			if pending.Before(t0) || pending.After(t0.Add(c.window+15*time.Second)) {
				t.Errorf("pending at %s, want within %s of t0", pending.Sub(t0), c.window)
			}
			if firing.Sub(pending) != c.forD {
				t.Errorf("fired %s after pending, want its for, %s", firing.Sub(pending), c.forD)
			}
			end := t0.Add(20 * time.Minute)
			if resolved.Before(end) || resolved.After(end.Add(c.window+30*time.Second)) {
				t.Errorf("resolved at %s, want within %s of the condition ending at 20m", resolved.Sub(t0), c.window)
			}
			ns := r.notified(2)
			if len(ns) != 2 || ns[0].Status != notify.StatusFiring || ns[1].Status != notify.StatusResolved || ns[0].Labels["alertname"] != c.alert {
				t.Fatalf("notifications %+v", ns)
			}
			if !c.valueCheck(ns[0].Value) || ns[0].Labels["severity"] == "" || ns[0].Annotations["summary"] == "" {
				t.Fatalf("firing notification: value %g, labels %v, annotations %v", ns[0].Value, ns[0].Labels, ns[0].Annotations)
			}
			if !ns[1].EndsAt.Equal(resolved) || ns[1].Fingerprint != ns[0].Fingerprint {
				t.Fatalf("resolved notification ends %s (want %s), fingerprints %s %s", ns[1].EndsAt, resolved, ns[0].Fingerprint, ns[1].Fingerprint)
			}
		})
	}
}

// vitalsWriter writes two page views of /checkout every 15 s, each of
// value poor while bad and good otherwise, into the histogram metric as
// the collector does: its bucket le and its count. With ten good minutes
// before t0, fewer than 75% of the 30-minute window's views are within le
// from 3m20s after t0, and 75% again 22.5 minutes after the bad ones end.
func vitalsWriter(metric, le string, poor, good float64) func(r *rig, ts time.Time, bad bool) {
	bound, _ := strconv.ParseFloat(le, 64)
	within, count := 0.0, 0.0
	return func(r *rig, ts time.Time, bad bool) {
		count += 2
		if pick(bad, poor, good) <= bound {
			within += 2
		}
		r.add(ts, within, metric+"_bucket", "le", le, "page", "/checkout", "service", "shop")
		r.add(ts, count, metric+"_count", "page", "/checkout", "service", "shop")
	}
}

func (r *rig) events(name string) []Event {
	r.t.Helper()
	events, err := r.m.History(t0.Add(-time.Hour), t0.Add(3*time.Hour), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return events
}

func pick(bad bool, a, b float64) float64 {
	if bad {
		return a
	}
	return b
}
