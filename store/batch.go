package store

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// AppendAll appends every sample of batch, or none: a sample Append would
// refuse (out of order, a duplicate, outside the time window, bad labels, a
// new series past Options.MaxSeries) refuses the whole batch with a
// *RefusedError that counts the refused samples by reason. The store keeps
// no string of batch: a new series' labels are copied. Values are
// taken as they come, NaN and Prometheus' staleness markers among them, as
// Prometheus' remote-write receiver takes them. A resend of a series' last
// sample is accepted and ignored. While the data volume is full (or after
// Close) it appends nothing and returns Writable's error. Labels need not
// be sorted; a series may appear more than once, its samples in time order.
func (db *DB) AppendAll(batch []SeriesSamples) error {
	if err := db.Writable(); err != nil {
		db.stats.refusedN(err, uint64(countSamples(batch))) // #nosec G115 -- a count is never negative
		return err
	}
	now := db.opts.Now().UnixMilli()
	groups, ref := db.groupBatch(batch, now)
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	if db.closed.Load() {
		db.stats.refusedN(ErrClosed, uint64(countSamples(batch))) // #nosec G115 -- a count is never negative
		return ErrClosed
	}
	db.checkOrder(groups, now, ref)
	if ref.none() {
		db.reserveNew(groups, ref)
	}
	if !ref.none() {
		ref.finish(countSamples(batch))
		for _, c := range ref.Reasons {
			db.stats.refusedN(c.Reason, uint64(c.Count)) // #nosec G115 -- a count is never negative
		}
		return ref
	}
	for _, g := range groups {
		if err := db.appendGroup(g, now); err != nil {
			// Checked under appendMu, nothing can refuse it: a bug.
			return fmt.Errorf("append checked batch: %w", err)
		}
	}
	return nil
}

// batchGroup is one series of a batch: the entries that name it, in batch order.
type batchGroup struct {
	ls      Labels
	hash    uint64
	s       *memSeries // nil for a new series
	entries []int      // indexes into the batch
	n       int        // samples
	err     error      // why its labels are refused, if they are
	batch   []SeriesSamples
}

type samplePos struct{ series, sample int }

// groupBatch gathers batch by series and checks labels and times, which
// need no lock. It copies no sample.
func (db *DB) groupBatch(batch []SeriesSamples, now int64) ([]*batchGroup, *RefusedError) {
	ref := &RefusedError{}
	groups := make([]*batchGroup, 0, len(batch))
	byHash := make(map[uint64]*batchGroup, len(batch))
	for i, ss := range batch {
		g := db.group(byHash, &groups, ss.Labels)
		g.batch = batch
		g.entries = append(g.entries, i)
		g.n += len(ss.Samples)
		if g.err != nil {
			if n := len(ss.Samples); n > 0 {
				ref.add(g.err, samplePos{i, 0}, n)
			}
			continue
		}
		for j, smp := range ss.Samples {
			if err := db.checkTime(smp.T, now); err != nil {
				ref.add(fmt.Errorf("%s: %w", g.ls, err), samplePos{i, j}, 1)
			}
		}
	}
	return groups, ref
}

// group returns the group of ls, adding it to byHash and groups if it is new.
func (db *DB) group(byHash map[uint64]*batchGroup, groups *[]*batchGroup, ls Labels) *batchGroup {
	ls = ls.normalize()
	h := ls.hash()
	if g := byHash[h]; g != nil && g.ls.Equal(ls) {
		return g
	}
	for _, g := range *groups { // a hash collision: rare enough to search
		if g.hash == h && g.ls.Equal(ls) {
			return g
		}
	}
	g := &batchGroup{ls: ls, hash: h}
	if db.idx.get(ls, h) == nil {
		if err := ls.validate(&db.opts); err != nil {
			g.err = fmt.Errorf("%s: %w", ls, err)
		}
	}
	if byHash[h] == nil {
		byHash[h] = g
	}
	*groups = append(*groups, g)
	return g
}

// each calls fn for the group's samples in batch order, with their positions.
func (g *batchGroup) each(fn func(smp Sample, p samplePos)) {
	for _, i := range g.entries {
		for j, smp := range g.batch[i].Samples {
			fn(smp, samplePos{i, j})
		}
	}
}

// checkOrder refuses samples not newer than the one before them, in the
// batch or in the store; a resend of that one is fine. Samples outside the
// time window, refused already, are passed over. The caller holds
// appendMu, so no append moves a series on meanwhile.
func (db *DB) checkOrder(groups []*batchGroup, now int64, ref *RefusedError) {
	for _, g := range groups {
		if g.err != nil {
			continue
		}
		lastT, lastV := minInt64, 0.0
		if g.s = db.idx.get(g.ls, g.hash); g.s != nil {
			g.s.mu.Lock()
			lastT, lastV = g.s.lastT, g.s.lastV
			g.s.mu.Unlock()
		}
		g.each(func(smp Sample, p samplePos) {
			switch {
			case db.checkTime(smp.T, now) != nil:
			case smp.T > lastT:
				lastT, lastV = smp.T, smp.V
			case smp.T == lastT && math.Float64bits(smp.V) == math.Float64bits(lastV):
				// A resend of what is stored or already in the batch.
			case smp.T == lastT:
				ref.add(fmt.Errorf("%w: %s at %d has %g, got %g", ErrDuplicateSample, g.ls, smp.T, lastV, smp.V), p, 1)
			default:
				ref.add(fmt.Errorf("%w: %s: sample at %d is not after the one at %d", ErrOutOfOrder, g.ls, smp.T, lastT), p, 1)
			}
		})
	}
}

