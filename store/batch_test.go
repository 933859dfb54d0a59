package store

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func series(ls Labels, samples ...Sample) SeriesSamples {
	return SeriesSamples{Labels: ls, Samples: samples}
}

// snapshot is what a refused batch must leave as it was.
type snapshot struct {
	stats, samples string
}

func takeSnapshot(t *testing.T, db *DB) snapshot {
	t.Helper()
	st := db.Stats()
	st.Refused, st.FileBytes = nil, 0
	return snapshot{fmt.Sprintf("%+v", st), fmt.Sprint(selectRaw(t, db))}
}

func TestAppendAllRefusesWhole(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "b.db"), clk, func(o *Options) { o.MaxSeries = 4 })
	now := baseTime.UnixMilli()
	old := lbl("stored", "k", "v")
	mustAppend(t, db, old, now-10_000, 1)
	mustAppend(t, db, lbl("stored", "k", "w"), now-10_000, 1)
	good := series(lbl("fresh", "k", "a"), Sample{now - 5000, 1}, Sample{now - 4000, 2})
	f := func(name string, batch []SeriesSamples, reason error, count, atSeries, atSample int) {
		t.Helper()
		before := takeSnapshot(t, db)
		refusedBefore := db.Stats().Refused
		err := db.AppendAll(batch)
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, reason) {
			t.Fatalf("%s: %v, want a RefusedError for %v", name, err, reason)
		}
		if re.Refused() != count || re.Total != countSamples(batch) || len(re.Reasons) != 1 || re.Reasons[0].Count != count {
			t.Fatalf("%s: refused %d of %d %+v, want %d of %d", name, re.Refused(), re.Total, re.Reasons, count, countSamples(batch))
		}
		if re.Series != atSeries || re.Sample != atSample {
			t.Fatalf("%s: first refused at [%d][%d], want [%d][%d]", name, re.Series, re.Sample, atSeries, atSample)
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%s %d", re.Reasons[0].Name, count)) || !strings.Contains(msg, "appended none") {
			t.Fatalf("%s: message %q names neither reason and count nor the outcome", name, msg)
		}
		if after := takeSnapshot(t, db); after != before {
			t.Fatalf("%s: a refused batch changed the store:\n%+v\n%+v", name, before, after)
		}
		if got := db.Stats().Refused[re.Reasons[0].Name] - refusedBefore[re.Reasons[0].Name]; got != uint64(count) {
			t.Fatalf("%s: Stats.Refused grew by %d, want %d", name, got, count)
		}
	}
	f("behind the stored sample", []SeriesSamples{good, series(old, Sample{now - 20_000, 5}, Sample{now - 1000, 6})}, ErrOutOfOrder, 1, 1, 0)
	f("behind its own batch", []SeriesSamples{good, series(lbl("fresh", "k", "b"), Sample{now - 2000, 1}, Sample{now - 3000, 2}, Sample{now - 4000, 3})}, ErrOutOfOrder, 2, 1, 1)
	f("behind in a second entry of the series", []SeriesSamples{good, series(good.Labels, Sample{now - 4500, 5})}, ErrOutOfOrder, 1, 1, 0)
	f("another value at the stored time", []SeriesSamples{good, series(old, Sample{now - 10_000, 2})}, ErrDuplicateSample, 1, 1, 0)
	f("older than the raw retention", []SeriesSamples{good, series(old, Sample{now - DefaultRawRetention.Milliseconds() - 1, 2})}, ErrTooOld, 1, 1, 0)
	f("too far ahead", []SeriesSamples{good, series(old, Sample{now + time.Hour.Milliseconds(), 2})}, ErrTooFarInFuture, 1, 1, 0)
	f("no metric name", []SeriesSamples{good, series(Labels{{"job", "x"}}, Sample{now, 1}, Sample{now + 1, 1})}, ErrInvalidLabels, 2, 1, 0)
	// Two series stored, room for two more: the third and fourth new series are refused.
	f("past the series limit", []SeriesSamples{
		good,
		series(lbl("fresh", "k", "b"), Sample{now, 1}),
		series(lbl("fresh", "k", "c"), Sample{now, 1}, Sample{now + 1, 1}),
		series(lbl("fresh", "k", "d"), Sample{now, 1}),
		series(old, Sample{now, 1}), // stored already: needs no room
	}, ErrSeriesLimit, 3, 2, 0)
}

func TestAppendAllCountsEveryReason(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "b.db"), clk, nil)
	now := baseTime.UnixMilli()
	err := db.AppendAll([]SeriesSamples{
		series(lbl("a"), Sample{now, 1}, Sample{now - 1, 1}, Sample{now + 2*time.Hour.Milliseconds(), 1}),
		series(lbl("b"), Sample{0, 1}, Sample{1, 1}),
	})
	want := "refused 4 of 5 samples, appended none: out_of_order 1, too_far_in_future 1, too_old 2; first: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("%v\nwant it to start %q", err, want)
	}
	for _, e := range []error{ErrOutOfOrder, ErrTooFarInFuture, ErrTooOld} {
		if !errors.Is(err, e) {
			t.Errorf("error does not wrap %v", e)
		}
	}
}

