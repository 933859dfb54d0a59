package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
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
	gb := groupPool.Get().(*batchGroups)
	defer gb.release()
	ref := db.groupBatch(gb, batch, now)
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	if db.closed.Load() {
		db.stats.refusedN(ErrClosed, uint64(countSamples(batch))) // #nosec G115 -- a count is never negative
		return ErrClosed
	}
	db.checkOrder(gb.groups, now, ref)
	if ref.none() {
		db.reserveNew(gb.groups, ref)
	}
	if !ref.none() {
		e := *ref // gb goes back to groupPool; the refusal goes to the caller
		e.finish(countSamples(batch))
		for _, c := range e.Reasons {
			db.stats.refusedN(c.Reason, uint64(c.Count)) // #nosec G115 -- a count is never negative
		}
		return &e
	}
	for i := range gb.groups {
		if err := db.appendGroup(&gb.groups[i], now); err != nil {
			// Checked under appendMu, nothing can refuse it: a bug.
			return fmt.Errorf("append checked batch: %w", err)
		}
	}
	return nil
}

// groupPool recycles the grouping of batches, so a steady load groups
// its batches in memory it already has.
var groupPool = sync.Pool{New: func() any { return &batchGroups{byHash: map[uint64]int{}} }}

// batchGroups is a batch gathered by series.
type batchGroups struct {
	groups []batchGroup
	byHash map[uint64]int // a label hash's first group
	ref    RefusedError   // what of the batch is refused
}

// release gives gb back to groupPool, holding nothing of the batch.
func (gb *batchGroups) release() {
	clear(gb.groups)
	gb.groups = gb.groups[:0]
	clear(gb.byHash)
	gb.ref = RefusedError{}
	groupPool.Put(gb)
}

// batchGroup is one series of a batch: the entries that name it, in batch order.
type batchGroup struct {
	ls    Labels
	hash  uint64
	s     *memSeries // the series when grouped; nil for a new one
	first int        // the first entry: an index into the batch
	more  []int      // the other entries, for a series named more than once
	n     int        // samples
	err   error      // why its labels are refused, if they are
	next  int        // the next group of the same hash, or -1
	batch []SeriesSamples
}

type samplePos struct{ series, sample int }

// groupBatch gathers batch by series into gb and checks labels and times,
// which need no lock. It copies no sample, and hashes and normalizes each
// entry's labels once; only a new series' labels are validated.
func (db *DB) groupBatch(gb *batchGroups, batch []SeriesSamples, now int64) *RefusedError {
	ref := &gb.ref
	gb.groups = slices.Grow(gb.groups, len(batch))
	for i, ss := range batch {
		g := db.group(gb, ss.Labels, i)
		g.batch = batch
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
	return ref
}

// group returns the group of ls with batch entry i added, making the group
// if it is new: labels equal under one hash share a chain through next.
func (db *DB) group(gb *batchGroups, ls Labels, i int) *batchGroup {
	ls = ls.normalize()
	h := ls.hash()
	k, ok := gb.byHash[h]
	for ; ok && k >= 0; k = gb.groups[k].next {
		if g := &gb.groups[k]; g.ls.Equal(ls) {
			g.more = append(g.more, i)
			return g
		}
	}
	next := -1
	if ok {
		next = gb.byHash[h]
	}
	gb.byHash[h] = len(gb.groups)
	gb.groups = append(gb.groups, batchGroup{ls: ls, hash: h, first: i, next: next})
	g := &gb.groups[len(gb.groups)-1]
	if g.s = db.idx.get(ls, h); g.s == nil {
		if err := ls.validate(&db.opts); err != nil {
			g.err = fmt.Errorf("%s: %w", ls, err)
		}
	}
	return g
}

// entries calls fn with the group's entries, in batch order.
func (g *batchGroup) entries(fn func(i int) bool) {
	if !fn(g.first) {
		return
	}
	for _, i := range g.more {
		if !fn(i) {
			return
		}
	}
}

// each calls fn for the group's samples in batch order, with their positions.
func (g *batchGroup) each(fn func(smp Sample, p samplePos)) {
	g.entries(func(i int) bool {
		for j, smp := range g.batch[i].Samples {
			fn(smp, samplePos{i, j})
		}
		return true
	})
}

// checkOrder refuses samples not newer than the one before them, in the
// batch or in the store; a resend of that one is fine. Samples outside the
// time window, refused already, are passed over. The caller holds
// appendMu, so no append moves a series on meanwhile.
func (db *DB) checkOrder(groups []batchGroup, now int64, ref *RefusedError) {
	for k := range groups {
		g := &groups[k]
		if g.err != nil {
			continue
		}
		lastT, lastV := db.last(g)
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

// last returns the newest sample of the group's series, minInt64 for a
// new series. The series found when grouping is looked up again only if
// there was none then or it has been removed since.
func (db *DB) last(g *batchGroup) (int64, float64) {
	for range 2 {
		if g.s == nil {
			if g.s = db.idx.get(g.ls, g.hash); g.s == nil {
				return minInt64, 0
			}
		}
		g.s.mu.Lock()
		removed, lastT, lastV := g.s.removed, g.s.lastT, g.s.lastV
		g.s.mu.Unlock()
		if !removed {
			return lastT, lastV
		}
		g.s = nil
	}
	return minInt64, 0
}

// reserveNew reserves the batch's new series, refusing their samples when
// they do not all fit: the samples of the new series past the room left,
// in batch order, as an append one by one would have refused them.
func (db *DB) reserveNew(groups []batchGroup, ref *RefusedError) {
	var fresh []*batchGroup
	var lsets []Labels
	for k := range groups {
		if g := &groups[k]; g.s == nil && g.n > 0 {
			fresh = append(fresh, g)
			// A reservation may outlive the batch, whose strings may not.
			lsets = append(lsets, g.ls.clone())
		}
	}
	_, err := db.idx.reserve(lsets, db.opts.MaxSeries)
	if err == nil {
		return
	}
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
	p := samplePos{g.first, 0}
	g.entries(func(i int) bool {
		if len(g.batch[i].Samples) > 0 {
			p.series = i
			return false
		}
		return true
	})
	return p
}

// firstSample returns the group's first sample.
func (g *batchGroup) firstSample() Sample {
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
		if s, err = db.series(g.ls, g.firstSample().T, now); err != nil {
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
