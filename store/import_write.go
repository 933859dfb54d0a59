package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// The second pass writes in transactions of about importBatchBytes of
// chunks and rollup blocks. Open chunks and unwritten rollup points wait
// for their next sample across transactions; past importOpenBytes of them
// all are written as they stand, shorter than usual.
const (
	importBatchBytes = 8 << 20
	importOpenBytes  = 64 << 20
)

// write is everything after the check, under the flush lock, so no flush
// and no other import writes meanwhile: it claims the series, appends the
// head samples, then passes over the input again writing the rest.
func (imp *importer) write() (ImportResult, error) {
	db := imp.db
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	if err := db.Writable(); err != nil {
		return ImportResult{}, err
	}
	changed, err := imp.claim()
	if err != nil {
		return ImportResult{}, err
	}
	if changed || imp.w.needed() {
		err := imp.passOver(2, imp.store)
		if err == nil {
			err = imp.w.finish()
		}
		if err != nil {
			imp.w.abort()
			return imp.res, err
		}
	}
	for i, n := range imp.ref.counts {
		db.stats.refusedN(refuseReasons[i].err, uint64(n)) // #nosec G115 -- a count is never negative
	}
	db.stats.appended.Add(uint64(imp.res.Samples)) // #nosec G115 -- a count is never negative
	imp.res.Duration = time.Since(imp.start)
	return imp.res, nil
}

// store is the second pass's handling of one sample: judged as the check
// judged it, then written.
func (imp *importer) store(sp *impSeries, p *piece, j int) error {
	t, v := p.t[j], p.v[j]
	vd, tier, ok := imp.judge(sp, p, j)
	if !ok {
		return nil
	}
	imp.progress(imp.res.Samples)
	switch {
	case vd == vPrepend:
		return imp.w.prepend(sp, Sample{t, v}, tier)
	case tier != TierRaw:
		return imp.w.appendRollup(sp, Sample{t, v}, tier == TierHour)
	case sp.direct:
		return imp.w.appendRaw(sp, t, v)
	}
	return nil // appended to its head by claim
}

// claim makes the checked plan hold, with appends held off: it looks
// again at what the store holds of each series, creates the new series,
// claims the time of those written as chunks (so no append lands inside
// it; their open heads are cut, to be written first) and appends the head
// samples. Under Strict, a plan the store no longer allows refuses the
// import before anything is stored. It reports whether any series'
// bounds changed since the check.
func (imp *importer) claim() (bool, error) {
	db := imp.db
	// The disk holds still under flushMu; only memory needs appends held off.
	disk, err := imp.diskBounds()
	if err != nil {
		return false, err
	}
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	if db.closed.Load() {
		return false, ErrClosed
	}
	changed, err := imp.recheck(disk)
	if err != nil {
		return changed, err
	}
	refused, err := imp.createSeries()
	if err != nil {
		return changed, err
	}
	changed = changed || refused
	now := db.opts.Now().UnixMilli()
	for _, sp := range imp.list {
		if sp.s == nil || sp.err != nil {
			continue
		}
		if sp.direct || sp.appRollup {
			sp.wr.claim(sp)
		} else if len(sp.head) > 0 {
			imp.appendHead(sp, now)
		}
	}
	return changed, nil
}

// diskBounds reads what the disk holds of the import's series that exist,
// in one transaction.
func (imp *importer) diskBounds() (map[*impSeries]bounds, error) {
	out := map[*impSeries]bounds{}
	err := imp.db.view(func(tx *bolt.Tx) error {
		for _, sp := range imp.list {
			if sp.s == nil && sp.err == nil {
				sp.s = imp.db.idx.get(sp.lset, sp.hash) // created meanwhile
			}
			if sp.s == nil || sp.err != nil || sp.taken == 0 {
				continue
			}
			b, err := diskBounds(tx, sp.s.id)
			if err != nil {
				return err
			}
			out[sp] = b
		}
		return nil
	})
	return out, err
}

