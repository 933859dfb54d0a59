package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// encodeFixture writes ten hours of one-second samples of every value
// class (counters with resets, decimal and noisy gauges, NaN, staleness
// markers, ±Inf, a slow series) up to the clock, flushing every minute.
func encodeFixture(t *testing.T, db *DB) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 5))
	t0 := baseTime.UnixMilli() - 10*hourMs
	counter, noisy := 0.0, 1e6
	for i := range 10 * 3600 {
		ts := t0 + int64(i)*1000
		if i%1500 == 0 {
			counter = 0
		}
		counter += float64(r.IntN(20))
		noisy += r.NormFloat64()
		special := float64(i % 7)
		switch i % 997 {
		case 1:
			special = math.NaN()
		case 2:
			special = staleNaN
		case 3:
			special = math.Inf(1)
		case 4:
			special = math.Inf(-1)
		}
		mustAppend(t, db, lbl("requests_total"), ts, counter)
		mustAppend(t, db, lbl("temperature"), ts, float64(200+r.IntN(50))/10)
		mustAppend(t, db, lbl("noisy"), ts, noisy)
		mustAppend(t, db, lbl("special"), ts, special)
		if i%60 == 0 {
			mustAppend(t, db, lbl("slow"), ts, float64(i))
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
}

// readings are everything a series answers: its samples through Select and
// through a Reader over several ranges, and its points in both rollup tiers.
type readings map[string][]Sample

func readEverything(t *testing.T, db *DB) readings {
	t.Helper()
	out := readings{}
	t1 := baseTime.UnixMilli()
	ranges := [][2]int64{{minInt64, maxInt64}, {t1 - 7*hourMs - 1500, t1 - 5*hourMs + 30_500}, {t1 - 95*60_000, t1 - 94*60_000}, {t1 - 10_000, t1}}
	for i, rg := range ranges {
		ss, err := db.SelectTier(Query{MinT: rg[0], MaxT: rg[1]}, TierRaw)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			out[fmt.Sprintf("select %d %s", i, s.Labels)] = s.Samples
		}
		r := db.Reader()
		series, err := r.Select(rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			out[fmt.Sprintf("reader %d %s", i, s.Labels())] = iterate(t, s.Iterator(nil), rg[0]+(rg[1]-rg[0])/2)
		}
		_ = r.Close()
	}
	for _, tier := range []Tier{TierMinute, TierHour} {
		ss, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64}, tier)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			for a := Aggregate(0); a < numAggregates; a++ {
				var pts []Sample
				for _, p := range s.Points {
					pts = append(pts, Sample{p.T, p.Get(a)})
				}
				out[fmt.Sprintf("%s %s %s", tier, a, s.Labels)] = pts
			}
		}
	}
	return out
}

// iterate reads an iterator to its end, with a Seek to seek on the way.
func iterate(t *testing.T, it chunkenc.Iterator, seek int64) []Sample {
	t.Helper()
	var out []Sample
	for vt := it.Next(); vt == chunkenc.ValFloat; vt = it.Next() {
		ts, v := it.At()
		out = append(out, Sample{ts, v})
		if ts < seek && it.Seek(seek) == chunkenc.ValFloat {
			ts, v = it.At()
			out = append(out, Sample{ts, v})
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameReadings(t *testing.T, what string, got, want readings) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d readings, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: %s: %d samples, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			if g[i].T != w[i].T || math.Float64bits(g[i].V) != math.Float64bits(w[i].V) {
				t.Fatalf("%s: %s: sample %d is %v, want %v", what, k, i, g[i], w[i])
			}
		}
	}
}

