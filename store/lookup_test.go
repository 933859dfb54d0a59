package store

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeriesBetween(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "l.db"), clk, nil)
	now := baseTime.UnixMilli()
	hour := time.Hour.Milliseconds()
	// old's first chunk closes when a sample more than two hours later
	// comes, and the flush writes it: only the disk holds [now-3h].
	mustAppend(t, db, lbl("m", "s", "old"), now-3*hour, 1)
	mustAppend(t, db, lbl("m", "s", "old"), now, 2)
	mustAppend(t, db, lbl("m", "s", "new"), now, 3)
	// history past the raw retention lands in the rollup tiers only.
	past := now - 300*24*hour
	if _, err := db.Import(strings.NewReader(fmt.Sprintf("m{s=\"past\"} 4 %d\n", past)), ImportOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	f := func(mint, maxt int64, want ...string) {
		t.Helper()
		got, err := db.SeriesBetween(mint, maxt, eq(MetricName, "m"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ls := range got {
			names = append(names, ls.Get("s"))
		}
		if !slices.Equal(names, want) {
			t.Errorf("series in [%d, %d]: %v, want %v", mint-now, maxt-now, names, want)
		}
		vals, err := db.LabelValuesBetween("s", mint, maxt, eq(MetricName, "m"))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if !slices.Equal(vals, want) {
			t.Errorf("values in [%d, %d]: %v, want %v", mint-now, maxt-now, vals, want)
		}
	}
	f(now-time.Minute.Milliseconds(), now, "new", "old")
	f(now-3*hour-1, now-3*hour+1, "old")
	f(now-2*hour, now-hour)
	f(past-hour, past+hour, "past")
	f(minInt64, maxInt64, "new", "old", "past")
	if _, err := db.SeriesBetween(now, now-1); err == nil {
		t.Error("start after end: no error")
	}
	names, err := db.LabelNamesBetween(now-3*hour-1, now-3*hour+1)
	if err != nil || !slices.Equal(names, []string{MetricName, "s"}) {
		t.Errorf("label names: %v, %v", names, err)
	}
}

func BenchmarkSeriesBetween(b *testing.B) {
	clk := &testClock{baseTime}
	db := openTest(b, filepath.Join(b.TempDir(), "l.db"), clk, nil)
	now := baseTime.UnixMilli()
	for i := range 5_000 {
		mustAppend(b, db, lbl("m", "i", fmt.Sprint(i)), now-time.Duration(i%3).Milliseconds()*3600_000, 1)
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.SeriesBetween(now-time.Hour.Milliseconds(), now); err != nil {
			b.Fatal(err)
		}
	}
}