// recheck completes the disk's bounds with memory's and compares them
// with the check's. Under Strict a series whose samples no longer fit
// refuses the import.
func (imp *importer) recheck(disk map[*impSeries]bounds) (bool, error) {
	changed, refused := false, 0
	var first error
	for _, sp := range imp.list {
		b, ok := disk[sp]
		if !ok {
			continue
		}
		if b = b.withMemory(sp.s); b == sp.b {
			continue
		}
		changed = true
		if imp.o.Strict && !sp.fits(b) {
			refused += int(sp.taken)
			first = fmt.Errorf("%w: %s was written to while the import was checked: what it holds now (%d to %d) leaves no room for the import's samples", ErrOutOfOrder, sp.lset, b.oldest, b.newest)
		}
		sp.b = b
	}
	if first == nil {
		return changed, nil
	}
	imp.db.stats.refusedN(ErrOutOfOrder, uint64(refused)) // #nosec G115 -- a count is never negative
	return changed, &RefusedError{Total: int(imp.res.Samples), First: first, Reasons: []RefusedCount{{ErrOutOfOrder, "out_of_order", refused}}}
}

// fits reports whether the plan for sp holds with the store holding b.
func (sp *impSeries) fits(b bounds) bool {
	return (!sp.prepend || sp.preLast < b.oldest) && (sp.appRaw == 0 && !sp.appRollup || sp.appFirst > b.newest)
}

// createSeries creates the import's new series. Under Strict, when they
// do not all fit under MaxSeries, it creates none and refuses the import;
// otherwise those that do not fit have their samples refused, and it
// reports whether there were any.
func (imp *importer) createSeries() (bool, error) {
	db := imp.db
	var made []*memSeries
	refused := false
	for _, sp := range imp.list {
		if sp.s != nil || sp.err != nil || sp.taken == 0 {
			continue
		}
		s, err := db.idx.create(sp.lset, sp.hash, db.opts.MaxSeries, func() error { return nil })
		if err == nil {
			sp.s = s
			made = append(made, s)
			continue
		}
		sp.err, refused = fmt.Errorf("%s: %w", sp.lset, err), true
		if imp.o.Strict {
			for _, s := range made {
				db.idx.remove(s)
			}
			n := imp.unmade()
			db.stats.refusedN(ErrSeriesLimit, uint64(n)) // #nosec G115 -- a count is never negative
			return true, &RefusedError{Total: int(imp.res.Samples), First: sp.err, Reasons: []RefusedCount{{ErrSeriesLimit, "series_limit", n}}}
		}
	}
	return refused, nil
}

// unmade counts the samples of the new series not created.
func (imp *importer) unmade() int {
	n := 0
	for _, sp := range imp.list {
		if sp.s == nil && sp.err != nil && errors.Is(sp.err, ErrSeriesLimit) {
			n += int(sp.taken)
		}
	}
	return n
}

// appendHead appends sp's few raw samples to its head, those still after
// what the series holds.
func (imp *importer) appendHead(sp *impSeries, now int64) {
	s := sp.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, smp := range sp.head {
		if smp.T <= sp.b.newest {
			continue // the second pass refuses it
		}
		if err := s.append(smp.T, smp.V, now); err == nil {
			imp.db.stats.headSamples.Add(1)
		}
	}
	sp.head = nil
}

// seriesWriter is what the second pass builds for one series.
type seriesWriter struct {
	app   chunkBuilder // raw samples after what the store holds
	pre   chunkBuilder // raw samples before it
	preSt *rollupState // the rollups of all samples before it

	// Queued for the next transaction.
	queued    bool
	rollups   []rollupSample // samples after what the store holds, for its rollups only
	chunks    []closedChunk
	preChunks []closedChunk
	pre1m     [][]Point
	pre1h     [][]Point

	// The claim: the series' last sample before it, and how many of its
	// closed chunks (its head, cut) are to be written before the import's.
	claimed   bool
	before    Sample
	preClosed int
	// last is the newest sample of the import's chunks written so far.
	last Sample
}

