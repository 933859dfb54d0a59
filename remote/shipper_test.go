package remote

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/prompb"
)

// switchable answers 503 while down, and is rcv otherwise.
type switchable struct {
	down atomic.Bool
	rcv  *receiver
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.rcv.ServeHTTP(w, r)
}

func newSwitchable(t *testing.T) (*switchable, string) {
	t.Helper()
	sw := &switchable{rcv: &receiver{got: map[string][]prompb.Sample{}}}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	return sw, srv.URL + "/api/v1/write"
}

func openOutboxStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, &store.Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1,
		Outbox: &store.OutboxOptions{Encode: func(b []store.SeriesSamples) []byte { body, _ := Encode(b); return body }, RecordSamples: 50}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func startShipper(t *testing.T, db *store.DB, urls ...string) (*Shipper, *metrics.Set) {
	t.Helper()
	var cfgs []Config
	for _, u := range urls {
		cfgs = append(cfgs, Config{URL: u, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	}
	set := metrics.NewSet()
	s, err := NewShipper(db, cfgs, &http.Client{}, set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s, set
}

// appendFlush appends n samples to each of three series from t0 on, one a
// second, flushing after every ten.
func appendFlush(t *testing.T, db *store.DB, t0 time.Time, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		for s := range 3 {
			ls := store.Labels{{Name: store.MetricName, Value: "m"}, {Name: "s", Value: fmt.Sprint(s)}}
			if err := db.Append(ls, t0.Add(time.Duration(i)*time.Second).UnixMilli(), float64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if i%10 == 9 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inOrder checks that rcv holds, per series, every sample 0..n-1 once and in order.
func inOrder(t *testing.T, rcv *receiver, n int) {
	t.Helper()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != 3 {
		t.Fatalf("%d series received, want 3", len(rcv.got))
	}
	for name, ss := range rcv.got {
		if len(ss) != n {
			t.Errorf("%s: %d samples, want %d", name, len(ss), n)
			continue
		}
		for i, s := range ss {
			if s.Value != float64(i) {
				t.Errorf("%s: sample %d is %g: out of order", name, i, s.Value)
				break
			}
		}
	}
}

// TestShipperOutlivesItsDestination: while the receiver is down the
// flushes' samples wait in the outbox, across a restart of the store and
// the shipper too; once it is back every one arrives, once and in order,
// and the outbox empties.
func TestShipperOutlivesItsDestination(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atroz.db")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	sw, url := newSwitchable(t)
	db := openOutboxStore(t, path)
	sh, _ := startShipper(t, db, url)
	appendFlush(t, db, t0, 0, 40)
	waitFor(t, "the first samples", func() bool { return sw.rcv.samples() == 120 })
	waitFor(t, "the delivered records' deletion", func() bool { return db.OutboxStats().Records == 0 })

	sw.down.Store(true)
	appendFlush(t, db, t0, 40, 100)
	if st := db.OutboxStats(); st.Records == 0 {
		t.Fatal("nothing kept while the receiver is down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := sh.Close(ctx); err == nil {
		t.Error("Close with the receiver down says everything was sent")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openOutboxStore(t, path)
	defer func() { _ = db.Close() }()
	sh, set := startShipper(t, db, url)
	appendFlush(t, db, t0, 140, 10)
	sw.down.Store(false)
	waitFor(t, "every sample", func() bool { return sw.rcv.samples() >= 450 })
	if err := sh.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	inOrder(t, sw.rcv, 150)
	if st := db.OutboxStats(); st.Records != 0 || st.DroppedSamples != 0 {
		t.Errorf("outbox after delivery: %+v", st)
	}
	if got := metricValue(set, fmt.Sprintf(`remote_write_samples_total{url=%q,result="sent"}`, url)); got != 330 {
		t.Errorf("sent after the restart = %v, want 330", got)
	}
}

// TestShipperWaitsForEveryDestination: a record leaves the outbox only
// once every destination has it; the one that is up gets everything
// meanwhile.
func TestShipperWaitsForEveryDestination(t *testing.T) {
	up, upURL := newSwitchable(t)
	down, downURL := newSwitchable(t)
	down.down.Store(true)
	db := openOutboxStore(t, filepath.Join(t.TempDir(), "atroz.db"))
	defer func() { _ = db.Close() }()
	sh, _ := startShipper(t, db, upURL, downURL)
	appendFlush(t, db, time.Now().Add(-time.Hour), 0, 30)
	waitFor(t, "the destination that is up", func() bool { return up.rcv.samples() == 90 })
	if st := db.OutboxStats(); st.Records == 0 {
		t.Error("records deleted before the destination that is down had them")
	}
	down.down.Store(false)
	waitFor(t, "the destination that was down", func() bool { return down.rcv.samples() == 90 })
	waitFor(t, "the deletion", func() bool { return db.OutboxStats().Records == 0 })
	if err := sh.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	inOrder(t, up.rcv, 30)
	inOrder(t, down.rcv, 30)
}

// TestShipperSkipsARefusedRecord: a 400 is final, so the record is
// counted failed and the next ones go on.
func TestShipperSkipsARefusedRecord(t *testing.T) {
	rcv := &receiver{codes: []int{http.StatusBadRequest}, got: map[string][]prompb.Sample{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	db := openOutboxStore(t, filepath.Join(t.TempDir(), "atroz.db"))
	defer func() { _ = db.Close() }()
	appendFlush(t, db, time.Now().Add(-time.Hour), 0, 20) // records of 50, 10 samples
	sh, set := startShipper(t, db, srv.URL)
	waitFor(t, "the deletion", func() bool { return db.OutboxStats().Records == 0 })
	if err := sh.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(set, fmt.Sprintf(`remote_write_samples_total{url=%q,result="failed"}`, srv.URL)); got != 30 {
		t.Errorf("failed = %v, want the first flush's 30", got)
	}
	if n := rcv.samples(); n != 30 {
		t.Errorf("received %d samples, want the second flush's 30", n)
	}
}

// metricValue reads one line of set's exposition by its name and labels.
func metricValue(set *metrics.Set, series string) float64 {
	for _, line := range strings.Split(metricText(set), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return math.NaN()
}

// BenchmarkAppendFlushOutbox is what the outbox costs the write path:
// 10,000 series, a sample each per flush, with the outbox off and on (each
// flush then also encodes its samples as remote-write requests and puts
// them in its transaction), in the same run.
func BenchmarkAppendFlushOutbox(b *testing.B) {
	const series = 10_000
	lsets := make([]store.Labels, series)
	for i := range lsets {
		lsets[i] = store.Labels{{Name: store.MetricName, Value: "http_requests_total"}, {Name: "instance", Value: fmt.Sprintf("host-%d", i%100)}, {Name: "route", Value: fmt.Sprintf("/r%d", i/100)}}
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("outbox=%v", on), func(b *testing.B) {
			o := &store.Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, MaxSeries: 2 * series}
			if on {
				o.Outbox = &store.OutboxOptions{Encode: func(batch []store.SeriesSamples) []byte { body, _ := Encode(batch); return body }, MaxBytes: 1 << 40}
			}
			db, err := store.Open(filepath.Join(b.TempDir(), "atroz.db"), o)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			t := time.Now().Add(-time.Hour).UnixMilli()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % series
				if j == 0 && i > 0 {
					if err := db.Flush(); err != nil {
						b.Fatal(err)
					}
					t += 1000
				}
				if err := db.Append(lsets[j], t, float64(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
