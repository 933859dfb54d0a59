package store

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Closed data is written warm, in the encoding appends build cheaply: XOR
// chunks of up to 480 samples in the raw tier, blocks of 120 points with
// an XOR chunk per aggregate in the rollup tiers. EncodeBlocks later
// re-encodes runs of a series' consecutive warm payloads into one block
// each (block.go, block_points.go), a quarter to a third of their size.
// A run is encoded once it can grow no more: the next payload would take
// it past its tier's samples or span, or a block follows it, or its
// newest sample is encodeAfter old. So a busy series' newest data stays
// warm until a block's worth has closed, and a quiet series' once it has
// been quiet for a while.
const (
	// encodeRawSamples bounds a raw block: eight chunks of 480 samples.
	// Larger blocks shrink little (0.65 B/sample at 3,600 1-second samples,
	// 0.64 at 7,200) and cost a read that needs a few samples of one more
	// to decode.
	encodeRawSamples = 4096
	// encodeMinutePoints and encodeHourPoints bound a rollup block: six
	// hours of minutes (its warm blocks, until then, take nearly three
	// times as much), thirty days of hours.
	encodeMinutePoints = 360
	encodeHourPoints   = 720
	// encodeAfter is how old a run's newest sample must be before the run
	// is encoded while it could still grow.
	encodeAfter = 3 * time.Hour
	// encodeTxSamples bounds the samples re-encoded per transaction, so
	// flushes interleave and memory stays small (about 40 MiB at most:
	// the warm payloads copied, their samples decoded, the blocks).
	encodeTxSamples = 1 << 20
	// encodeTxPayloads bounds the payloads a read transaction looks at:
	// a full pass (after Open or an import) reads every key of a tier, at
	// about a microsecond each.
	encodeTxPayloads = 50_000
)

// encodeTier is what EncodeBlocks needs of a tier.
type encodeTier struct {
	tier    Tier
	bucket  []byte
	samples int   // a block's most samples or points
	span    int64 // a block's longest span, ms
}

// encodeTiers bounds a block's span to a quarter of its tier's retention
// too, so pruning, which drops whole blocks, keeps at most a quarter more
// than the retention. A raw block spans at most six hours, so a 15 s
// scrape's chunks (two hours each) are encoded three at a time, 1,440
// samples, rather than after the seventeen hours 4,096 samples take.
func (db *DB) encodeTiers() []encodeTier {
	day := (24 * time.Hour).Milliseconds()
	return []encodeTier{
		{TierRaw, bChunks, encodeRawSamples, min(day/4, db.opts.RawRetention.Milliseconds()/4)},
		{TierMinute, bRollup1m, encodeMinutePoints, min(day/4, db.opts.MinuteRetention.Milliseconds()/4)},
		{TierHour, bRollup1h, encodeHourPoints, min(30*day, db.opts.HourRetention.Milliseconds()/4)},
	}
}

// EncodeResult counts what EncodeBlocks did.
type EncodeResult struct {
	Blocks   int   // blocks written
	Replaced int   // warm payloads they replaced
	Samples  int64 // samples and points re-encoded
	Before   int64 // bytes of the replaced values
	After    int64 // bytes of the blocks' values
}

func (r *EncodeResult) add(o EncodeResult) {
	r.Blocks += o.Blocks
	r.Replaced += o.Replaced
	r.Samples += o.Samples
	r.Before += o.Before
	r.After += o.After
}