// rollupSample is a sample for the rollups alone; hour says the 1-hour tier alone.
type rollupSample struct {
	Sample
	hour bool
}

// claim cuts sp's head, so its samples are written before the import's,
// and raises its last sample to the import's newest raw one, so appends
// meanwhile go after the import or are refused. The caller holds appendMu.
func (wr *seriesWriter) claim(sp *impSeries) {
	s := sp.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut()
	wr.preClosed = len(s.closed)
	wr.before = Sample{s.lastT, s.lastV}
	if sp.appRaw > 0 && sp.appLast.T > s.lastT {
		s.lastT, s.lastV = sp.appLast.T, sp.appLast.V
		wr.claimed = true
	}
}

// writer queues what the second pass builds and writes it in transactions.
type writer struct {
	imp    *importer
	queue  []*impSeries // series with something queued
	queued int          // bytes queued, roughly
	open   int          // bytes of open chunks and unwritten rollup points
	buf    []Sample
	// batchBytes and openBytes are importBatchBytes and importOpenBytes,
	// smaller in tests.
	batchBytes, openBytes int
	// For tests: transactions committed, the most bytes one held, and the
	// most bytes open.
	txs, maxQueued, maxOpen int
}

func (w *writer) init(imp *importer) {
	w.imp, w.batchBytes, w.openBytes = imp, importBatchBytes, importOpenBytes
}

// needed reports whether the plan has anything for the second pass.
func (w *writer) needed() bool {
	for _, sp := range w.imp.list {
		if sp.err == nil && (sp.direct || sp.appRollup || sp.prepend) {
			return true
		}
	}
	return false
}

func (w *writer) enqueue(sp *impSeries, bytes int) {
	if !sp.wr.queued {
		sp.wr.queued = true
		w.queue = append(w.queue, sp)
	}
	w.queued += bytes
}

// appendRaw adds a raw sample after what the series holds to its chunk.
func (w *writer) appendRaw(sp *impSeries, t int64, v float64) error {
	wr := &sp.wr
	before := wr.app.size()
	if c, ok := wr.app.add(t, v); ok {
		wr.chunks = append(wr.chunks, c)
		w.enqueue(sp, len(c.data)+chunkKeyLen)
	}
	w.open += wr.app.size() - before
	return w.maybeCommit()
}

// appendRollup queues a sample older than the raw retention, after what
// the series holds, for its rollup state.
func (w *writer) appendRollup(sp *impSeries, s Sample, hour bool) error {
	sp.wr.rollups = append(sp.wr.rollups, rollupSample{s, hour})
	w.enqueue(sp, 24)
	return w.maybeCommit()
}

// prepend adds a sample before what the series holds: to a raw chunk if
// the raw tier keeps it, and to the rollups of the series' past.
func (w *writer) prepend(sp *impSeries, s Sample, tier Tier) error {
	wr := &sp.wr
	if wr.preSt == nil {
		wr.preSt = newRollupState()
	}
	before := wr.pre.size() + wr.preSt.unwritten()*pointBytes
	if tier == TierRaw {
		if c, ok := wr.pre.add(s.T, s.V); ok {
			wr.preChunks = append(wr.preChunks, c)
			w.enqueue(sp, len(c.data)+chunkKeyLen)
		}
	}
	sink := w.prependSink(sp)
	if tier == TierHour {
		wr.preSt.addHour(s, sink)
	} else {
		wr.preSt.addRaw(s, sink)
	}
	w.open += wr.pre.size() + wr.preSt.unwritten()*pointBytes - before
	return w.maybeCommit()
}

// pointBytes is what a rollup point takes in memory.
const pointBytes = 56

func (w *writer) prependSink(sp *impSeries) rollupSink {
	return rollupSink{
		minute: func(p []Point) { sp.wr.pre1m = append(sp.wr.pre1m, p); w.enqueue(sp, len(p)*pointBytes) },
		hour:   func(p []Point) { sp.wr.pre1h = append(sp.wr.pre1h, p); w.enqueue(sp, len(p)*pointBytes) },
	}
}

