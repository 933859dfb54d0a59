package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// startVictoriaMetrics runs Debian's VictoriaMetrics on a loopback port
// and returns its URL.
func startVictoriaMetrics(t testing.TB) string {
	t.Helper()
	addr := extserver.FreeAddr(t)
	extserver.Start(t, "/usr/bin/victoria-metrics", "victoria-metrics", "http://"+addr+"/health",
		"-httpListenAddr="+addr, "-storageDataPath="+t.TempDir(), "-retentionPeriod=100y", "-search.latencyOffset=0s",
		"-search.disableCache")
	return "http://" + addr
}

// TestBackendAnswersAsTheStore writes the same 40 minutes of two counters
// to the store and to VictoriaMetrics, and asks an Engine over each the
// same instant and range queries, lookups and rule query: an Engine whose
// Backend is VictoriaMetrics answers as the one over the store, for
// queries whose meaning both engines share (selectors, offsets,
// aggregations, arithmetic). MetricsQL differs from PromQL elsewhere: its
// rate() does not extrapolate, and its max_over_time() keeps the metric
// name, so those are the backend's answers, not the store's.
func TestBackendAnswersAsTheStore(t *testing.T) {
	vm := startVictoriaMetrics(t)
	db := openStore(t, time.Time{})
	now := time.Now().Truncate(time.Minute)
	var text strings.Builder
	for i := 160; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * 15 * time.Second)
		for route, per := range map[string]float64{"/a": 3, "/b": 5} {
			v := float64(160-i) * per
			ls := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "route", Value: route}, {Name: "service", Value: "shop"}}
			if err := db.Append(ls, ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&text, "http_requests_total{route=%q,service=\"shop\"} %g %d\n", route, v, ts.UnixMilli())
		}
	}
	resp, err := http.Post(vm+"/api/v1/import/prometheus", "text/plain", strings.NewReader(text.String()))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("import into VictoriaMetrics: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if resp, err := http.Get(vm + "/internal/force_flush"); err == nil {
		_ = resp.Body.Close()
	}
	b, err := NewBackend(BackendConfig{URL: vm, Headers: map[string]string{"X-Scope-OrgID": "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	empty := openStore(t, time.Time{})
	local, remote := New(db, nil), New(empty, &Options{Backend: b})
	ctx := context.Background()

	// The backend indexes what it took within a moment: wait until it answers.
	extserver.Eventually(t, 10*time.Second, "VictoriaMetrics to serve the import", func() bool {
		v, _, err := remote.Instant(ctx, `count(http_requests_total)`, now)
		vec, _ := v.(promql.Vector)
		return err == nil && len(vec) == 1 && vec[0].F == 2
	})
	for _, qs := range []string{
		`http_requests_total`,
		`sum by (route) (http_requests_total{service="shop"})`,
		`http_requests_total{route="/b"} offset 10m`,
		`http_requests_total{route="/a"} / 3`,
	} {
		want, _, err := local.Instant(ctx, qs, now)
		if err != nil {
			t.Fatal(err)
		}
		got, notes, err := remote.Instant(ctx, qs, now)
		if err != nil {
			t.Fatalf("%s over the backend: %v", qs, err)
		}
		if _, infos := notes.AsStrings("", 0, 0); len(infos) != 1 || !strings.Contains(infos[0], "QUERY_BACKEND_MODE=forward") {
			t.Errorf("%s over the backend: infos %q, want the forwarded note", qs, infos)
		}
		if !sameVector(got.(promql.Vector), want.(promql.Vector)) {
			t.Errorf("%s:\nbackend %v\nstore   %v", qs, got, want)
		}
	}
	start, end, step := now.Add(-30*time.Minute), now, time.Minute
	want, _, err := local.Range(ctx, `sum(http_requests_total)`, start, end, step)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := remote.Range(ctx, `sum(http_requests_total)`, start, end, step)
	if err != nil || len(got) != 1 || len(got[0].Floats) != 31 || !sameSeries(got[0], want[0]) {
		t.Errorf("range over the backend: %v %v\nstore: %v", got, err, want)
	}

	// Lookups and the rules' queries go to the backend too.
	names, err := remote.LabelNames(nil)
	if err != nil || strings.Join(names, ",") != "__name__,route,service" {
		t.Errorf("label names over the backend: %v %v", names, err)
	}
	values, err := remote.LabelValues("route", [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "service", "shop")}})
	if err != nil || strings.Join(values, ",") != "/a,/b" {
		t.Errorf("route values over the backend: %v %v", values, err)
	}
	series, err := remote.Series([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "route", "/b")})
	if err != nil || len(series) != 1 || series[0].Get("service") != "shop" {
		t.Errorf("series over the backend: %v %v", series, err)
	}
	// Lookups over a range send it along (VictoriaMetrics' index is by day,
	// so a range is checked only where it holds data).
	mint, maxt := now.Add(-10*time.Minute).UnixMilli(), now.UnixMilli()
	ranged, err := remote.SeriesBetween(mint, maxt, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "route", "/a")})
	if err != nil || len(ranged) != 1 {
		t.Errorf("series over the backend in a range: %v %v", ranged, err)
	}
	values, err = remote.LabelValuesBetween("route", mint, maxt, nil)
	if err != nil || strings.Join(values, ",") != "/a,/b" {
		t.Errorf("route values over the backend in a range: %v %v", values, err)
	}
	names, err = remote.LabelNamesBetween(mint, maxt, nil)
	if err != nil || strings.Join(names, ",") != "__name__,route,service" {
		t.Errorf("label names over the backend in a range: %v %v", names, err)
	}
	vec, err := remote.QueryFunc()(ctx, `sum(rate(http_requests_total[5m])) > 0`, now)
	if err != nil || len(vec) != 1 || vec[0].F <= 0 {
		t.Errorf("a rule's query over the backend: %v %v", vec, err)
	}

	// A query the backend refuses is a bad query, as the store's engine
	// answers it; a query AtroZ cannot parse never reaches the backend.
	if _, _, err := remote.Instant(ctx, `rate(http_requests_total[5m]) @ foo`, now); !errors.Is(err, ErrBadQuery) {
		t.Errorf("an unparsable query: %v, want ErrBadQuery", err)
	}
}

