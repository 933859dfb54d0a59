package store

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Aggregate names one value of a rollup point.
type Aggregate uint8

// The aggregates every rollup point holds.
const (
	// AggregateLast is the value of the last raw sample in the interval.
	AggregateLast Aggregate = iota
	// AggregateMin is the smallest raw value in the interval.
	AggregateMin
	// AggregateMax is the largest raw value in the interval.
	AggregateMax
	// AggregateSum is the sum of the raw values in the interval.
	AggregateSum
	// AggregateCount is the number of raw samples in the interval.
	AggregateCount
	// AggregateCounter is the counter value at the interval's last sample with
	// every reset since the series began added back, so rate and increase over
	// rollup points equal those over raw samples.
	AggregateCounter
	numAggregates = 6
)

var aggregateNames = [numAggregates]string{"last", "min", "max", "sum", "count", "counter"}

// String returns the aggregate's name.
func (a Aggregate) String() string {
	if int(a) < len(aggregateNames) {
		return aggregateNames[a]
	}
	return fmt.Sprintf("aggregate(%d)", a)
}

// ParseAggregate returns the aggregate called name.
func ParseAggregate(name string) (Aggregate, error) {
	for i, n := range aggregateNames {
		if n == name {
			return Aggregate(i), nil
		}
	}
	return 0, fmt.Errorf("unknown aggregate %q", name)
}

// Point is one rollup interval of a series. T is the time of the interval's
// last raw sample, so Last and Counter are exact raw values at T.
type Point struct {
	T                                   int64
	Last, Min, Max, Sum, Count, Counter float64
}

// Get returns the aggregate a of p.
func (p Point) Get(a Aggregate) float64 {
	switch a {
	case AggregateMin:
		return p.Min
	case AggregateMax:
		return p.Max
	case AggregateSum:
		return p.Sum
	case AggregateCount:
		return p.Count
	case AggregateCounter:
		return p.Counter
	default:
		return p.Last
	}
}

func (p *Point) set(a Aggregate, v float64) {
	switch a {
	case AggregateMin:
		p.Min = v
	case AggregateMax:
		p.Max = v
	case AggregateSum:
		p.Sum = v
	case AggregateCount:
		p.Count = v
	case AggregateCounter:
		p.Counter = v
	default:
		p.Last = v
	}
}

// merge folds the later point b into p.
func (p *Point) merge(b Point) {
	p.T = b.T
	p.Min = math.Min(p.Min, b.Min)
	p.Max = math.Max(p.Max, b.Max)
	p.Sum += b.Sum
	p.Count += b.Count
	p.Last = b.Last
	p.Counter = b.Counter
}

// pointsPerBlock is how many points a rollup block holds before it is written:
// two hours of minutes, five days of hours.
const pointsPerBlock = 120

// encodeBlock writes points as uvarint(n) then one XOR chunk per aggregate,
// each uvarint length-prefixed, so every aggregate compresses on its own.
func encodeBlock(b []byte, pts []Point) []byte {
	b = binary.AppendUvarint(b, uint64(len(pts)))
	for a := Aggregate(0); a < numAggregates; a++ {
		c := chunkenc.NewXORChunk()
		app, _ := c.Appender() // an empty chunk's appender cannot fail
		for _, p := range pts {
			app.Append(0, p.T, p.Get(a))
		}
		b = binary.AppendUvarint(b, uint64(len(c.Bytes())))
		b = append(b, c.Bytes()...)
	}
	return b
}

