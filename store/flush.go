package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// walRecord is an encoded WAL record and its key.
type walRecord struct {
	seq  uint64
	data []byte
}

// flushBatch is what one flush takes out of the heads and commits in one transaction.
type flushBatch struct {
	wal       walWriter
	list      []*memSeries
	newSeries []*memSeries
	chunks    []seriesChunks
	watermark uint64 // WAL records below it are no longer needed
	// checkpoint writes the open chunks of the next part of the series
	// (checkpointPart) to the heads bucket.
	checkpoint bool
	// heads are the open chunks the flush checkpoints, and the stale
	// checkpoints it deletes.
	heads []headCopy
	// nextPart is the series ID where the next part checkpoint begins.
	nextPart uint64
	// allSeries: the part is every series, so the heads bucket is
	// rebuilt rather than updated.
	allSeries bool
}

// SeriesSamples are one series' samples of a flush, for Options.OnFlush.
type SeriesSamples struct {
	Labels  Labels
	Samples []Sample
}

// headCopy is an open chunk as a checkpoint writes it; nil data deletes
// the series' checkpoint, whose chunk has closed.
type headCopy struct {
	s    *memSeries
	data []byte
}

type seriesChunks struct {
	s      *memSeries
	chunks []closedChunk
}

// Flush makes every sample appended before it durable: the samples of open
// chunks go into one WAL record, closed chunks and their rollups are written
// whole, and WAL records no open chunk needs any more are deleted, all in one
// bbolt transaction. If the transaction fails nothing is dropped: the next
// Flush writes it again. While the WAL is larger than Options.CheckpointBytes
// each flush also checkpoints a part of the series (see checkpointPart): it
// writes their open chunks, compressed, and deletes the WAL records no other
// series needs.
//
// A flush that fails because the data volume is full puts the DB in the
// disk-full state (see Writable) and returns an error wrapping ErrDiskFull;
// the first flush that commits afterwards ends it.
func (db *DB) Flush() error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	return db.flush(db.checkpointDue(db.stats.walBytes.Load() > db.checkpointBytes()))
}

// checkpointAll checkpoints every open chunk, a part per transaction, and
// then deletes the whole WAL unless appends went on meanwhile. In one
// transaction, a rewrite of every checkpoint would need room for them all
// besides the pages it frees, which only a later transaction can reuse: at
// 100,000 series the file grew by a third at Close.
func (db *DB) checkpointAll() error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	db.nextPart = 0
	for {
		if err := db.flush(true); err != nil || db.nextPart == 0 {
			return err
		}
	}
}

// checkpointParts and minPartSeries bound a part checkpoint (partSize):
// at most eight parts a round, of no fewer than minPartSeries series.
// Writing every open chunk at once took, at 100,000 series, a copy of each
// (40 MB) and as many dirty pages in the transaction: a transient that set
// the process's peak memory. In eight parts a flush holds an eighth of it.
const (
	checkpointParts = 8
	minPartSeries   = 1024
)

// partSize is how many of n series a part checkpoint writes. The WAL keeps
// the records since the oldest part's checkpoint, a round's worth, so a
// round has as many parts as records of the last flush's size fit in the
// checkpoint threshold, from one to checkpointParts: the WAL stays within
// about twice the threshold. Where a record is large against the heads
// (10,000 series at 70 samples a second each), parts are few and large,
// and the heads they copy small; at 100,000 series it is the heads that
// are large, and the parts are eight.
func (db *DB) partSize(n int) int {
	parts := int(min(checkpointParts, max(1, db.checkpointBytes()/max(1, db.lastRecord))))
	return max(minPartSeries, (n+parts-1)/parts)
}

// minCheckpointBytes is the WAL size below which no flush checkpoints.
const minCheckpointBytes = 1 << 20

// checkpointBytes is the WAL size past which flushes checkpoint: about
// the size of the open chunks (two bytes a sample, in memory and in the
// WAL, which holds XOR chunks too), at least minCheckpointBytes and at most
// Options.CheckpointBytes. So the WAL never holds much more than the heads,
// and checkpoints write no more than the log they delete: a small store
// keeps a small log, where a fixed 16 MiB was most of the live file of a
// thousand series for hours.
func (db *DB) checkpointBytes() int64 {
	return min(db.opts.CheckpointBytes, max(minCheckpointBytes, 2*db.stats.headSamples.Load()))
}

// checkpointDue returns want, except while the volume is full: a checkpoint
// rewrites open chunks, where a plain flush writes only what is pending,
// so the plain one is the likelier to fit.
func (db *DB) checkpointDue(want bool) bool {
	return want && db.full.cur.Load() == nil
}