// TestEncodeBlocksKeepsEveryRead re-encodes a store's closed data, first
// as the background does and then all of it, and requires every read to
// answer bit for bit as before, Check to pass, and the file to shrink.
func TestEncodeBlocksKeepsEveryRead(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "e.db")
	db := openTest(t, path, clk, nil)
	encodeFixture(t, db)
	want := readEverything(t, db)
	warm, err := db.DiskStats()
	if err != nil {
		t.Fatal(err)
	}

	res, err := db.EncodeBlocks(false)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := db.DiskStats()
	raw := part.Tiers[TierRaw]
	if res.Blocks == 0 || raw.Cold.Blocks == 0 || raw.Warm.Blocks == 0 {
		t.Fatalf("background encoding: %+v, raw tier %+v: want blocks and the newest chunks left warm", res, raw)
	}
	if m := part.Tiers[TierMinute]; m.Cold.Blocks == 0 || m.Warm.Blocks == 0 {
		t.Fatalf("background encoding of the 1m tier: %+v; want its full runs (six hours) encoded and the newest warm", m)
	}
	sameReadings(t, "after background encoding", readEverything(t, db), want)
	if res, err := db.EncodeBlocks(false); err != nil || res.Blocks != 0 {
		t.Fatalf("second background encoding: %+v, %v; want nothing to do", res, err)
	}

	// Every series is quiet now: a flush closes the open chunks, past
	// MaxChunkAge, and the next pass encodes them with everything else,
	// so each series' newest sample is in a block.
	clk.t = clk.t.Add(encodeAfter + time.Second)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	closed, _ := db.DiskStats()
	if _, err := db.EncodeBlocks(false); err != nil {
		t.Fatal(err)
	}
	cold, _ := db.DiskStats()
	for _, ts := range cold.Tiers {
		if want := closed.Tiers[tierIndex(ts.Name)].Samples; ts.Warm.Blocks != 0 || ts.Samples != want {
			t.Fatalf("tier %s after encoding the quiet series: %+v; want no warm blocks and %d samples", ts.Name, ts, want)
		}
	}
	for i, tier := range []string{"raw", "1m"} {
		if w, c := warm.Tiers[i].BytesPerSample(), cold.Tiers[i].BytesPerSample(); c > w/2 {
			t.Errorf("%s tier: %.2f B/sample encoded, %.2f before: want under half", tier, c, w)
		}
	}
	sameReadings(t, "after encoding the quiet series", readEverything(t, db), want)
	limitCountsBlocks(t, db, want)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	sameReadings(t, "after reopening", readEverything(t, db), want)
	// Open took each series' last sample from its newest block's header:
	// an identical resend is accepted, another value at its time refused.
	for _, name := range []string{"requests_total", "noisy", "special"} {
		all := want["select 0 "+lbl(name).String()]
		end := all[len(all)-1]
		if err := db.Append(lbl(name), end.T, end.V); err != nil && !math.IsNaN(end.V) {
			t.Errorf("%s: resending the last sample %v: %v", name, end, err)
		}
		if err := db.Append(lbl(name), end.T, end.V+1); !errors.Is(err, ErrDuplicateSample) {
			t.Errorf("%s: another value at the last sample's time: %v, want ErrDuplicateSample", name, err)
		}
	}
	last := baseTime.UnixMilli() - 1000
	if err := db.Append(lbl("requests_total"), last-5000, 1); err == nil {
		t.Fatal("append before the newest block's end: no error")
	}
	mustAppend(t, db, lbl("requests_total"), last+1000, 1e9)
}

func tierIndex(name string) int {
	for _, tier := range []Tier{TierRaw, TierMinute, TierHour} {
		if tier.String() == name {
			return int(tier)
		}
	}
	return -1
}

// limitCountsBlocks checks that a LimitedReader counts a block's samples
// in range exactly: a budget of the samples a range holds is enough, one
// less is not.
func limitCountsBlocks(t *testing.T, db *DB, want readings) {
	t.Helper()
	t1 := baseTime.UnixMilli()
	mint, maxt := t1-7*hourMs-1500, t1-5*hourMs+30_500
	n := len(want["select 1 "+lbl("noisy").String()])
	f := func(budget int, fail bool) {
		t.Helper()
		r := db.LimitedReader(budget)
		defer r.Close()
		_, err := r.Select(mint, maxt, eq(MetricName, "noisy"))
		if got := errors.Is(err, ErrReadLimit); got != fail {
			t.Fatalf("budget %d for %d samples: %v", budget, n, err)
		}
	}
	f(n, false)
	f(n-1, true)
}

// TestEncodeBlocksSkipsCorrupt: a payload that does not decode is left as
// it is and reported, and every other series is encoded all the same.
func TestEncodeBlocksSkipsCorrupt(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	t0 := baseTime.UnixMilli() - hourMs
	for i := range 3600 {
		for s := range 3 {
			mustAppend(t, db, lbl("m", "s", fmt.Sprint(s)), t0+int64(i)*1000, float64(i*s))
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	bad := db.idx.appendAll(nil)[1].id
	err := db.update(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bChunks).Cursor().Seek(chunkKey(bad, minInt64))
		start, _ := binary.Uvarint(v)
		return tx.Bucket(bChunks).Put(bytes.Clone(k), append(binary.AppendUvarint(nil, start), 1, 0xE0, 0xFF))
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.EncodeBlocks(true)
	if !errors.Is(err, ErrCorrupt) || res.Blocks == 0 {
		t.Fatalf("encoding with one corrupt chunk: %+v, %v; want the others encoded and ErrCorrupt", res, err)
	}
	err = db.view(func(tx *bolt.Tx) error {
		for _, s := range db.idx.appendAll(nil) {
			payloads, err := warmPayloads(tx.Bucket(bChunks).Cursor(), s.id, TierRaw, true)
			warm := slices.ContainsFunc(payloads, func(p warmPayload) bool { return p.n > 0 })
			if s.id != bad && (err != nil || warm) {
				t.Errorf("series %d: %v, warm chunks left %v", s.id, err, warm)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if db.encodeAll.Load() {
		t.Error("a corrupt chunk asks for another full pass, which would fail alike")
	}
}

// TestIteratorStopsAtCorruptBlock: a block that does not decode ends the
// iteration with its error, never with the samples after it.
func TestIteratorStopsAtCorruptBlock(t *testing.T) {
	good := encodeChunk([]Sample{{10, 1}, {20, 2}})
	rs := RawSeries{chunks: []rawChunk{
		{data: []byte{blockV1, 2, 1, 2, 3}, minT: 1, lo: minInt64, hi: 5},
		{data: good, minT: 10, lo: minInt64, hi: 20},
	}}
	it := rs.Iterator(nil)
	if vt := it.Next(); vt != chunkenc.ValNone || !errors.Is(it.Err(), ErrCorrupt) {
		t.Fatalf("Next = %v, Err = %v; want ValNone and ErrCorrupt", vt, it.Err())
	}
}