// decodeBlock appends the points of a block payload to dst.
func decodeBlock(dst []Point, payload []byte) ([]Point, error) {
	d := decoder{b: payload}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(payload)) {
		return dst, fmt.Errorf("%w: rollup block header", ErrCorrupt)
	}
	base := len(dst)
	for range n {
		dst = append(dst, Point{})
	}
	var buf []Sample
	for a := Aggregate(0); a < numAggregates; a++ {
		var err error
		buf, err = decodeChunk(buf[:0], d.bytes(d.uvarint()))
		if d.err != nil || err != nil || uint64(len(buf)) != n {
			return dst[:base], fmt.Errorf("%w: rollup block %s: %d of %d points (%v, %v)", ErrCorrupt, a, len(buf), n, err, d.err)
		}
		for i, s := range buf {
			p := &dst[base+i]
			if a > 0 && p.T != s.T {
				return dst[:base], fmt.Errorf("%w: rollup block aggregates disagree on time", ErrCorrupt)
			}
			p.T = s.T
			p.set(a, s.V)
		}
	}
	if !d.done() {
		return dst[:base], fmt.Errorf("%w: %d trailing bytes after rollup block", ErrCorrupt, len(d.b))
	}
	return dst, nil
}

// Resolutions of the rollup tiers in milliseconds.
const (
	minuteMs = int64(60 * 1000)
	hourMs   = 60 * minuteMs
)

// tierAcc builds one tier: the partial interval and the finished points of
// the block not yet written.
type tierAcc struct {
	res   int64
	cur   Point
	open  bool
	block []Point
}

// add folds p (a raw sample or a finer tier's point) in. It calls final for a
// finished interval and full when the block reaches pointsPerBlock.
func (a *tierAcc) add(p Point, final func(Point), full func([]Point)) {
	if a.open && floorDiv(p.T, a.res) == floorDiv(a.cur.T, a.res) {
		a.cur.merge(p)
		return
	}
	if a.open {
		a.keep(a.cur)
		if final != nil {
			final(a.cur)
		}
		if len(a.block) == pointsPerBlock {
			full(a.block)
			a.block = nil
		}
	}
	a.cur, a.open = p, true
}

// keep adds a finished point to the open block, which a new block gets
// room for at once.
func (a *tierAcc) keep(p Point) {
	if a.block == nil {
		a.block = make([]Point, 0, pointsPerBlock)
	}
	a.block = append(a.block, p)
}

// points appends the finished points of the open block and the partial interval.
func (a *tierAcc) points(dst []Point) []Point {
	dst = append(dst, a.block...)
	if a.open {
		dst = append(dst, a.cur)
	}
	return dst
}

func floorDiv(t, d int64) int64 {
	q := t / d
	if t%d < 0 {
		q--
	}
	return q
}

// rollupState is everything a series' rollups need between flushes: the raw
// counter state, both tiers' partial intervals and open blocks. It is kept
// in the rollup_head bucket, written in the same transaction as the raw
// chunks it was built from, so rollups never miss or double-count a chunk.
type rollupState struct {
	rawMaxT int64 // last raw sample folded in
	hasRaw  bool
	lastRaw float64
	cum     float64 // reset-adjusted counter
	m, h    tierAcc
}

func newRollupState() *rollupState {
	return &rollupState{rawMaxT: minInt64, m: tierAcc{res: minuteMs}, h: tierAcc{res: hourMs}}
}

// rollupSink receives blocks that filled up.
type rollupSink struct {
	minute, hour func([]Point)
}

// addRaw folds one raw sample in. A staleness marker (value.StaleNaN) ends
// its series and carries no value, nor does any other NaN: both are
// skipped, so neither becomes an interval's last, min, max, sum or count.
// An infinite value is aggregated but leaves the reset-adjusted counter
// alone, which it would otherwise hold at ±Inf (or NaN) for good.
func (r *rollupState) addRaw(s Sample, sink rollupSink) {
	r.rawMaxT = s.T
	if math.IsNaN(s.V) {
		return
	}
	if !math.IsInf(s.V, 0) {
		r.addCounter(s.V)
	}
	p := Point{T: s.T, Last: s.V, Min: s.V, Max: s.V, Sum: s.V, Count: 1, Counter: r.cum}
	r.m.add(p, func(fin Point) { r.h.add(fin, nil, sink.hour) }, sink.minute)
}

