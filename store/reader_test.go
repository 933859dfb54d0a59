package store

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// readerData appends three series whose samples lie in every place a read
// finds them: flushed chunks, a chunk closed since the last flush, and the
// open chunk. Timestamps are irregular; one series has a gap.
func readerData(t *testing.T) (*DB, int64) {
	t.Helper()
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), clk, nil)
	r := rand.New(rand.NewPCG(5, 6))
	t0 := baseTime.UnixMilli() - 3_000_000
	for _, name := range []string{"a", "b", "c"} {
		ts := t0
		for i := range 2000 {
			ts += 500 + int64(r.IntN(1000))
			if name == "b" && i == 700 {
				ts += 600_000 // a 10-minute gap inside a chunk
			}
			mustAppend(t, db, lbl("rd", "s", name), ts, r.NormFloat64())
			if i < 1900 && i%37 == 0 {
				mustFlush(t, db)
			}
		}
	}
	return db, t0
}

func mustFlush(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// readAll iterates s, reusing it, and returns its samples.
func readAll(t *testing.T, s *RawSeries, it chunkenc.Iterator) ([]Sample, chunkenc.Iterator) {
	t.Helper()
	it = s.Iterator(it)
	var out []Sample
	for it.Next() == chunkenc.ValFloat {
		ts, v := it.At()
		if it.AtT() != ts {
			t.Fatalf("AtT %d, At %d", it.AtT(), ts)
		}
		out = append(out, Sample{ts, v})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate %s: %v", s.Labels(), err)
	}
	return out, it
}

// TestReaderMatchesSelect reads windows that start and end in flushed
// chunks, in the chunk closed since the last flush, in the open chunk and
// in the gap, and requires exactly the samples Select copies out.
func TestReaderMatchesSelect(t *testing.T) {
	db, t0 := readerData(t)
	r := db.Reader()
	defer r.Close()
	all := selectRaw(t, db, eq(MetricName, "rd"))
	last := all[0].Samples[len(all[0].Samples)-1].T
	var it chunkenc.Iterator
	f := func(mint, maxt int64) {
		t.Helper()
		want, err := db.SelectTier(Query{MinT: mint, MaxT: maxt, Matchers: []*labels.Matcher{eq(MetricName, "rd")}}, TierRaw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Select(mint, maxt, eq(MetricName, "rd"))
		if err != nil {
			t.Fatal(err)
		}
		// A series whose chunk spans the window without a sample in it
		// comes back empty, as from Prometheus' TSDB; Select drops it.
		n := 0
		for i := range got {
			var samples []Sample
			if samples, it = readAll(t, &got[i], it); len(samples) == 0 {
				continue
			}
			if n >= len(want) || !labels.Equal(got[i].Labels(), want[n].Labels.Prometheus()) {
				t.Fatalf("[%d, %d]: series %d is %s, want %v", mint, maxt, i, got[i].Labels(), want)
			}
			if !slices.Equal(samples, want[n].Samples) {
				t.Fatalf("[%d, %d] %s: %d samples, want %d", mint, maxt, got[i].Labels(), len(samples), len(want[n].Samples))
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("[%d, %d]: %d series, want %d", mint, maxt, n, len(want))
		}
	}
	f(minInt64, maxInt64)
	f(t0, last)
	f(last, last)
	f(last+1, maxInt64)
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		a, b := t0+rnd.Int64N(last-t0+2000), t0+rnd.Int64N(last-t0+2000)
		f(min(a, b), max(a, b))
	}
}

// TestReaderSeek seeks to every kind of target, before the window, on a
// sample, between samples, into the gap, backwards, past the end, with
// Next in between, and follows a model of chunkenc.Iterator's contract.
func TestReaderSeek(t *testing.T) {
	db, t0 := readerData(t)
	r := db.Reader()
	defer r.Close()
	all := selectRaw(t, db, eq(MetricName, "rd"))
	mint := t0 + 100_000
	got, err := r.Select(mint, maxInt64, eq(MetricName, "rd"))
	if err != nil {
		t.Fatal(err)
	}
	var it chunkenc.Iterator
	for i, s := range all {
		want := s.Samples[slices.IndexFunc(s.Samples, func(x Sample) bool { return x.T >= mint }):]
		pos := -1 // the model: the index in want of the current sample
		check := func(op string, vt chunkenc.ValueType) {
			t.Helper()
			if pos >= len(want) {
				if vt != chunkenc.ValNone {
					t.Fatalf("%s: %s found %d, want none", s.Labels, op, it.AtT())
				}
				return
			}
			if ts, v := it.At(); vt != chunkenc.ValFloat || ts != want[pos].T || v != want[pos].V {
				t.Fatalf("%s: %s found %v at %d, want %d", s.Labels, op, vt, ts, want[pos].T)
			}
		}
		seek := func(target int64) {
			t.Helper()
			if pos < 0 || (pos < len(want) && want[pos].T < target) {
				pos, _ = slices.BinarySearchFunc(want, target, func(x Sample, t int64) int { return cmp.Compare(x.T, t) })
			}
			check(fmt.Sprintf("seek %d", target), it.Seek(target))
		}
		next := func() {
			t.Helper()
			pos = min(pos+1, len(want))
			check("next", it.Next())
		}
		it = got[i].Iterator(it)
		seek(minInt64)
		next()
		for _, k := range []int{1, 2, 3, 479, 480, 481, 700, 701, 960, 1500, 1919, 1920, 1950, len(s.Samples) - 1} {
			seek(s.Samples[k].T - 1)
			seek(s.Samples[k].T)
			next()
			seek(s.Samples[k].T + 1)
			seek(t0) // backwards: no effect
		}
		seek(maxInt64)
		next()
		seek(minInt64)
	}
}

// TestReaderSeriesOutliveFlushes selects, then flushes (the chunk closed
// since the last flush moves to disk and leaves memory), appends, grows
// the file past bbolt's memory map and checkpoints, all in the goroutine
// that holds the unread series, and then reads them: nothing hidden, nothing
// doubled, and no wait, since a Reader holds no transaction.
func TestReaderSeriesOutliveFlushes(t *testing.T) {
	db, _ := readerData(t)
	before := selectRaw(t, db, eq(MetricName, "rd"))
	r := db.Reader()
	defer r.Close()
	got, err := r.Select(minInt64, maxInt64, eq(MetricName, "rd"))
	if err != nil {
		t.Fatal(err)
	}
	if n := db.bolt.Stats().OpenTxN; n != 0 {
		t.Fatalf("%d read transactions open after Select", n)
	}
	for _, s := range before {
		mustAppend(t, db, s.Labels, s.Samples[len(s.Samples)-1].T+1000, 1)
	}
	mustFlush(t, db)
	grow(t, db)
	if err := db.checkpointAll(); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	var it chunkenc.Iterator
	for i := range got {
		var samples []Sample
		if samples, it = readAll(t, &got[i], it); !slices.Equal(samples, before[i].Samples) {
			t.Fatalf("%s: %d samples after the flushes, want the %d there were at Select", got[i].Labels(), len(samples), len(before[i].Samples))
		}
	}
}

// grow writes more than the file holds, so the commit must remap it.
func grow(t *testing.T, db *DB) {
	t.Helper()
	size := func() int64 {
		fi, err := os.Stat(db.path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	was := size()
	big := make([]byte, 2*was+1<<20)
	err := db.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("scratch"))
		if err != nil {
			return err
		}
		return b.Put([]byte("big"), big)
	})
	if err != nil {
		t.Fatal(err)
	}
	// bbolt maps at least the file, rounded up to a power of two: a file
	// more than twice as large no longer fits the old map.
	if now := size(); now <= 2*was {
		t.Fatalf("file grew from %d to %d bytes only", was, now)
	}
}

// TestReaderConcurrentFlush runs writers and the flusher while a Reader
// selects and iterates; with -race it checks the locking, and every read
// must be a prefix of what was written.
func TestReaderConcurrentFlush(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	const writers, per = 3, 1500
	t0 := baseTime.UnixMilli() - per*1000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			ls := lbl("conc", "w", string(rune('a'+w)))
			for i := range per {
				if err := db.Append(ls, t0+int64(i)*1000, float64(i)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
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
	})
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				readPrefix(t, db)
			}
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
}

