package store

import (
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// impSeries is one series of an import: its labels, what the store held of
// it when the import looked, the plan the check made for it and the state
// of its writing.
type impSeries struct {
	lset Labels
	hash uint64
	s    *memSeries // nil until the series exists
	err  error      // why all its samples are refused: its labels, or the series limit
	b    bounds
	read bool // b has been read from the store

	// counted is the pass that counted the series among those stored.
	counted int

	// The last sample taken in the pass under way: the next must be newer.
	seen  bool
	lastT int64
	lastV float64

	// The plan, made by the check.
	taken int64 // samples to be stored
	// appFirst is the oldest sample after what the store holds.
	appFirst int64
	// appRaw counts the raw samples after what the store holds, last the
	// newest of them; appRollup says whether older ones come before them.
	appRaw    int64
	appLast   Sample
	appRollup bool
	prepend   bool     // some samples go before what the store holds
	preLast   int64    // the newest of them
	head      []Sample // the raw appends, while few enough for the head
	direct    bool     // the raw appends are written as chunks

	wr seriesWriter
}

// bounds are what a series holds in every tier: the oldest and newest
// times, and its last appended sample (a resend of which is accepted).
type bounds struct {
	oldest, newest int64
	lastT          int64
	lastV          float64
}

var noBounds = bounds{oldest: maxInt64, newest: minInt64, lastT: minInt64}

// tierCuts are the oldest times each tier keeps, and the newest time
// accepted, at the clock reading an import judges every sample by.
type tierCuts struct {
	raw, minute, hour, future int64
}

func (db *DB) tierCuts(now int64) tierCuts {
	return tierCuts{
		raw:    now - db.opts.RawRetention.Milliseconds(),
		minute: now - db.opts.MinuteRetention.Milliseconds(),
		hour:   now - db.opts.HourRetention.Milliseconds(),
		future: now + db.opts.MaxFutureSkew.Milliseconds(),
	}
}

// tierOf returns the finest tier that keeps time t, or false when none does.
func (c tierCuts) tierOf(t int64) (Tier, bool) {
	switch {
	case t >= c.raw:
		return TierRaw, true
	case t >= c.minute:
		return TierMinute, true
	case t >= c.hour:
		return TierHour, true
	}
	return TierRaw, false
}

// readBounds returns what s holds, in memory and, through tx, on disk.
func readBounds(tx *bolt.Tx, s *memSeries) (bounds, error) {
	b, err := diskBounds(tx, s.id)
	if err != nil {
		return b, err
	}
	return b.withMemory(s), nil
}

// diskBounds returns what series id holds on disk: its first block in each
// tier and its rollup state. (The newest raw sample on disk is the
// series' persistedMaxT, which withMemory takes.)
func diskBounds(tx *bolt.Tx, id uint64) (bounds, error) {
	b := noBounds
	for _, bucket := range [][]byte{bChunks, bRollup1m, bRollup1h} {
		k, _ := tx.Bucket(bucket).Cursor().Seek(chunkKey(id, minInt64))
		if kid, start, err := parseChunkKey(k); err == nil && kid == id {
			b.oldest = min(b.oldest, start)
		}
	}
	st, err := loadRollupState(tx.Bucket(bRollupHead), seriesKey(id))
	if err != nil {
		return b, fmt.Errorf("rollup state of series %d: %w", id, err)
	}
	if st.rawMaxT > minInt64 {
		b.newest = max(b.newest, st.rawMaxT)
		b.oldest = min(b.oldest, st.oldestPoint())
	}
	return b, nil
}

// withMemory adds to b what s holds in memory: its head, its closed chunks
// and its last sample.
func (b bounds) withMemory(s *memSeries) bounds {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.lastT, b.lastV = s.lastT, s.lastV
	b.newest = max(b.newest, s.lastT, s.persistedMaxT)
	switch {
	case len(s.closed) > 0:
		b.oldest = min(b.oldest, s.closed[0].minT)
	case s.headN > 0:
		b.oldest = min(b.oldest, s.headMinT)
	}
	return b
}

// oldestPoint returns the time of the oldest point the state holds, or
// maxInt64 when it holds none.
func (r *rollupState) oldestPoint() int64 {
	t := maxInt64
	for _, a := range []*tierAcc{&r.m, &r.h} {
		if len(a.block) > 0 {
			t = min(t, a.block[0].T)
		} else if a.open {
			t = min(t, a.cur.T)
		}
	}
	return t
}

// resolve finds the import's series for each series of piece p, in
// imp.resolved, creating those it meets for the first time.
func (imp *importer) resolve(p *piece) error {
	imp.resolved = imp.resolved[:0]
	var unread []*impSeries
	for _, ps := range p.series {
		sp := imp.byKey[ps.class][string(ps.raw)]
		if sp == nil {
			var err error
			if sp, err = imp.lookup(ps); err != nil {
				return fmt.Errorf("line %d: %w", p.line, err)
			}
			if sp.s != nil && !sp.read {
				unread = append(unread, sp)
			}
		}
		imp.resolved = append(imp.resolved, sp)
	}
	return imp.readBounds(unread)
}

// lookup returns the import's series written as ps: one known by its labels
// (written another way before), or a new one.
func (imp *importer) lookup(ps pieceSeries) (*impSeries, error) {
	ls, err := seriesLabels(ps, imp.f)
	if err != nil {
		return nil, err
	}
	h := ls.hash()
	var sp *impSeries
	for _, o := range imp.byHash[h] {
		if o.lset.Equal(ls) {
			sp = o
		}
	}
	if sp == nil {
		sp = imp.newSeries(ls, h)
	}
	imp.byKey[ps.class][string(ps.raw)] = sp
	return sp, nil
}

func (imp *importer) newSeries(ls Labels, h uint64) *impSeries {
	sp := &impSeries{lset: ls, hash: h, s: imp.db.idx.get(ls, h), b: noBounds}
	imp.byHash[h] = append(imp.byHash[h], sp)
	imp.list = append(imp.list, sp)
	if sp.s != nil {
		return sp
	}
	if err := ls.validate(&imp.db.opts); err != nil {
		sp.err = fmt.Errorf("%s: %w", ls, err)
		return sp
	}
	imp.fresh++
	if int(imp.db.idx.count.Load())+imp.fresh > imp.db.opts.MaxSeries {
		sp.err = fmt.Errorf("%w: %s would be series %d, limit %d", ErrSeriesLimit, ls, int(imp.db.idx.count.Load())+imp.fresh, imp.db.opts.MaxSeries)
	}
	return sp
}

// readBounds reads the bounds of existing series in one transaction.
func (imp *importer) readBounds(list []*impSeries) error {
	if len(list) == 0 {
		return nil
	}
	return imp.db.view(func(tx *bolt.Tx) error {
		for _, sp := range list {
			b, err := readBounds(tx, sp.s)
			if err != nil {
				return err
			}
			sp.b, sp.read = b, true
		}
		return nil
	})
}

// verdict is what becomes of one sample.
type verdict uint8

const (
	vRefused verdict = iota
	vSkipNaN         // non-finite, skipped under SkipNonFinite
	vTooOld          // older than every tier, skipped
	vResend          // the series' last sample again: taken, stored already
	vAppend          // after what the series holds
	vPrepend         // before what the series holds
)

// classify judges one sample of sp, moving sp's order on when it is taken.
// A refusal returns one of the package's errors, undescribed.
func (imp *importer) classify(sp *impSeries, t int64, v float64) (verdict, Tier, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		switch {
		case imp.o.SkipNonFinite:
			return vSkipNaN, 0, nil
		case imp.o.Strict:
			return vRefused, 0, ErrNonFinite
		}
	}
	if t > imp.cuts.future {
		return vRefused, 0, ErrTooFarInFuture
	}
	tier, ok := imp.cuts.tierOf(t)
	switch {
	case !ok && imp.o.Strict:
		return vRefused, 0, ErrTooOld
	case !ok:
		return vTooOld, 0, nil
	case sp.err != nil:
		return vRefused, 0, sp.err
	}
	vd, err := sp.place(t, v)
	if err == nil {
		sp.seen, sp.lastT, sp.lastV = true, t, v
	}
	return vd, tier, err
}