// addCounter moves the reset-adjusted counter to v: a drop is a reset.
func (r *rollupState) addCounter(v float64) {
	switch {
	case !r.hasRaw:
		r.cum = v
	case v < r.lastRaw:
		r.cum += v
	default:
		r.cum += v - r.lastRaw
	}
	r.hasRaw, r.lastRaw = true, v
}

// points returns the tier's unwritten points, the last one partial. The
// hour tier's partial interval includes the minute tier's partial one.
func (r *rollupState) points(res int64) []Point {
	if res == minuteMs {
		return r.m.points(nil)
	}
	pts := r.h.points(nil)
	if !r.m.open {
		return pts
	}
	if n := len(pts); n > 0 && r.h.open && floorDiv(r.m.cur.T, hourMs) == floorDiv(pts[n-1].T, hourMs) {
		pts[n-1].merge(r.m.cur)
		return pts
	}
	return append(pts, r.m.cur)
}

const rollupStateVersion = 1

func (r *rollupState) encode() []byte {
	b := []byte{rollupStateVersion}
	b = binary.AppendVarint(b, r.rawMaxT)
	if r.hasRaw {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendFloat(b, r.lastRaw)
	b = appendFloat(b, r.cum)
	b = r.m.encode(b)
	return r.h.encode(b)
}

func (a *tierAcc) encode(b []byte) []byte {
	if a.open {
		b = append(b, 1)
		b = binary.AppendVarint(b, a.cur.T)
		for g := Aggregate(0); g < numAggregates; g++ {
			b = appendFloat(b, a.cur.Get(g))
		}
	} else {
		b = append(b, 0)
	}
	return encodeBlock(b, a.block)
}

func decodeRollupState(v []byte) (*rollupState, error) {
	r := newRollupState()
	d := decoder{b: v}
	if ver := d.byte(); ver != rollupStateVersion {
		return nil, fmt.Errorf("%w: rollup state version %d", ErrCorrupt, ver)
	}
	r.rawMaxT = d.varint()
	r.hasRaw = d.byte() == 1
	r.lastRaw, r.cum = d.float(), d.float()
	if err := r.m.decode(&d); err != nil {
		return nil, err
	}
	if err := r.h.decode(&d); err != nil {
		return nil, err
	}
	if !d.done() {
		return nil, fmt.Errorf("%w: rollup state: %d trailing bytes (%v)", ErrCorrupt, len(d.b), d.err)
	}
	return r, nil
}

func (a *tierAcc) decode(d *decoder) error {
	a.open = d.byte() == 1
	if a.open {
		a.cur.T = d.varint()
		for g := Aggregate(0); g < numAggregates; g++ {
			a.cur.set(g, d.float())
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: rollup state: %v", ErrCorrupt, d.err)
	}
	// The block runs to the end of this tier's part; decodeBlock needs its
	// exact bytes, so decode from the rest and measure what it consumed.
	n := d.uvarint()
	if d.err != nil || n > pointsPerBlock {
		return fmt.Errorf("%w: rollup state block of %d points", ErrCorrupt, n)
	}
	pts, rest, err := decodeBlockPrefix(d.b, n)
	if err != nil {
		return err
	}
	a.block, d.b = pts, rest
	return nil
}

// decodeBlockPrefix decodes a block of n points whose count was already read.
func decodeBlockPrefix(b []byte, n uint64) ([]Point, []byte, error) {
	d := decoder{b: b}
	start := len(b)
	for range numAggregates {
		d.bytes(d.uvarint())
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("%w: rollup state block: %v", ErrCorrupt, d.err)
	}
	payload := binary.AppendUvarint(nil, n)
	payload = append(payload, b[:start-len(d.b)]...)
	pts, err := decodeBlock(nil, payload)
	if err != nil {
		return nil, nil, err
	}
	if len(pts) == 0 {
		pts = nil
	}
	return pts, d.b, nil
}
