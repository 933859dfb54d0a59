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
// *RefusedError that counts the refused samples by reason. Values are
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
	db.checkOrder(groups, ref)
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
		for _, smp := range g.samples {
			if _, err := db.insertLocked(g.ls, smp.T, smp.V, now); err != nil {
				// Checked under appendMu, nothing can refuse it: a bug.
				return fmt.Errorf("append checked batch: %w", err)
			}
		}
	}
	return nil
}

// batchGroup is one series of a batch: its samples, gathered from every
// entry that names it, and where the first came from.
type batchGroup struct {
	ls      Labels
	hash    uint64
	s       *memSeries // nil for a new series
	samples []Sample
	pos     []samplePos // batch position of each sample
	err     error       // why its labels are refused, if they are
}

type samplePos struct{ series, sample int }

// groupBatch gathers batch by series and checks labels and times, which
// need no lock.
func (db *DB) groupBatch(batch []SeriesSamples, now int64) ([]*batchGroup, *RefusedError) {
	ref := &RefusedError{}
	var groups []*batchGroup
	byHash := map[uint64][]*batchGroup{}
	for i, ss := range batch {
		ls := ss.Labels.normalize()
		h := ls.hash()
		g := findGroup(byHash[h], ls)
		if g == nil {
			g = &batchGroup{ls: ls, hash: h}
			byHash[h] = append(byHash[h], g)
			groups = append(groups, g)
			if db.idx.get(ls, h) == nil {
				if err := ls.validate(&db.opts); err != nil {
					g.err = fmt.Errorf("%s: %w", ls, err)
				}
			}
		}
		if g.err != nil {
			if n := len(ss.Samples); n > 0 {
				ref.add(g.err, samplePos{i, 0}, n)
			}
			continue
		}
		for j, smp := range ss.Samples {
			if err := db.checkTime(smp.T, now); err != nil {
				ref.add(fmt.Errorf("%s: %w", ls, err), samplePos{i, j}, 1)
				continue
			}
			g.samples = append(g.samples, smp)
			g.pos = append(g.pos, samplePos{i, j})
		}
	}
	return groups, ref
}

func findGroup(list []*batchGroup, ls Labels) *batchGroup {
	for _, g := range list {
		if g.ls.Equal(ls) {
			return g
		}
	}
	return nil
}

// checkOrder refuses samples not newer than the one before them, in the
// batch or in the store, and drops resends of that one. The caller holds
// appendMu, so no append moves a series on meanwhile.
func (db *DB) checkOrder(groups []*batchGroup, ref *RefusedError) {
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
		keep := g.samples[:0]
		for k, smp := range g.samples {
			switch {
			case smp.T > lastT:
				keep = append(keep, smp)
				g.pos[len(keep)-1] = g.pos[k]
				lastT, lastV = smp.T, smp.V
			case smp.T == lastT && math.Float64bits(smp.V) == math.Float64bits(lastV):
				// A resend of what is stored or already in the batch.
			case smp.T == lastT:
				ref.add(fmt.Errorf("%w: %s at %d has %g, got %g", ErrDuplicateSample, g.ls, smp.T, lastV, smp.V), g.pos[k], 1)
			default:
				ref.add(fmt.Errorf("%w: %s: sample at %d is not after the one at %d", ErrOutOfOrder, g.ls, smp.T, lastT), g.pos[k], 1)
			}
		}
		g.samples, g.pos = keep, g.pos[:len(keep)]
	}
}

// reserveNew reserves the batch's new series, refusing their samples when
// they do not all fit: the samples of the new series past the room left,
// in batch order, as an append one by one would have refused them.
func (db *DB) reserveNew(groups []*batchGroup, ref *RefusedError) {
	var fresh []*batchGroup
	var lsets []Labels
	for _, g := range groups {
		if g.s == nil && len(g.samples) > 0 {
			fresh = append(fresh, g)
			lsets = append(lsets, g.ls)
		}
	}
	_, err := db.idx.reserve(lsets, db.opts.MaxSeries)
	var sle *SeriesLimitError
	if !errors.As(err, &sle) {
		return
	}
	room := min(max(sle.Limit-sle.Used, 0), len(fresh))
	for _, g := range fresh[room:] {
		ref.add(fmt.Errorf("%s: %w", g.ls, err), g.pos[0], len(g.samples))
	}
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