// flush runs one flush; the caller holds flushMu.
func (db *DB) flush(checkpoint bool) error {
	start := time.Now()
	b := &db.batch
	b.checkpoint = checkpoint
	db.collect(b)
	if data := b.wal.record(); data != nil {
		db.carry = append(db.carry, walRecord{seq: db.walSeq, data: data})
		db.lastRecord = int64(len(data))
		db.walSeq++
	}
	if checkpoint {
		// Even if the transaction fails: the part's series keep the WAL
		// records they need until the next round reaches them.
		db.nextPart = b.nextPart
	}
	// While the volume is full even an empty flush commits a transaction:
	// only a commit shows that space is back. A checkpoint commits to
	// delete the records it made needless.
	if len(b.newSeries) == 0 && len(b.chunks) == 0 && len(db.carry) == 0 && len(b.heads) == 0 &&
		(!checkpoint || db.stats.walBytes.Load() == 0) && db.full.cur.Load() == nil {
		return nil
	}
	db.walDelta = 0
	db.encodeOutbox()
	if err := db.update(func(tx *bolt.Tx) error { return db.write(tx, b) }); err != nil {
		// bbolt rolled the transaction back. The closed chunks are still in
		// their heads and the WAL record in db.carry: the next flush writes
		// them again.
		b.release()
		return db.flushFailed(err)
	}
	db.commit(b)
	db.commitOutbox()
	db.stats.walBytes.Add(db.walDelta)
	b.release()
	clear(db.carry) // the records' bytes: a busy flush's are megabytes
	db.carry = db.carry[:0]
	if len(db.forward) > 0 {
		// A failed flush keeps them here, with its WAL record, for the next.
		if db.opts.OnFlush != nil {
			db.opts.OnFlush(db.forward)
		}
		db.forward = nil
	}
	db.flushSucceeded()
	db.stats.flushed(start)
	return nil
}

// release drops what the batch holds of a flush once it is over: the
// checkpoint's copies of every open chunk (tens of megabytes at 100,000
// series) and the closed chunks, which the reused slices' spare capacity
// would otherwise keep alive until later flushes overwrite them.
func (b *flushBatch) release() {
	clear(b.heads)
	clear(b.chunks)
	b.heads, b.chunks = b.heads[:0], b.chunks[:0]
}

// collect takes new series, closed chunks and pending samples out of every head.
func (db *DB) collect(b *flushBatch) {
	b.wal.reset()
	b.newSeries, b.chunks, b.heads = b.newSeries[:0], b.chunks[:0], b.heads[:0]
	b.list = db.idx.appendAll(b.list[:0])
	lo, hi := db.checkpointPart(b)
	seq := db.walSeq
	b.watermark = seq + 1
	now := db.opts.Now().UnixMilli()
	maxAge := db.opts.MaxChunkAge.Milliseconds()
	for i, s := range b.list {
		inPart := i >= lo && i < hi
		s.mu.Lock()
		if !s.written {
			b.newSeries = append(b.newSeries, s)
		}
		if s.headN > 0 && now-s.headOpened > maxAge {
			s.cut()
		}
		// Closed chunks stay in the head until commit drops them, so a read
		// running meanwhile finds them in memory or on disk, never in neither.
		if n := len(s.closed); n > 0 {
			b.chunks = append(b.chunks, seriesChunks{s, s.closed[:n:n]})
		}
		if (db.opts.OnFlush != nil || db.opts.Outbox != nil) && len(s.cutPending)+len(s.pending) > 0 {
			db.forward = append(db.forward, SeriesSamples{s.lset, append(slices.Clip(s.cutPending), s.pending...)})
		}
		s.cutPending = nil
		if len(s.pending) > 0 {
			b.wal.add(s.id, s.pending)
			s.pending = s.pending[:0]
			if s.walSeq == 0 {
				s.walSeq = seq
			}
		}
		switch {
		case inPart && s.headN > 0:
			b.heads = append(b.heads, headCopy{s, slices.Clone(s.head.Bytes())})
		case s.headSaved && (inPart || len(s.closed) > 0):
			// Its checkpoint holds a chunk that has closed, which this
			// flush writes, or has written.
			b.heads = append(b.heads, headCopy{s, nil})
		}
		if s.walSeq != 0 && !(inPart && s.headN > 0) {
			b.watermark = min(b.watermark, s.walSeq)
		}
		s.mu.Unlock()
	}
	for _, r := range db.carry {
		b.watermark = min(b.watermark, r.seq)
	}
}