// place says where a sample at t goes: after or before what the series
// holds, or nowhere (a resend), or refuses it.
func (sp *impSeries) place(t int64, v float64) (verdict, error) {
	if sp.seen && t <= sp.lastT {
		switch {
		case t < sp.lastT:
			return vRefused, ErrOutOfOrder
		case math.Float64bits(v) != math.Float64bits(sp.lastV):
			return vRefused, ErrDuplicateSample
		}
		return vResend, nil
	}
	switch {
	case t > sp.b.newest:
		return vAppend, nil
	case t < sp.b.oldest:
		return vPrepend, nil
	case t == sp.b.lastT && math.Float64bits(v) == math.Float64bits(sp.b.lastV):
		return vResend, nil
	case t == sp.b.lastT:
		return vRefused, ErrDuplicateSample
	}
	return vRefused, ErrOutOfOrder
}

// describe explains the refusal of sample (t, v) of sp for reason.
func (sp *impSeries) describe(reason error, t int64, v float64, imp *importer) error {
	at := time.UnixMilli(t).UTC().Format(time.RFC3339Nano)
	switch reason {
	case ErrOutOfOrder:
		if sp.seen && t < sp.lastT {
			return fmt.Errorf("%w: %s at %s is older than the series' sample before it, at %s", reason, sp.lset, at, time.UnixMilli(sp.lastT).UTC().Format(time.RFC3339Nano))
		}
		return fmt.Errorf("%w: %s at %s falls within the time the store holds of the series (%s to %s): an import goes after or before it", reason, sp.lset, at,
			time.UnixMilli(sp.b.oldest).UTC().Format(time.RFC3339Nano), time.UnixMilli(sp.b.newest).UTC().Format(time.RFC3339Nano))
	case ErrDuplicateSample:
		return fmt.Errorf("%w: %s at %s has another value, %g", reason, sp.lset, at, v)
	case ErrTooFarInFuture:
		return fmt.Errorf("%w: %s at %s is more than %s ahead of the clock", reason, sp.lset, at, imp.db.opts.MaxFutureSkew)
	case ErrTooOld:
		return fmt.Errorf("%w: %s at %s is older than every tier keeps (%s)", reason, sp.lset, at, imp.db.longestRetentionDuration())
	case ErrNonFinite:
		return fmt.Errorf("%w: %s at %s is %g", reason, sp.lset, at, v)
	}
	return reason // sp.err, which names the series
}