// unwritten counts the finished points of the state that wait for a block.
func (r *rollupState) unwritten() int { return len(r.m.block) + len(r.h.block) }

func (w *writer) maybeCommit() error {
	w.maxOpen = max(w.maxOpen, w.open)
	if w.open >= w.openBytes {
		w.spill(false)
	}
	if w.queued < w.batchBytes {
		return nil
	}
	return w.commit()
}

// spill queues every open chunk and every finished rollup point; at the
// end it also closes the rollups' open intervals.
func (w *writer) spill(end bool) {
	for _, sp := range w.imp.list {
		wr := &sp.wr
		if c, ok := wr.app.close(); ok {
			wr.chunks = append(wr.chunks, c)
			w.enqueue(sp, len(c.data))
		}
		if c, ok := wr.pre.close(); ok {
			wr.preChunks = append(wr.preChunks, c)
			w.enqueue(sp, len(c.data))
		}
		if wr.preSt != nil {
			wr.preSt.drain(end, w.prependSink(sp))
		}
		if end && wr.preClosed > 0 {
			w.enqueue(sp, 0) // its cut head is written even if all else was refused
		}
	}
	w.open = 0
}

// finish writes everything left.
func (w *writer) finish() error {
	w.spill(true)
	return w.commit()
}

// commit writes the queue in one transaction, then tells the series.
func (w *writer) commit() error {
	if len(w.queue) == 0 {
		return nil
	}
	db := w.imp.db
	err := db.update(func(tx *bolt.Tx) error {
		for _, sp := range w.queue {
			if err := w.writeSeries(tx, sp); err != nil {
				return fmt.Errorf("%s: %w", sp.lset, err)
			}
		}
		return nil
	})
	if err != nil {
		if isDiskFull(err) {
			return fmt.Errorf("%w: %w", ErrDiskFull, err)
		}
		return err
	}
	w.txs++
	w.maxQueued = max(w.maxQueued, w.queued)
	for _, sp := range w.queue {
		w.committed(sp)
	}
	w.queue, w.queued = w.queue[:0], 0
	return nil
}

// writeSeries puts what is queued of sp: its record if new, the blocks of
// its past, its cut head, its rollup samples and its chunks, in time order.
func (w *writer) writeSeries(tx *bolt.Tx, sp *impSeries) error {
	s, wr := sp.s, &sp.wr
	s.mu.Lock()
	written, cut := s.written, s.closed[:wr.preClosed:wr.preClosed]
	s.mu.Unlock()
	if !written {
		if err := tx.Bucket(bSeries).Put(seriesKey(s.id), appendLabels(nil, s.lset)); err != nil {
			return fmt.Errorf("put series: %w", err)
		}
	}
	if err := putPast(tx, s.id, wr); err != nil {
		return err
	}
	var err error
	if len(cut) > 0 {
		if w.buf, err = writeChunks(tx, seriesChunks{s, cut}, w.buf); err != nil {
			return err
		}
	}
	if err := foldRollups(tx, s.id, wr.rollups); err != nil {
		return err
	}
	if len(wr.chunks) > 0 {
		w.buf, err = writeChunks(tx, seriesChunks{s, wr.chunks}, w.buf)
	}
	return err
}

// putPast puts the chunks and rollup blocks of a series' past.
func putPast(tx *bolt.Tx, id uint64, wr *seriesWriter) error {
	cb := tx.Bucket(bChunks)
	for _, c := range wr.preChunks {
		if err := cb.Put(chunkKey(id, c.minT), appendBlockValue(nil, c.minT, c.maxT, c.data)); err != nil {
			return fmt.Errorf("put chunk %d/%d: %w", id, c.minT, err)
		}
	}
	full := blockWriter{minute: wr.pre1m, hour: wr.pre1h}
	return full.write(tx, id)
}