// TestBackendDown answers a query with the backend's failure, not an
// empty result.
func TestBackendDown(t *testing.T) {
	b, err := NewBackend(BackendConfig{URL: "http://" + extserver.FreeAddr(t), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t, time.Time{})
	for _, read := range []bool{false, true} {
		e := New(db, &Options{Backend: b, BackendRead: read})
		_, _, err := e.Instant(context.Background(), `up`, time.Now())
		var st promql.ErrStorage
		if !errors.Is(err, ErrBackend) && !(errors.As(err, &st) && errors.Is(st.Err, ErrBackend)) {
			t.Fatalf("a query with the backend down (BackendRead %v): %v", read, err)
		}
	}
	if _, err := NewBackend(BackendConfig{URL: "http://u:p@vm:8428", BearerToken: "x"}); err == nil {
		t.Fatal("a bearer token beside basic auth was taken")
	}
	if _, err := NewBackend(BackendConfig{URL: "vm:8428"}); err == nil || !strings.Contains(err.Error(), "QUERY_BACKEND_URL") {
		t.Fatalf("a URL without a scheme: %v", err)
	}
}

func sameVector(a, b promql.Vector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		j := -1
		for k := range b {
			if labels.Equal(a[i].Metric, b[k].Metric) {
				j = k
			}
		}
		if j < 0 || a[i].T != b[j].T || math.Abs(a[i].F-b[j].F) > 1e-9 {
			return false
		}
	}
	return true
}

func sameSeries(a, b promql.Series) bool {
	if len(a.Floats) != len(b.Floats) {
		return false
	}
	for i := range a.Floats {
		if a.Floats[i].T != b.Floats[i].T || math.Abs(a.Floats[i].F-b.Floats[i].F) > 1e-9 {
			return false
		}
	}
	return true
}

// TestMatchesPrometheusStorageOverBackend runs the differential test with
// VictoriaMetrics in place of the store: the generated data (each value
// cut to 9 significant digits, which VictoriaMetrics keeps exactly) is
// imported into it, and an Engine over an empty store reads it back as raw samples
// (BackendRead). Every query, instant and range, answers as Prometheus'
// engine over its own TSDB: MetricsQL's different rate() and names never
// show, since VictoriaMetrics only serves samples.
func TestMatchesPrometheusStorageOverBackend(t *testing.T) {
	vm := startVictoriaMetrics(t)
	// VictoriaMetrics keeps a value as a decimal mantissa with an exponent
	// its block shares, so a value of many digits can come back a few ulps
	// off (delta() over two such values then differs past 1e-12); values of
	// 9 significant digits come back as they went, so both sides hold the
	// same data.
	l := loadBothWith(t, func(v float64) float64 {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 9, 64), 64)
		return r
	})
	var text strings.Builder
	series, err := l.db.Select(store.Query{MinT: dataEnd.Add(-dataSpan - time.Minute).UnixMilli(), MaxT: dataEnd.UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range series {
		lset := s.Labels.Prometheus()
		line := lset.Get(store.MetricName) + labels.NewBuilder(lset).Del(store.MetricName).Labels().String()
		for _, smp := range s.Samples {
			fmt.Fprintf(&text, "%s %s %d\n", line, strconv.FormatFloat(smp.V, 'g', -1, 64), smp.T)
			n++
		}
	}
	resp, err := http.Post(vm+"/api/v1/import/prometheus", "text/plain", strings.NewReader(text.String()))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("import into VictoriaMetrics: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if resp, err := http.Get(vm + "/internal/force_flush"); err == nil {
		_ = resp.Body.Close()
	}
	b, err := NewBackend(BackendConfig{URL: vm})
	if err != nil {
		t.Fatal(err)
	}
	empty := openStore(t, dataEnd)
	ours := New(empty, &Options{Backend: b, BackendRead: true})
	extserver.Eventually(t, 10*time.Second, "VictoriaMetrics to serve every imported sample", func() bool {
		v, _, err := ours.Instant(context.Background(), `sum(count_over_time({__name__=~".+"}[5h]))`, dataEnd)
		vec, _ := v.(promql.Vector)
		return err == nil && len(vec) == 1 && int(vec[0].F) == n
	})
	matchesPrometheusStorageWith(t, ours, l)
}

// openStore opens an empty store, flushing and pruning only when told,
// whose clock stands at now (the wall clock when zero), closed when the
// test ends.
func openStore(t testing.TB, now time.Time) *store.DB {
	t.Helper()
	o := &store.Options{FlushInterval: -1, PruneInterval: -1}
	if !now.IsZero() {
		o.Now = func() time.Time { return now }
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "q.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