func (db *DB) longestRetentionDuration() time.Duration {
	return time.Duration(db.longestRetention()) * time.Millisecond
}

// judge classifies sample j of p for either pass and counts it; a refused
// sample is recorded, and ok is false for it and for one not to write.
func (imp *importer) judge(sp *impSeries, p *piece, j int) (vd verdict, tier Tier, ok bool) {
	vd, tier, err := imp.classify(sp, p.t[j], p.v[j])
	if err != nil {
		imp.refuse(sp, err, p, j)
		return vd, tier, false
	}
	return vd, tier, imp.count(sp, vd, tier)
}

// check is the first pass's look at one sample: it judges it and plans.
func (imp *importer) check(sp *impSeries, p *piece, j int) error {
	t, v := p.t[j], p.v[j]
	imp.res.Checked++
	vd, tier, ok := imp.judge(sp, p, j)
	if !ok {
		return nil
	}
	imp.progress(imp.res.Checked)
	sp.taken++
	switch vd {
	case vPrepend:
		sp.prepend, sp.preLast = true, t
	case vAppend:
		if sp.appRaw == 0 && !sp.appRollup {
			sp.appFirst = t
		}
		if tier != TierRaw {
			sp.appRollup = true
			return nil
		}
		sp.appRaw++
		sp.appLast = Sample{t, v}
		imp.planHead(sp)
	}
	return nil
}

// count counts a sample the pass took or skipped, and reports whether it
// is to be stored.
func (imp *importer) count(sp *impSeries, vd verdict, tier Tier) bool {
	switch vd {
	case vSkipNaN:
		imp.res.SkippedNaN++
		return false
	case vTooOld:
		imp.res.Tiers.TooOld++
		return false
	}
	switch tier {
	case TierRaw:
		imp.res.Tiers.Raw++
	case TierMinute:
		imp.res.Tiers.Minute++
	default:
		imp.res.Tiers.Hour++
	}
	imp.res.Samples++
	if sp.counted != imp.pass {
		sp.counted = imp.pass
		imp.res.Series++
	}
	return vd != vResend
}

// Head appends: a series with no more raw samples after what the store
// holds than this, and nothing older before them, gets them appended to
// its head, as Append does, where more would make chunks of their own. At
// most headBudget samples wait for it.
const (
	headMax    = maxChunkSamples
	headBudget = 1 << 20
)

// planHead keeps sp's newest raw sample for its head, or gives up on the
// head once sp has too many.
func (imp *importer) planHead(sp *impSeries) {
	if sp.direct {
		return
	}
	if sp.appRollup || sp.appRaw > headMax || imp.headBuffered >= headBudget {
		imp.headBuffered -= len(sp.head)
		sp.head, sp.direct = nil, true
		return
	}
	sp.head = append(sp.head, sp.appLast)
	imp.headBuffered++
}