// EncodeBlocks re-encodes runs of warm payloads into blocks in every tier,
// in transactions of at most about a million samples. With all it encodes
// every run, however short or recent (atroz db compact does, on a file no
// server has open): the file is then at its smallest. Each run is read in
// one transaction, encoded outside any, and swapped in by another that
// first checks the run is still what was read, so flushes, pruning and
// reads go on meanwhile, and a crash at any point leaves each run either
// warm or encoded, never both or neither.
func (db *DB) EncodeBlocks(all bool) (EncodeResult, error) {
	var res EncodeResult
	if db.closed.Load() {
		return res, ErrClosed
	}
	full := db.encodeAll.Swap(false) || all
	now := db.opts.Now().Add(-encodeAfter).UnixMilli()
	if all {
		now = maxInt64
	}
	var errs []error
	for _, et := range db.encodeTiers() {
		list := db.idx.appendAll(nil)
		slices.SortFunc(list, func(a, b *memSeries) int { return cmp.Compare(a.id, b.id) })
		for len(list) > 0 && !db.closed.Load() {
			var runs []warmRun
			var bad []error
			err := db.view(func(tx *bolt.Tx) error {
				runs, list, bad = collectRuns(tx.Bucket(et.bucket), et, list, full, now)
				return nil
			})
			for _, e := range append(bad, err) {
				if e != nil {
					errs = append(errs, fmt.Errorf("encode %s: %w", et.tier, e))
				}
			}
			r, err := db.encodeRuns(et, runs)
			res.add(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("encode %s: %w", et.tier, err))
			}
		}
	}
	// A failed transaction is tried again by a full pass; a corrupt
	// payload, left as it is for Check to report, would fail every one.
	if err := errors.Join(errs...); err != nil && full && !errors.Is(err, ErrCorrupt) {
		db.encodeAll.Store(true)
	}
	db.stats.encoded(res)
	return res, errors.Join(errs...)
}

// warmPayload is one warm block value of a run: its key, its times and
// count, and a copy of the value once the run is to be encoded.
type warmPayload struct {
	key        []byte
	start, end int64
	n          int
	value      []byte
	header     int // the span header's bytes: value[header:] is the payload
}

// warmRun is consecutive warm payloads of one series that become one block.
type warmRun struct {
	id       uint64
	payloads []warmPayload
	n        int
}

// collectRuns finds the runs to encode of the listed series, from the
// first, until they hold encodeTxSamples samples or encodeTxPayloads
// payloads have been read, copies their values and returns them with the
// series it did not finish, so no read transaction lasts long (one that
// does holds back a flush that grows the file, and every read after it).
// A series is finished when its runs are all taken; one cut short by the
// budget is looked at again next, and its runs taken then are skipped, as
// blocks now. A series whose payloads do not read is skipped, its error
// returned with the others.
func collectRuns(b *bolt.Bucket, et encodeTier, list []*memSeries, full bool, before int64) ([]warmRun, []*memSeries, []error) {
	var runs []warmRun
	var errs []error
	taken, read := 0, 0
	c := b.Cursor()
	for len(list) > 0 && read < encodeTxPayloads {
		payloads, err := warmPayloads(c, list[0].id, et.tier, full)
		read += len(payloads)
		if err != nil {
			errs = append(errs, err)
			list = list[1:]
			continue
		}
		for _, r := range splitRuns(list[0].id, payloads, et, before) {
			if taken > 0 && taken+r.n > encodeTxSamples {
				return runs, list, errs
			}
			for i := range r.payloads {
				r.payloads[i].value = bytes.Clone(b.Get(r.payloads[i].key))
			}
			runs, taken = append(runs, r), taken+r.n
		}
		list = list[1:]
	}
	return runs, list, errs
}

// warmPayloads returns the series' warm payloads in time order, a zero
// one (n == 0) standing for each block among them. Unless full, it reads
// only those after the series' newest block, walking back from its end.
func warmPayloads(c *bolt.Cursor, id uint64, tier Tier, full bool) ([]warmPayload, error) {
	var out []warmPayload
	if full {
		for k, v := c.Seek(chunkKey(id, minInt64)); k != nil; k, v = c.Next() {
			p, ok, err := readWarm(k, v, id, tier)
			if err != nil || !ok {
				return out, err
			}
			out = append(out, p)
		}
		return out, nil
	}
	k, _ := c.Seek(chunkKey(id+1, minInt64))
	for k, v := before(c, k); k != nil; k, v = c.Prev() {
		p, ok, err := readWarm(k, v, id, tier)
		if err != nil || !ok || p.n == 0 {
			break
		}
		out = append(out, p)
	}
	slices.Reverse(out)
	return out, nil
}