// reserveNew reserves the batch's new series, refusing their samples when
// they do not all fit: the samples of the new series past the room left,
// in batch order, as an append one by one would have refused them.
func (db *DB) reserveNew(groups []*batchGroup, ref *RefusedError) {
	var fresh []*batchGroup
	var lsets []Labels
	for _, g := range groups {
		if g.s == nil && g.n > 0 {
			fresh = append(fresh, g)
			// A reservation may outlive the batch, whose strings may not.
			lsets = append(lsets, g.ls.clone())
		}
	}
	_, err := db.idx.reserve(lsets, db.opts.MaxSeries)
	var sle *SeriesLimitError
	if !errors.As(err, &sle) {
		return
	}
	room := min(max(sle.Limit-sle.Used, 0), len(fresh))
	for _, g := range fresh[room:] {
		ref.add(fmt.Errorf("%s: %w", g.ls, err), g.firstPos(), g.n)
	}
}

// firstPos locates the group's first sample.
func (g *batchGroup) firstPos() samplePos {
	for _, i := range g.entries {
		if len(g.batch[i].Samples) > 0 {
			return samplePos{i, 0}
		}
	}
	return samplePos{g.entries[0], 0}
}

// first returns the group's first sample.
func (g *batchGroup) first() Sample {
	p := g.firstPos()
	return g.batch[p.series].Samples[p.sample]
}

// appendGroup appends a checked group's samples; a resend of the series'
// last sample is passed over.
func (db *DB) appendGroup(g *batchGroup, now int64) error {
	if g.n == 0 {
		return nil
	}
	s := g.s
	if s == nil {
		var err error
		if s, err = db.series(g.ls, g.first().T, now); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return errRemoved
	}
	var err error
	g.each(func(smp Sample, _ samplePos) {
		if err == nil && smp.T > s.lastT {
			err = s.append(smp.T, smp.V, now)
			db.stats.appended.Add(1)
			db.stats.headSamples.Add(1)
		}
	})
	return err
}

func countSamples(batch []SeriesSamples) int {
	n := 0
	for _, ss := range batch {
		n += len(ss.Samples)
	}
	return n
}

// RefusedError is AppendAll's refusal of a batch: it appended nothing.
// It wraps the sentinel error of every reason it counts.
type RefusedError struct {
	Total   int            // samples in the batch
	Reasons []RefusedCount // the refused samples by reason, in Stats.Refused's order
	// Series and Sample locate the first refused sample: batch[Series].Samples[Sample].
	Series, Sample int
	First          error // why the first refused sample was refused

	counts []int // by index in refuseReasons
}

// RefusedCount is how many samples of a batch were refused for one reason.
type RefusedCount struct {
	Reason error  // ErrOutOfOrder, ErrSeriesLimit, ...
	Name   string // its name in Stats.Refused: out_of_order, series_limit, ...
	Count  int
}

func (e *RefusedError) none() bool { return e.First == nil }

// add counts n samples refused with err, the first at p.
func (e *RefusedError) add(err error, p samplePos, n int) {
	if e.First == nil || p.series < e.Series || (p.series == e.Series && p.sample < e.Sample) {
		e.First, e.Series, e.Sample = err, p.series, p.sample
	}
	if e.counts == nil {
		e.counts = make([]int, len(refuseReasons))
	}
	for i, r := range refuseReasons {
		if errors.Is(err, r.err) {
			e.counts[i] += n
			return
		}
	}
}

// finish fills Reasons from the counts.
func (e *RefusedError) finish(total int) {
	e.Total = total
	for i, n := range e.counts {
		if n > 0 {
			e.Reasons = append(e.Reasons, RefusedCount{refuseReasons[i].err, refuseReasons[i].name, n})
		}
	}
}

// Refused returns the number of refused samples.
func (e *RefusedError) Refused() int {
	n := 0
	for _, c := range e.Reasons {
		n += c.Count
	}
	return n
}

// Error says how many samples were refused and why, naming the first:
// "refused 3 of 10 samples, appended none: out_of_order 2, too_old 1; first: ...".
func (e *RefusedError) Error() string {
	parts := make([]string, len(e.Reasons))
	for i, c := range e.Reasons {
		parts[i] = fmt.Sprintf("%s %d", c.Name, c.Count)
	}
	return fmt.Sprintf("refused %d of %d samples, appended none: %s; first: %v", e.Refused(), e.Total, strings.Join(parts, ", "), e.First)
}

// Unwrap returns the sentinel errors of the reasons.
func (e *RefusedError) Unwrap() []error {
	errs := make([]error, len(e.Reasons))
	for i, c := range e.Reasons {
		errs[i] = c.Reason
	}
	return errs
}
