package store

import (
	"path/filepath"
	"testing"
)

// TestOnFlush gets each committed flush's samples once, grouped by series,
// and nothing for a flush with nothing new.
func TestOnFlush(t *testing.T) {
	clk := &testClock{baseTime}
	var got [][]SeriesSamples
	db := openTest(t, filepath.Join(t.TempDir(), "f.db"), clk, func(o *Options) {
		o.OnFlush = func(s []SeriesSamples) { got = append(got, s) }
	})
	now := baseTime.UnixMilli()
	a, b := Labels{{"__name__", "a"}}, Labels{{"__name__", "b"}}
	for i, app := range []struct {
		ls Labels
		t  int64
		v  float64
	}{{a, now, 1}, {a, now + 1000, 2}, {b, now, 3}} {
		if err := db.Append(app.ls, app.t, app.v); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if len(got) != 0 {
		t.Fatal("samples forwarded before their flush")
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("flushes forwarded: %+v, want one with two series", got)
	}
	n := 0
	for _, s := range got[0] {
		n += len(s.Samples)
		if s.Labels.String() == a.String() && (len(s.Samples) != 2 || s.Samples[1] != (Sample{now + 1000, 2})) {
			t.Errorf("series a: %+v", s.Samples)
		}
	}
	if n != 3 {
		t.Errorf("%d samples forwarded, want 3", n)
	}
}

// TestOnFlushAcrossChunkCut: samples whose open chunk closed before the
// flush (it filled up) are forwarded too, in order, each once.
func TestOnFlushAcrossChunkCut(t *testing.T) {
	clk := &testClock{baseTime}
	var got []Sample
	db := openTest(t, filepath.Join(t.TempDir(), "f.db"), clk, func(o *Options) {
		o.OnFlush = func(ss []SeriesSamples) {
			for _, s := range ss {
				got = append(got, s.Samples...)
			}
		}
	})
	now := baseTime.UnixMilli()
	ls := Labels{{"__name__", "burst"}}
	n := 3*maxChunkSamples + 7 // three chunks fill up between two flushes
	for i := range n {
		if err := db.Append(ls, now+int64(i)*100, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d samples forwarded, want %d", len(got), n)
	}
	for i, s := range got {
		if s != (Sample{now + int64(i)*100, float64(i)}) {
			t.Fatalf("sample %d forwarded as %+v", i, s)
		}
	}
}