func readPrefix(t *testing.T, db *DB) {
	r := db.Reader()
	defer r.Close()
	got, err := r.Select(minInt64, maxInt64, eq(MetricName, "conc"))
	if err != nil {
		t.Errorf("select: %v", err)
		return
	}
	var it chunkenc.Iterator
	for i := range got {
		it = got[i].Iterator(it)
		n := 0
		for ; it.Next() == chunkenc.ValFloat; n++ {
			if _, v := it.At(); v != float64(n) {
				t.Errorf("%s: sample %d is %g", got[i].Labels(), n, v)
				return
			}
		}
		if it.Err() != nil {
			t.Errorf("%s: %v", got[i].Labels(), it.Err())
		}
	}
}

// TestReaderCorruptChunk reads a chunk cut short on disk: the series'
// iterator ends with ErrCorrupt, and a chunk too short to hold a header
// fails the Select; neither panics.
func TestReaderCorruptChunk(t *testing.T) {
	db, _ := readerData(t)
	put := func(v []byte) {
		t.Helper()
		err := db.update(func(tx *bolt.Tx) error {
			c := tx.Bucket(bChunks).Cursor()
			k, old := c.First()
			span, _, _ := parseBlockValue(0, old)
			return tx.Bucket(bChunks).Put(slices.Clone(k), appendBlockValue(nil, 0, span, v))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var payload []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		_, v := tx.Bucket(bChunks).Cursor().First()
		_, p, err := parseBlockValue(0, v)
		payload = slices.Clone(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := db.Reader()
	defer r.Close()
	put(payload[:len(payload)/2])
	got, err := r.Select(minInt64, maxInt64, eq(MetricName, "rd"))
	if err != nil {
		t.Fatal(err)
	}
	it := got[0].Iterator(nil)
	for it.Next() != chunkenc.ValNone {
	}
	if !errors.Is(it.Err(), ErrCorrupt) {
		t.Fatalf("truncated chunk: %v, want ErrCorrupt", it.Err())
	}
	put([]byte{1})
	if _, err := r.Select(minInt64, maxInt64, eq(MetricName, "rd")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("1-byte chunk: %v, want ErrCorrupt", err)
	}
}

// TestReaderClose: Select after Close fails with ErrClosed; Close twice is fine.
func TestReaderClose(t *testing.T) {
	db, _ := readerData(t)
	r := db.Reader()
	got, err := r.Select(minInt64, maxInt64, eq(MetricName, "rd"))
	if err != nil || len(got) != 3 {
		t.Fatalf("select: %d series, %v", len(got), err)
	}
	if it := got[0].Iterator(nil); got[1].Iterator(it) != it {
		t.Fatal("Iterator did not reuse the iterator it was given")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := r.Select(minInt64, maxInt64); !errors.Is(err, ErrClosed) {
		t.Fatalf("select after close: %v, want ErrClosed", err)
	}
	if _, err := db.Reader().Select(2, 1); err == nil {
		t.Fatal("select with start after end: no error")
	}
}

// FuzzRawIterator walks a chunk payload between bounds, seeking to target
// first: what decodes, the iterator yields exactly, and nothing panics.
func FuzzRawIterator(f *testing.F) {
	f.Add(encodeChunk([]Sample{{1000, 1}, {2000, 2}, {3000, 4}, {4500, -1}}), int64(1500), int64(4000), int64(2500))
	f.Add([]byte{0, 3, 0x80}, int64(minInt64), int64(maxInt64), int64(0))
	f.Fuzz(func(t *testing.T, payload []byte, lo, hi, target int64) {
		if len(payload) < 2 {
			return
		}
		it := (&RawSeries{chunks: []rawChunk{{data: payload, minT: minInt64, lo: lo, hi: hi}}}).Iterator(nil)
		var got []Sample
		for vt := it.Seek(target); vt == chunkenc.ValFloat; vt = it.Next() {
			ts, v := it.At()
			got = append(got, Sample{ts, v})
		}
		want, err := decodeChunkRange(nil, payload, max(lo, target), hi)
		if err != nil {
			if it.Err() != nil && !errors.Is(it.Err(), ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", it.Err())
			}
			return
		}
		if it.Err() != nil || !slices.EqualFunc(got, want, func(a, b Sample) bool { return a.T == b.T && math.Float64bits(a.V) == math.Float64bits(b.V) }) {
			t.Fatalf("iterated %v (%v), decoded %v", got, it.Err(), want)
		}
	})
}

// TestReaderOrder: a Reader's series come sorted as Select sorts them,
// whatever the label names, values and counts.
func TestReaderOrder(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "o.db"), clk, nil)
	now := baseTime.UnixMilli()
	for _, ls := range []Labels{
		lbl("m", "a", "1"), lbl("m", "a", "10"), lbl("m", "a", "2"), lbl("m", "a", "1", "b", "1"),
		lbl("m", "b", "0"), lbl("m"), lbl("m", "aa", "1"), lbl("m", "a", ""), lbl("m", "c", "x", "d", "y"),
		lbl("m", "c", "x", "e", ""), lbl("m", "Z", "z"), lbl("m", "a", "1é"),
	} {
		mustAppend(t, db, ls, now, 1)
	}
	want := db.Series(eq(MetricName, "m"))
	got, err := db.Reader().Select(minInt64, maxInt64, eq(MetricName, "m"))
	if err != nil || len(got) != len(want) {
		t.Fatalf("select: %d series, %v; want %d", len(got), err, len(want))
	}
	for i := range got {
		if !labels.Equal(got[i].Labels(), want[i].Prometheus()) {
			t.Fatalf("series %d is %s, want %s", i, got[i].Labels(), want[i])
		}
	}
}