// foldRollups folds samples older than the raw retention into the
// series' rollup state, writing the blocks that fill up.
func foldRollups(tx *bolt.Tx, id uint64, rs []rollupSample) error {
	if len(rs) == 0 {
		return nil
	}
	hb := tx.Bucket(bRollupHead)
	key := seriesKey(id)
	st, err := loadRollupState(hb, key)
	if err != nil {
		return err
	}
	var full blockWriter
	for _, r := range rs {
		switch {
		case r.T <= st.rawMaxT:
		case r.hour:
			st.addHour(r.Sample, full.sink())
		default:
			st.addRaw(r.Sample, full.sink())
		}
	}
	if err := full.write(tx, id); err != nil {
		return err
	}
	return hb.Put(key, st.encode())
}

// committed records in sp's series what the transaction wrote, and empties its queue.
func (w *writer) committed(sp *impSeries) {
	s, wr := sp.s, &sp.wr
	maxT := minInt64
	for _, c := range slices.Concat(wr.preChunks, wr.chunks) {
		maxT = max(maxT, c.maxT)
	}
	s.mu.Lock()
	s.written = true
	if n := wr.preClosed; n > 0 {
		for _, c := range s.closed[:n] {
			maxT = max(maxT, c.maxT)
			w.imp.db.stats.headSamples.Add(-int64(chunkSamples(c.data)))
		}
		s.closed = slices.Delete(s.closed, 0, n)
		wr.preClosed = 0
	}
	s.persistedMaxT = max(s.persistedMaxT, maxT)
	s.mu.Unlock()
	if n := len(wr.chunks); n > 0 {
		last, _ := lastSample(wr.chunks[n-1].data)
		wr.last = last
	}
	// Dropped, not reused: a series' share of one transaction can be most of
	// it, and kept by every series it would add up to far more.
	wr.queued = false
	wr.rollups, wr.chunks, wr.preChunks, wr.pre1m, wr.pre1h = nil, nil, nil, nil, nil
}

// abort undoes the claims of an import that failed while writing: a
// series' last sample goes back to the newest written, unless an append
// moved it on meanwhile.
func (w *writer) abort() {
	for _, sp := range w.imp.list {
		wr := &sp.wr
		if !wr.claimed {
			continue
		}
		last := wr.before
		if wr.last.T > last.T {
			last = wr.last
		}
		s := sp.s
		s.mu.Lock()
		if s.lastT == sp.appLast.T {
			s.lastT, s.lastV = last.T, last.V
		}
		s.mu.Unlock()
	}
}

// chunkBuilder builds a series' raw chunks as its head would.
type chunkBuilder struct {
	c          *chunkenc.XORChunk
	app        chunkenc.Appender
	minT, maxT int64
	n          int
}

// add appends a sample, after closing the chunk when the head would have,
// and returns the chunk it closed, if any.
func (b *chunkBuilder) add(t int64, v float64) (closedChunk, bool) {
	var c closedChunk
	var closed bool
	if b.c != nil && (b.n >= maxChunkSamples || len(b.c.Bytes()) >= maxChunkBytes || t-b.minT > maxChunkSpan) {
		c, closed = b.close()
	}
	if b.c == nil {
		b.c = chunkenc.NewXORChunk()
		b.app, _ = b.c.Appender() // an empty chunk's appender cannot fail
		b.minT = t
	}
	b.app.Append(0, t, v)
	b.maxT = t
	b.n++
	return c, closed
}

// close returns the open chunk, if there is one, and starts afresh.
func (b *chunkBuilder) close() (closedChunk, bool) {
	if b.c == nil {
		return closedChunk{}, false
	}
	b.c.Compact()
	c := closedChunk{minT: b.minT, maxT: b.maxT, data: b.c.Bytes()}
	b.c, b.app, b.n = nil, nil, 0
	return c, true
}

// size returns the bytes of the open chunk.
func (b *chunkBuilder) size() int {
	if b.c == nil {
		return 0
	}
	return len(b.c.Bytes())
}
