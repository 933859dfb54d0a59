package store

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

func TestCardinality(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	now := baseTime.UnixMilli()
	empty := db.Cardinality(10)
	if empty.NumSeries != 0 || empty.ChunkCount != 0 || empty.MinTime != math.MaxInt64 || empty.MaxTime != math.MinInt64 || len(empty.SeriesByPair) != 0 {
		t.Fatalf("empty store: %+v", empty)
	}
	for i, ls := range []Labels{
		lbl("http_requests_total", "code", "200", "route", "/a"),
		lbl("http_requests_total", "code", "500", "route", "/a"),
		lbl("http_requests_total", "code", "200", "route", "/b"),
		lbl("up", "job", "x"),
	} {
		mustAppend(t, db, ls, now+int64(i), 1)
	}
	c := db.Cardinality(2)
	if c.NumSeries != 4 || c.ChunkCount != 4 || c.MinTime != now || c.MaxTime != now+3 {
		t.Fatalf("head: %+v", c)
	}
	// __name__: 2 values, code: 2, route: 2, job: 1 — 7 pairs.
	if c.NumLabelPairs != 7 {
		t.Errorf("label pairs: %d, want 7", c.NumLabelPairs)
	}
	f := func(what string, got, want []Stat) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	f("series by metric", c.SeriesByMetric, []Stat{{"http_requests_total", 3}, {"up", 1}})
	f("values by label", c.ValuesByLabel, []Stat{{"__name__", 2}, {"code", 2}})
	f("series by pair", c.SeriesByPair, []Stat{{"__name__=http_requests_total", 3}, {"code=200", 2}})
	// labels.SizeOfLabels counts a byte of length for the name and one for
	// the value: __name__ is (8+19+2)*3 + (8+2+2)*1 = 99 bytes, code
	// (4+3+2)*3 = 27, route (5+2+2)*3 = 27, which code passes by name.
	f("bytes by label", c.BytesByLabel, []Stat{{"__name__", 99}, {"code", 27}})
}

func TestTopK(t *testing.T) {
	f := func(k int, in []Stat, want []Stat) {
		t.Helper()
		top := newTopK(k)
		for _, s := range in {
			top.push(s)
		}
		if got := top.sorted(); !slices.Equal(got, want) {
			t.Errorf("top %d of %v: %v, want %v", k, in, got, want)
		}
	}
	f(1, nil, []Stat{})
	f(2, []Stat{{"a", 1}, {"b", 3}, {"c", 2}}, []Stat{{"b", 3}, {"c", 2}})
	f(2, []Stat{{"c", 2}, {"b", 2}, {"a", 2}}, []Stat{{"a", 2}, {"b", 2}})
	f(5, []Stat{{"a", 1}, {"b", 3}}, []Stat{{"b", 3}, {"a", 1}})
}

func BenchmarkCardinality(b *testing.B) {
	clk := &testClock{baseTime}
	db := openTest(b, filepath.Join(b.TempDir(), "c.db"), clk, nil)
	now := baseTime.UnixMilli()
	for i := range 10_000 {
		ls := lbl(fmt.Sprintf("metric_%d", i%100), "route", fmt.Sprintf("/r/%d", i%500), "code", fmt.Sprint(200+i%5), "instance", fmt.Sprint(i))
		mustAppend(b, db, ls, now, 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if c := db.Cardinality(10); c.NumSeries != 10_000 {
			b.Fatalf("series: %d", c.NumSeries)
		}
	}
}
