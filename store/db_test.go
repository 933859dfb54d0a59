package store

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if arg := os.Getenv(crashChildEnv); arg != "" {
		path, run, _ := strings.Cut(arg, ",")
		crashChild(path, run)
	}
	goleak.VerifyTestMain(m)
}

// testClock is a settable clock for Options.Now.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// baseTime is the clock start of tests: far enough from zero that retention cutoffs are positive.
var baseTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func openTest(t testing.TB, path string, clk *testClock, mod func(*Options)) *DB {
	t.Helper()
	o := &Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, Now: clk.now}
	if mod != nil {
		mod(o)
	}
	db, err := Open(path, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func lbl(name string, kv ...string) Labels {
	ls := Labels{{MetricName, name}}
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, Label{kv[i], kv[i+1]})
	}
	return ls.normalize()
}

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func selectRaw(t testing.TB, db *DB, ms ...*labels.Matcher) []Series {
	t.Helper()
	out, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: ms}, TierRaw)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	return out
}

func TestAppendFlushReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	t0 := baseTime.UnixMilli() - 3600_000
	const n = 1000 // crosses several chunk boundaries
	for i := range n {
		mustAppend(t, db, lbl("up", "job", "a"), t0+int64(i)*1000, float64(i))
		mustAppend(t, db, lbl("up", "job", "b"), t0+int64(i)*1000, float64(-i))
		if i%77 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(db *DB) {
		t.Helper()
		got := selectRaw(t, db, eq(MetricName, "up"))
		if len(got) != 2 {
			t.Fatalf("got %d series, want 2", len(got))
		}
		for si, sr := range got {
			if len(sr.Samples) != n {
				t.Fatalf("series %s: %d samples, want %d", sr.Labels, len(sr.Samples), n)
			}
			for i, s := range sr.Samples {
				want := float64(i)
				if si == 1 {
					want = -want
				}
				if s.T != t0+int64(i)*1000 || s.V != want {
					t.Fatalf("series %s sample %d = %+v, want t=%d v=%g", sr.Labels, i, s, t0+int64(i)*1000, want)
				}
			}
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	db2 := openTest(t, path, clk, nil)
	check(db2)
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
}

func mustAppend(t testing.TB, db *DB, ls Labels, ts int64, v float64) {
	t.Helper()
	if err := db.Append(ls, ts, v); err != nil {
		t.Fatalf("append %s %d: %v", ls, ts, err)
	}
}

func TestAppendLimits(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), clk, func(o *Options) { o.MaxSeries = 2 })
	now := baseTime.UnixMilli()
	mustAppend(t, db, lbl("m", "a", "1"), now, 1)
	f := func(ls Labels, ts int64, v float64, strict bool, want error) {
		t.Helper()
		var err error
		if strict {
			err = db.AppendStrict(ls, ts, v)
		} else {
			err = db.Append(ls, ts, v)
		}
		if !errors.Is(err, want) {
			t.Fatalf("append %s %d %g: got %v, want %v", ls, ts, v, err, want)
		}
	}
	f(lbl("m", "a", "1"), now-1, 1, false, ErrOutOfOrder)
	f(lbl("m", "a", "1"), now, 2, false, ErrDuplicateSample)
	f(lbl("m", "a", "1"), now, 1, false, nil) // an identical resend is accepted
	f(lbl("m", "a", "1"), now+11*60_000, 1, false, ErrTooFarInFuture)
	f(lbl("m", "a", "1"), now-16*24*3600_000, 1, false, ErrTooOld)
	f(lbl("m", "a", "1"), now+1, math.NaN(), true, ErrNonFinite)
	f(lbl("m", "a", "1"), now+1, math.Inf(-1), true, ErrNonFinite)
	f(lbl("m", "a", "1"), now+1, math.NaN(), false, nil)
	f(Labels{{"a", "1"}}, now, 1, false, ErrInvalidLabels)
	f(Labels{{MetricName, "m"}, {"a", "1"}, {"a", "2"}}, now, 1, false, ErrInvalidLabels)
	f(Labels{{MetricName, "m"}, {"a", "\xff"}}, now, 1, false, ErrInvalidLabels)
	f(lbl("m", "a", string(make([]byte, 3000))), now, 1, false, ErrLabelTooLong)
	f(lbl("m", string(make([]byte, 300)), "x"), now, 1, false, ErrLabelTooLong)
	mustAppend(t, db, lbl("m", "a", "2"), now, 1)
	f(lbl("m", "a", "3"), now, 1, false, ErrSeriesLimit)
	st := db.Stats()
	for reason, want := range map[string]uint64{"out_of_order": 1, "duplicate": 1, "too_far_in_future": 1, "too_old": 1, "non_finite": 2, "invalid_labels": 3, "label_too_long": 2, "series_limit": 1} {
		if st.Refused[reason] != want {
			t.Errorf("refused[%s] = %d, want %d", reason, st.Refused[reason], want)
		}
	}
	if st.Series != 2 {
		t.Errorf("series = %d, want 2", st.Series)
	}
}

type labelsMatcher = labels.Matcher

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func TestEmptyLabelValueMeansAbsent(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "e.db"), &testClock{baseTime}, nil)
	mustAppend(t, db, Labels{{MetricName, "go_info"}, {"GOROOT", ""}, {"version", "go1.26"}}, baseTime.UnixMilli(), 1)
	mustAppend(t, db, Labels{{MetricName, "go_info"}, {"version", "go1.26"}}, baseTime.UnixMilli()+1, 1)
	got := selectRaw(t, db, eq(MetricName, "go_info"))
	if len(got) != 1 || len(got[0].Samples) != 2 || got[0].Labels.String() != `go_info{version="go1.26"}` {
		t.Fatalf("got %+v", got)
	}
}

// TestFlushStartCoversEarlierAppends checks where LastFlushStart lies: after
// the appends the flush wrote, and no later than the flush's end.
func TestFlushStartCoversEarlierAppends(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "f.db"), &testClock{baseTime}, nil)
	if st := db.Stats(); !st.LastFlushStart.IsZero() {
		t.Fatalf("LastFlushStart before any flush = %s", st.LastFlushStart)
	}
	mustAppend(t, db, lbl("m", "a", "1"), baseTime.UnixMilli(), 1)
	appended := time.Now()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.LastFlushStart.Before(appended) || st.LastFlushStart.After(st.LastFlush) {
		t.Errorf("LastFlushStart %s, want between the append (%s) and LastFlush (%s)", st.LastFlushStart, appended, st.LastFlush)
	}
}