// readWarm reads the block value k, v of series id; ok is false past the
// series' values. A block comes back with n == 0.
func readWarm(k, v []byte, id uint64, tier Tier) (warmPayload, bool, error) {
	kid, start, err := parseChunkKey(k)
	if err != nil || kid != id {
		return warmPayload{}, false, err
	}
	end, payload, err := parseBlockValue(start, v)
	if err != nil {
		return warmPayload{}, false, fmt.Errorf("series %d block %d: %w", id, start, err)
	}
	p := warmPayload{key: bytes.Clone(k), start: start, end: end, header: len(v) - len(payload)}
	n, block, err := payloadCount(tier, payload)
	if block {
		return p, true, nil
	}
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if err != nil {
		return p, false, fmt.Errorf("series %d block %d: %w", id, start, err)
	}
	p.n = n
	return p, true, nil
}

// splitRuns cuts the warm payloads into runs of at most the tier's
// samples and span, and returns those that can grow no more: every one
// but the last, and the last when its newest sample is older than before.
//
// A series' raw bound is cut by up to half, by its ID, so series scraped alike
// do not all encode at the same minute: the pages their chunks free come
// back a few at a time, and the file needs less room for them at once.
func splitRuns(id uint64, payloads []warmPayload, et encodeTier, before int64) []warmRun {
	if et.tier == TierRaw { // rollup payloads hold 120 points: a cut would halve their blocks
		et.samples -= int(id%16) * et.samples / 32 // #nosec G115 -- below 16
	}
	var runs []warmRun
	cur := warmRun{id: id}
	for _, p := range payloads {
		if p.n == 0 || len(cur.payloads) > 0 && (cur.n+p.n > et.samples || p.end-cur.payloads[0].start > et.span) {
			if len(cur.payloads) > 0 {
				runs = append(runs, cur)
			}
			cur = warmRun{id: id}
		}
		if p.n > 0 {
			cur.payloads, cur.n = append(cur.payloads, p), cur.n+p.n
		}
	}
	if len(cur.payloads) > 0 && cur.payloads[len(cur.payloads)-1].end < before {
		runs = append(runs, cur)
	}
	return runs
}

// encodeRuns encodes the runs, outside any transaction, then swaps each
// for its block in one transaction. A run whose values changed since they
// were read (pruned, purged) is left alone. A run that does not decode is
// left alone too, and reported.
func (db *DB) encodeRuns(et encodeTier, runs []warmRun) (EncodeResult, error) {
	var res EncodeResult
	if len(runs) == 0 {
		return res, nil
	}
	c, err := codec()
	if err != nil {
		return res, err
	}
	blocks := make([][]byte, len(runs))
	var errs []error
	for i, r := range runs {
		if blocks[i], err = encodeRun(c, et.tier, r); err != nil {
			errs = append(errs, fmt.Errorf("series %d at %d: %w", r.id, r.payloads[0].start, err))
		}
	}
	err = db.update(func(tx *bolt.Tx) error {
		res = EncodeResult{}
		b := tx.Bucket(et.bucket)
		// A block is a third of the chunks it replaces, so the pages it
		// leaves are mostly empty. bbolt merges a page with its neighbour
		// when it falls below half of FillPercent: at 1, every page under
		// half full that this transaction touches, and the merged pages
		// split only when full.
		b.FillPercent = 1
		for i, r := range runs {
			if blocks[i] == nil || !unchanged(b, r) {
				continue
			}
			if err := swapRun(b, r, blocks[i]); err != nil {
				return err
			}
			res.add(runResult(r, blocks[i]))
		}
		return nil
	})
	return res, errors.Join(append(errs, err)...)
}