// checkpointPart returns the part of b.list, sorted by ID, whose open
// chunks the flush checkpoints: none, or the next part of a round that goes
// through the series in ID order; it sets where the next part begins.
func (db *DB) checkpointPart(b *flushBatch) (lo, hi int) {
	b.allSeries = false
	if !b.checkpoint {
		return 0, 0
	}
	n := len(b.list)
	lo, _ = slices.BinarySearchFunc(b.list, db.nextPart, func(s *memSeries, id uint64) int { return cmp.Compare(s.id, id) })
	if lo == n {
		lo = 0
	}
	hi = min(n, lo+db.partSize(n))
	b.allSeries = lo == 0 && hi == n
	b.nextPart = 0
	if hi < n {
		b.nextPart = b.list[hi].id
	}
	return lo, hi
}

// write puts the batch into tx.
func (db *DB) write(tx *bolt.Tx, b *flushBatch) error {
	sb := tx.Bucket(bSeries)
	for _, s := range b.newSeries {
		if err := sb.Put(seriesKey(s.id), appendLabels(nil, s.lset)); err != nil {
			return fmt.Errorf("put series %d: %w", s.id, err)
		}
	}
	if err := writeHeads(tx, b.heads, b.allSeries); err != nil {
		return err
	}
	if err := db.writeWAL(tx, b.watermark); err != nil {
		return err
	}
	if err := db.writeOutbox(tx); err != nil {
		return err
	}
	var buf []Sample
	for _, sc := range b.chunks {
		var err error
		if buf, err = writeChunks(tx, sc, buf); err != nil {
			return err
		}
	}
	return nil
}

// writeHeads puts the open chunks in hs into the heads bucket and deletes
// the stale checkpoints hs names. With all, hs checkpoints every series (a
// store of up to minPartSeries does so in each checkpoint) and the bucket
// is made anew: appending to an empty bucket reads no page, where
// replacing a value reads its leaf.
func writeHeads(tx *bolt.Tx, hs []headCopy, all bool) error {
	hb := tx.Bucket(bHeads)
	if all {
		if err := tx.DeleteBucket(bHeads); err != nil {
			return fmt.Errorf("clear heads: %w", err)
		}
		var err error
		if hb, err = tx.CreateBucket(bHeads); err != nil {
			return fmt.Errorf("create heads: %w", err)
		}
	}
	// Pages full: bbolt rewrites a page whole when it changes anyway, and
	// a part's heads are put in key order.
	hb.FillPercent = 1
	for _, h := range hs {
		var err error
		switch {
		case h.data != nil:
			err = hb.Put(seriesKey(h.s.id), h.data)
		case !all:
			err = hb.Delete(seriesKey(h.s.id))
		}
		if err != nil {
			return fmt.Errorf("checkpoint series %d: %w", h.s.id, err)
		}
	}
	return nil
}

// writeWAL puts the pending records a series still needs, those from
// watermark on, and deletes those below it.
func (db *DB) writeWAL(tx *bolt.Tx, watermark uint64) error {
	wb := tx.Bucket(bWAL)
	wb.FillPercent = 1 // keys only ever grow
	for _, r := range db.carry {
		if r.seq < watermark {
			continue
		}
		if err := putWALRecord(wb, r); err != nil {
			return fmt.Errorf("put wal record %d: %w", r.seq, err)
		}
		db.walDelta += int64(len(r.data))
	}
	c := wb.Cursor()
	for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) < watermark; k, v = c.First() {
		db.walDelta -= int64(len(v))
		if err := c.Delete(); err != nil {
			return fmt.Errorf("delete wal record: %w", err)
		}
	}
	return nil
}

func walKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// walPieceBytes bounds a WAL value. A record of a busy flush (megabytes at
// hundreds of thousands of samples a second) put whole would take a run of
// contiguous overflow pages, freed a few seconds later as a run that only a
// record as large can reuse: the file grew by several records' worth of
// such runs. In pieces of a quarter page, a record fills ordinary pages
// that any later write reuses.
const walPieceBytes = pageSize / 4

// putWALRecord puts a record in pieces of at most walPieceBytes: the first
// under the record's key, the others under it followed by their index, a
// 2-byte big-endian number from 1, so they sort after it and before the
// next record.
func putWALRecord(wb *bolt.Bucket, r walRecord) error {
	data := r.data
	for i := 0; ; i++ {
		n := min(len(data), walPieceBytes)
		key := walKey(r.seq)
		if i > 0 {
			key = binary.BigEndian.AppendUint16(key, uint16(i)) // #nosec G115 -- a record has at most 65,535 pieces, checked below
		}
		if err := wb.Put(key, data[:n]); err != nil {
			return err
		}
		if data = data[n:]; len(data) == 0 {
			return nil
		}
		if i+1 > 0xFFFF {
			return fmt.Errorf("record of %d bytes: more than 65,535 pieces", len(r.data))
		}
	}
}