func TestAppendAllTakesEveryValue(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "b.db"), clk, nil)
	now := baseTime.UnixMilli()
	ls := lbl("up", "job", "a")
	want := []Sample{{now - 4000, 1}, {now - 3000, staleNaN}, {now - 2000, math.NaN()}, {now - 1000, math.Inf(1)}, {now, math.Inf(-1)}}
	if err := db.AppendAll([]SeriesSamples{series(ls, want[:3]...), series(lbl("other"), Sample{now, 1}), series(ls, want[3:]...)}); err != nil {
		t.Fatal(err)
	}
	wantSamples(t, db, "appended", ls, want)
	// A resend of the whole batch adds nothing and is refused for what it
	// holds behind the series' last sample, as Prometheus refuses it.
	if err := db.AppendAll([]SeriesSamples{series(ls, want[4])}); err != nil {
		t.Fatalf("a resend of the last sample: %v", err)
	}
	if err := db.AppendAll([]SeriesSamples{series(ls, want...)}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("a resend of the whole series: %v, want out of order", err)
	}
	wantSamples(t, db, "after resends", ls, want)
	if st := db.Stats(); st.Appended != 6 || st.Series != 2 {
		t.Fatalf("appended %d samples in %d series, want 6 in 2", st.Appended, st.Series)
	}
	if err := db.AppendAll(nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
}

// TestAppendAllIsAtomic races, round by round, a batch of two samples of
// series a (and one of b) against a single append to a between them: one
// of the two wins each round, and the batch is in the store whole, or
// refused and absent whole.
func TestAppendAllIsAtomic(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "b.db"), clk, nil)
	now := baseTime.UnixMilli()
	const rounds = 300
	taken := map[int64]bool{}
	wins := 0
	for i := range rounds {
		t0 := now - 1_000_000 + int64(i)*3000
		batch := []SeriesSamples{
			series(lbl("race", "s", "a"), Sample{t0, 1}, Sample{t0 + 1000, 1}),
			series(lbl("race", "s", "b"), Sample{t0, 1}),
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		var err error
		wg.Go(func() { <-start; err = db.AppendAll(batch) })
		wg.Go(func() { <-start; _ = db.Append(lbl("race", "s", "a"), t0+500, -1) })
		close(start)
		wg.Wait()
		var re *RefusedError
		if err != nil && !errors.As(err, &re) {
			t.Fatal(err)
		}
		taken[t0] = err == nil
		if err == nil {
			wins++
		}
	}
	got := map[string]map[int64]bool{"a": {}, "b": {}}
	for _, sr := range selectRaw(t, db, eq(MetricName, "race")) {
		for _, s := range sr.Samples {
			if s.V > 0 {
				got[sr.Labels.Get("s")][s.T] = true
			}
		}
	}
	for t0, ok := range taken {
		if got["a"][t0] != ok || got["a"][t0+1000] != ok || got["b"][t0] != ok {
			t.Fatalf("batch at %d: taken %v, stored a:%v,%v b:%v", t0, ok, got["a"][t0], got["a"][t0+1000], got["b"][t0])
		}
	}
	t.Logf("the batch won %d of %d rounds", wins, rounds)
}

func TestReserveSeries(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), clk, func(o *Options) { o.MaxSeries = 5 })
	now := baseTime.UnixMilli()
	mustAppend(t, db, lbl("a"), now, 1)
	mustAppend(t, db, lbl("b"), now, 1)
	// Existing series need no room; the three new ones take the rest.
	if err := db.ReserveSeries([]Labels{lbl("a"), lbl("c"), {{"k", "v"}, {MetricName, "d"}}, lbl("e")}); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Series != 2 || st.ReservedSeries != 3 {
		t.Fatalf("%d series, %d reserved; want 2 and 3", st.Series, st.ReservedSeries)
	}
	if err := db.Append(lbl("x"), now, 1); !errors.Is(err, ErrSeriesLimit) {
		t.Fatalf("an unreserved series took reserved room: %v", err)
	}
	var sle *SeriesLimitError
	if err := db.ReserveSeries([]Labels{lbl("c"), lbl("y")}); !errors.As(err, &sle) || sle.New != 1 || sle.Used != 5 || sle.Limit != 5 {
		t.Fatalf("reserving past the limit: %v", err)
	}
	if st := db.Stats(); st.ReservedSeries != 3 {
		t.Fatalf("a refused reservation left %d reserved, want 3", st.ReservedSeries)
	}
	// Reserved series are created, by any append.
	mustAppend(t, db, lbl("c"), now, 1)
	mustAppend(t, db, lbl("d", "k", "v"), now, 1)
	if err := db.AppendAll([]SeriesSamples{series(lbl("e"), Sample{now, 1})}); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Series != 5 || st.ReservedSeries != 0 {
		t.Fatalf("%d series, %d reserved; want 5 and 0", st.Series, st.ReservedSeries)
	}
	if err := db.ReserveSeries([]Labels{{{"job", "x"}}}); !errors.Is(err, ErrInvalidLabels) {
		t.Fatalf("reserving labels without a name: %v", err)
	}
}

// TestReopenKeepsOrder appends behind a series' flushed chunk after a
// reopen with no open chunk to restore: it is refused, where it used to be
// acknowledged, hidden, and then written over the chunk with its start.
func TestReopenKeepsOrder(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "o.db")
	db := openTest(t, path, clk, nil)
	ls := lbl("m")
	t0 := baseTime.UnixMilli()
	var want []Sample
	for i := range int64(10) {
		want = append(want, Sample{t0 + i*1000, float64(i)})
		mustAppend(t, db, ls, t0+i*1000, float64(i))
	}
	clk.t = clk.t.Add(2 * time.Hour) // the flush closes the chunk: nothing stays open
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	if err := db.Append(ls, t0, 99); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("append at the chunk's start after reopen: %v, want out of order", err)
	}
	mustAppend(t, db, ls, t0+9000, 9) // the last sample, resent
	if err := db.Append(ls, t0+9000, 8); !errors.Is(err, ErrDuplicateSample) {
		t.Fatalf("another value at the last sample's time: %v", err)
	}
	mustAppend(t, db, ls, t0+20_000, 100)
	want = append(want, Sample{t0 + 20_000, 100})
	clk.t = clk.t.Add(2 * time.Hour)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	wantSamples(t, db, "after reopen", ls, want)
}