// encodeRun decodes a run's payloads and returns its block's value.
func encodeRun(c *blockCodec, tier Tier, r warmRun) ([]byte, error) {
	first, last := r.payloads[0], r.payloads[len(r.payloads)-1]
	var block []byte
	var err error
	if tier == TierRaw {
		samples := make([]Sample, 0, r.n)
		for _, p := range r.payloads {
			if samples, err = rawSamples(samples, p.value[p.header:], minInt64, maxInt64); err != nil {
				return nil, err
			}
		}
		if len(samples) == 0 || samples[0].T != first.start || samples[len(samples)-1].T != last.end {
			return nil, fmt.Errorf("%w: run holds other times than its keys and headers say", ErrCorrupt)
		}
		if block, err = c.Encode(nil, samples); err == nil {
			err = sameBlock(c, block, samples)
		}
	} else {
		pts := make([]Point, 0, r.n)
		for _, p := range r.payloads {
			if pts, err = rollupPoints(pts, p.value[p.header:]); err != nil {
				return nil, err
			}
		}
		if len(pts) == 0 || pts[0].T != first.start || pts[len(pts)-1].T != last.end {
			return nil, fmt.Errorf("%w: run holds other times than its keys and headers say", ErrCorrupt)
		}
		if block, err = c.EncodePoints(nil, pts); err == nil {
			err = samePointsBlock(c, block, pts)
		}
	}
	if err != nil {
		return nil, err
	}
	return appendBlockValue(nil, first.start, last.end, block), nil
}

// sameBlock decodes a block just encoded and compares it with its samples,
// bit for bit, before it replaces them: a fault of the codec would lose
// data for good, and decoding costs a tenth of encoding.
func sameBlock(c *blockCodec, block []byte, want []Sample) error {
	got, err := c.Decode(make([]Sample, 0, len(want)), block)
	if err != nil {
		return fmt.Errorf("block does not decode: %w", err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("block decodes to %d samples of %d", len(got), len(want))
	}
	for i := range want {
		if got[i].T != want[i].T || math.Float64bits(got[i].V) != math.Float64bits(want[i].V) {
			return fmt.Errorf("block decodes sample %d as %v, not %v", i, got[i], want[i])
		}
	}
	return nil
}

// samePointsBlock is sameBlock for a block of points.
func samePointsBlock(c *blockCodec, block []byte, want []Point) error {
	got, err := c.DecodePoints(make([]Point, 0, len(want)), block)
	if err != nil {
		return fmt.Errorf("block does not decode: %w", err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("block decodes to %d points of %d", len(got), len(want))
	}
	for i := range want {
		for a := Aggregate(0); a < numAggregates; a++ {
			if got[i].T != want[i].T || math.Float64bits(got[i].Get(a)) != math.Float64bits(want[i].Get(a)) {
				return fmt.Errorf("block decodes point %d's %s as %v, not %v", i, a, got[i].Get(a), want[i].Get(a))
			}
		}
	}
	return nil
}

// unchanged reports whether each of the run's keys still holds what was read.
func unchanged(b *bolt.Bucket, r warmRun) bool {
	for _, p := range r.payloads {
		if !bytes.Equal(b.Get(p.key), p.value) {
			return false
		}
	}
	return true
}

// swapRun deletes the run's payloads and puts the block under the first's key.
func swapRun(b *bolt.Bucket, r warmRun, block []byte) error {
	for _, p := range r.payloads[1:] {
		if err := b.Delete(p.key); err != nil {
			return fmt.Errorf("delete %x: %w", p.key, err)
		}
	}
	if err := b.Put(r.payloads[0].key, block); err != nil {
		return fmt.Errorf("put block %x: %w", r.payloads[0].key, err)
	}
	return nil
}

func runResult(r warmRun, block []byte) EncodeResult {
	res := EncodeResult{Blocks: 1, Replaced: len(r.payloads), Samples: int64(r.n), After: int64(len(block))}
	for _, p := range r.payloads {
		res.Before += int64(len(p.value))
	}
	return res
}
