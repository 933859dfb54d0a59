package store

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestLimitedReaderExact: a limited Reader takes exactly the samples in
// range, whatever the range cuts (flushed chunks, chunks closed since the
// flush, the open chunk): a budget of that count reads them all, one less
// is refused.
func TestLimitedReaderExact(t *testing.T) {
	db, t0 := readerData(t)
	f := func(mint, maxt int64) {
		t.Helper()
		all := db.Reader()
		defer func() { _ = all.Close() }()
		series, err := all.Select(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range series {
			got, _ := readAll(t, &series[i], nil)
			n += len(got)
		}
		r := db.LimitedReader(n)
		if _, err := r.Select(mint, maxt); err != nil {
			t.Errorf("[%d, %d]: a budget of its %d samples: %v", mint, maxt, n, err)
		}
		_ = r.Close()
		r = db.LimitedReader(n - 1)
		if _, err := r.Select(mint, maxt); !errors.Is(err, ErrReadLimit) {
			t.Errorf("[%d, %d]: a budget of %d samples: %v, want ErrReadLimit", mint, maxt, n-1, err)
		}
		_ = r.Close()
	}
	end := baseTime.UnixMilli()
	f(t0, end)
	f(t0+100_000, end-100_000)
	f(t0+777_777, t0+1_234_567)
	f(t0+1_990_000, end) // the newest samples only
	f(t0-1, end+1)
}

// TestLimitedReaderStopsEarly: a read of a store far larger than the
// budget is refused having copied about the budget's chunks, not the
// store; the budget counts across a Reader's Selects.
func TestLimitedReaderStopsEarly(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "big.db"), clk, nil)
	const series, per = 200, 2400 // 480,000 samples, 1,000 chunks
	t0 := baseTime.UnixMilli() - per*1000
	for i := range per {
		for s := range series {
			mustAppend(t, db, lbl("big", "s", string(rune('a'+s%26))+string(rune('a'+s/26))), t0+int64(i)*1000, float64(i*s))
		}
	}
	mustFlush(t, db)
	const budget = 10_000
	r := db.LimitedReader(budget)
	defer func() { _ = r.Close() }()
	if _, err := r.Select(0, baseTime.UnixMilli()); !errors.Is(err, ErrReadLimit) {
		t.Fatalf("select of 480,000 samples with a budget of %d: %v, want ErrReadLimit", budget, err)
	}
	// Every chunk copied was counted first: the buffers hold the budget's
	// chunks and at most the one that passed it was not copied.
	copied := 0
	for range r.bufs {
		copied += readBufSize
	}
	full := db.Reader()
	defer func() { _ = full.Close() }()
	if _, err := full.Select(0, baseTime.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if all := len(full.bufs) * readBufSize; copied*10 > all {
		t.Errorf("a refused read copied %d bytes, a whole read %d: want a tenth at most", copied, all)
	}
	t.Logf("copied %d of %d bytes", copied, len(full.bufs)*readBufSize)

	r2 := db.LimitedReader(3 * per)
	defer func() { _ = r2.Close() }()
	for i, want := range []error{nil, nil, nil, ErrReadLimit} {
		name := string(rune('a'+i)) + "a"
		if _, err := r2.Select(0, baseTime.UnixMilli(), eq("s", name)); (want == nil) != (err == nil) || want != nil && !errors.Is(err, want) {
			t.Errorf("select %d of one series of %d samples, budget %d: %v, want %v", i, per, 3*per, err, want)
		}
	}
}