// writeChunks puts a series' closed chunks and folds them into its rollups.
func writeChunks(tx *bolt.Tx, sc seriesChunks, buf []Sample) ([]Sample, error) {
	cb := tx.Bucket(bChunks)
	// A series' chunks are put after its newest, so once a page splits
	// the part before the split point takes no more puts: splitting pages
	// full rather than half full (bbolt's default) leaves them full. The
	// live file of 24 h of 1,000 series at 1 s: 1.66 to 1.59 times its
	// compacted size (BenchmarkBytesPerSample).
	cb.FillPercent = 1
	for _, c := range sc.chunks {
		if err := cb.Put(chunkKey(sc.s.id, c.minT), appendBlockValue(nil, c.minT, c.maxT, c.data)); err != nil {
			return buf, fmt.Errorf("put chunk %d/%d: %w", sc.s.id, c.minT, err)
		}
	}
	return buf, updateRollups(tx, sc, buf)
}

// updateRollups feeds the chunks' samples into the series' rollup state,
// writes the blocks that filled up and stores the state.
func updateRollups(tx *bolt.Tx, sc seriesChunks, buf []Sample) error {
	hb := tx.Bucket(bRollupHead)
	key := seriesKey(sc.s.id)
	st, err := loadRollupState(hb, key)
	if err != nil {
		return err
	}
	var full blockWriter
	for _, c := range sc.chunks {
		if buf, err = decodeChunk(buf[:0], c.data); err != nil {
			return fmt.Errorf("rollup of series %d: %w", sc.s.id, err)
		}
		for _, s := range buf {
			if s.T > st.rawMaxT {
				st.addRaw(s, full.sink())
			}
		}
	}
	if err := full.write(tx, sc.s.id); err != nil {
		return err
	}
	return hb.Put(key, st.encode())
}

func loadRollupState(hb *bolt.Bucket, key []byte) (*rollupState, error) {
	v := hb.Get(key)
	if v == nil {
		return newRollupState(), nil
	}
	return decodeRollupState(v)
}

// blockWriter collects rollup blocks that filled up.
type blockWriter struct {
	minute, hour [][]Point
}

func (w *blockWriter) sink() rollupSink {
	return rollupSink{
		minute: func(p []Point) { w.minute = append(w.minute, p) },
		hour:   func(p []Point) { w.hour = append(w.hour, p) },
	}
}

func (w *blockWriter) write(tx *bolt.Tx, id uint64) error {
	for _, t := range []struct {
		bucket []byte
		blocks [][]Point
	}{{bRollup1m, w.minute}, {bRollup1h, w.hour}} {
		b := tx.Bucket(t.bucket)
		b.FillPercent = 1 // see writeChunks
		for _, pts := range t.blocks {
			minT, maxT := pts[0].T, pts[len(pts)-1].T
			if err := b.Put(chunkKey(id, minT), appendBlockValue(nil, minT, maxT, encodeBlock(nil, pts))); err != nil {
				return fmt.Errorf("put %s block %d/%d: %w", t.bucket, id, minT, err)
			}
		}
	}
	return nil
}

// commit records in the heads what the flush made durable.
func (db *DB) commit(b *flushBatch) {
	// Open chunks are checkpointed up to the collect; what came later is
	// pending and goes into the next record, which sets walSeq again.
	for _, h := range b.heads {
		h.s.mu.Lock()
		h.s.headSaved = h.data != nil
		if h.data != nil {
			h.s.walSeq = 0
		}
		h.s.mu.Unlock()
	}
	for _, s := range b.newSeries {
		s.mu.Lock()
		s.written = true
		s.mu.Unlock()
	}
	for _, sc := range b.chunks {
		n := 0
		for _, c := range sc.chunks {
			n += int(chunkSamples(c.data))
		}
		maxT := sc.chunks[len(sc.chunks)-1].maxT
		sc.s.mu.Lock()
		sc.s.closed = slices.Delete(sc.s.closed, 0, len(sc.chunks)) // sc.chunks aliases these
		sc.s.persistedMaxT = maxT
		sc.s.mu.Unlock()
		db.stats.headSamples.Add(-int64(n))
	}
}

func chunkSamples(data []byte) uint16 {
	if len(data) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(data)
}
