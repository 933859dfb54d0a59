package store

import (
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestSelectMatchers(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"), clk, nil)
	now := baseTime.UnixMilli()
	for _, ls := range []Labels{
		lbl("http_requests_total", "code", "200", "route", "/a"),
		lbl("http_requests_total", "code", "500", "route", "/a"),
		lbl("http_requests_total", "code", "404", "route", "/b"),
		lbl("http_requests_total", "route", "/c"),
		lbl("other", "code", "200"),
	} {
		mustAppend(t, db, ls, now, 1)
	}
	f := func(want []string, ms ...*labels.Matcher) {
		t.Helper()
		got := selectRaw(t, db, ms...)
		var names []string
		for _, s := range got {
			names = append(names, s.Labels.String())
		}
		if len(names) != len(want) {
			t.Fatalf("select %v: %v, want %v", ms, names, want)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Fatalf("select %v: %v, want %v", ms, names, want)
			}
		}
	}
	m := func(typ labels.MatchType, n, v string) *labels.Matcher { return labels.MustNewMatcher(typ, n, v) }
	name := m(labels.MatchEqual, MetricName, "http_requests_total")
	f([]string{`http_requests_total{code="200",route="/a"}`, `http_requests_total{code="500",route="/a"}`}, name, m(labels.MatchEqual, "route", "/a"))
	f([]string{`http_requests_total{code="404",route="/b"}`, `http_requests_total{code="500",route="/a"}`, `http_requests_total{route="/c"}`}, name, m(labels.MatchNotEqual, "code", "200"))
	f([]string{`http_requests_total{code="404",route="/b"}`, `http_requests_total{code="500",route="/a"}`}, name, m(labels.MatchRegexp, "code", "[45].."))
	f([]string{`http_requests_total{code="200",route="/a"}`, `http_requests_total{route="/c"}`}, name, m(labels.MatchNotRegexp, "code", "[45].*"))
	// A regexp is anchored, as in Prometheus.
	f(nil, name, m(labels.MatchRegexp, "code", "0"))
	// Without a name matcher every series is a candidate.
	f([]string{`http_requests_total{code="200",route="/a"}`, `other{code="200"}`}, m(labels.MatchEqual, "code", "200"))
	f([]string{`other{code="200"}`}, m(labels.MatchRegexp, MetricName, "oth.*"))
	// A range with no samples returns no series.
	got, err := db.SelectTier(Query{MinT: now + 1, MaxT: now + 2, Matchers: []*labels.Matcher{name}}, TierRaw)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty range: %v, %v", got, err)
	}
	if _, err := db.Select(Query{MinT: 2, MaxT: 1}); err == nil {
		t.Fatal("select with start after end: no error")
	}
}

// TestConcurrentAppendFlushSelect runs writers, the flusher and readers at
// once; with -race it checks the locking, and every read must be a prefix
// of what was written: no sample missing, doubled or out of order at a
// flush or chunk boundary.
func TestConcurrentAppendFlushSelect(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	const writers, per = 4, 1500
	t0 := baseTime.UnixMilli() - per*1000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls := lbl("conc", "w", string(rune('a'+w)))
			for i := range per {
				if err := db.Append(ls, t0+int64(i)*1000, float64(i)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := db.Flush(); err != nil {
					t.Errorf("flush: %v", err)
				}
			}
		}
	}()
	go func() {
		defer bg.Done()
		r := rand.New(rand.NewPCG(3, 4))
		for {
			select {
			case <-stop:
				return
			default:
				checkPrefix(t, db, r)
			}
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	for _, s := range selectRaw(t, db, eq(MetricName, "conc")) {
		if len(s.Samples) != per {
			t.Fatalf("%s: %d samples, want %d", s.Labels, len(s.Samples), per)
		}
	}
}

func checkPrefix(t *testing.T, db *DB, r *rand.Rand) {
	tier := []Tier{TierRaw, TierMinute}[r.IntN(2)]
	got, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: []*labels.Matcher{eq(MetricName, "conc")}}, tier)
	if err != nil {
		t.Errorf("select: %v", err)
		return
	}
	for _, s := range got {
		prev := int64(minInt64)
		for i, smp := range s.Samples {
			if smp.T <= prev || (tier == TierRaw && smp.V != float64(i)) {
				t.Errorf("%s %s: sample %d = %+v after t=%d", tier, s.Labels, i, smp, prev)
				return
			}
			prev = smp.T
		}
	}
}
