package store

import (
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// Reader reads raw samples for one query. Its Select returns series whose
// iterators decode the chunks and blocks in place, as they go, instead of
// copying every sample out first as Select does. A Reader is safe for
// concurrent use; Close it when its series are no longer read.
//
// A Reader holds no bbolt transaction between calls. Zero-copy reads of
// bbolt's memory map would need the read transaction open until the last
// iterator is done, which for the PromQL engine is the end of the query:
// it selects every series before evaluating and iterates them during the
// evaluation. bbolt lets writers commit while readers are open, but a
// commit that grows the file past the map must remap it, and remapping
// waits until every read transaction has closed, holding bbolt's writer
// lock (so every later flush waits too) and, once it waits, keeping new
// read transactions out (Go's RWMutex lets no new reader in while a writer
// waits). A slow query would stall every flush and every other read, and
// a query that began a second transaction in the same goroutine (two
// selects of one query, or a rollup select beside a raw one) would
// deadlock against the waiting remap. So each Select reads in one short
// transaction and copies the compressed chunks it needs out of it: about
// 2 bytes a sample, a small part of what decoding them costs, and an eighth
// of the 16 bytes a decoded sample takes. The engine closes its querier, and
// so the Reader, when the query has been evaluated.
type Reader struct {
	db *DB

	mu     sync.Mutex
	buf    []byte               // where chunks are copied; shared by the Reader's series
	bufs   []*[readBufSize]byte // every buffer buf has been, for Close to hand back
	mem    []rawChunk           // scratch: chunks of the heads, before each series' flushed ones go in
	views  []memView            // scratch: what Select took of each head
	closed bool

	// limited Readers count the samples their Selects take against left,
	// before copying any chunk; see LimitedReader.
	limited bool
	left    int
	count   rawIterator // decodes the chunks and blocks a range cuts, to count their samples
	one     [1]rawChunk // the chunk count iterates
}

// readBufSize is the size of the buffers chunks are copied into. A chunk
// is at most maxChunkBytes, so at most a sixteenth is left unused.
const readBufSize = 64 << 10

// Reader returns a Reader of the store.
func (db *DB) Reader() *Reader { return &Reader{db: db} }

// LimitedReader returns a Reader whose Selects together take at most
// samples samples. Each chunk's samples in range are counted before it is
// copied (from its header when all of them are, by decoding it when the
// range cuts it), so a Select past the budget returns ErrReadLimit having
// copied no more than the budget's chunks: at most about 18 bytes a sample
// (XOR's worst case), 1 to 2 for regular scrapes, plus one head chunk.
func (db *DB) LimitedReader(samples int) *Reader {
	return &Reader{db: db, limited: true, left: samples}
}

// Close hands the Reader's buffers back to the store for other Readers to
// fill: the series its Selects returned must not be read afterwards, as a
// storage.Querier's may not be after its Close. Close is idempotent.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bufs {
		r.db.readBufs.Put(b)
	}
	r.closed = true
	r.buf, r.bufs, r.mem, r.views = nil, nil, nil, nil
	return nil
}

// RawSeries is one series of a Reader's Select: its labels and the chunks
// holding its samples in the selected range. It satisfies Prometheus'
// storage.Series.
type RawSeries struct {
	lset   labels.Labels
	chunks []rawChunk
}

// rawChunk is an XOR chunk and the part of it a series holds: its samples
// with lo <= t <= hi. minT is the chunk's first sample, so a read from lo
// on knows whether to skip; hi is at most its last, so a Seek past hi skips
// the chunk without decoding it.
type rawChunk struct {
	data         []byte
	minT, lo, hi int64
}

// memView is what Select took of a series' memory: its labels, the newest
// time of its flushed chunks, and its chunks in memory, r.mem[from:to].
type memView struct {
	s             *memSeries
	lset          labels.Labels
	persistedMaxT int64
	from, to      int
}

// Labels returns the series' labels.
func (s *RawSeries) Labels() labels.Labels { return s.lset }

// Iterator returns an iterator over the series' samples in the selected
// range, in time order. It reuses it when it is an iterator of this
// package.
func (s *RawSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	ri, ok := it.(*rawIterator)
	if !ok {
		ri = &rawIterator{}
	}
	ri.reset(s.chunks)
	return ri
}

// Select returns the series the matchers select that hold samples between
// mint and maxt inclusive (unix milliseconds), sorted by labels. A sample
// appended before Select is called is in the result; one appended later
// may be.
func (r *Reader) Select(mint, maxt int64, ms ...*labels.Matcher) ([]RawSeries, error) {
	if r.db.closed.Load() {
		return nil, ErrClosed
	}
	if mint > maxt {
		return nil, fmt.Errorf("select: start %d is after end %d", mint, maxt)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("select: reader: %w", ErrClosed)
	}
	// Memory first, then the transaction. A flush drops chunks from memory
	// only after bbolt has committed them, so a transaction begun after
	// memory was taken holds every chunk up to the persistedMaxT taken with
	// it; chunks a flush commits meanwhile lie past it and are read from
	// memory instead. The series and their memory are taken under
	// appendMu, so a batch (AppendAll: a histogram of a scrape) is seen
	// whole or not at all.
	r.db.appendMu.RLock()
	matched := r.db.idx.matchAny(ms)
	disk, err := r.viewHeads(matched, mint, maxt)
	r.db.appendMu.RUnlock()
	if err != nil {
		return nil, err
	}
	// Sorted by the labels in Prometheus' form, which compare in one pass.
	slices.SortFunc(r.views, func(a, b memView) int { return labels.Compare(a.lset, b.lset) })
	out := make([]RawSeries, 0, len(matched))
	chunks := make([]rawChunk, 0, len(r.mem)+len(matched))
	if !disk {
		return r.collect(out, chunks, nil, mint, maxt)
	}
	verr := r.db.view(func(tx *bolt.Tx) error {
		out, err = r.collect(out, chunks, tx.Bucket(bChunks).Cursor(), mint, maxt)
		return err
	})
	return out, verr
}

// viewHeads takes the memory of each series into r.views and r.mem and
// reports whether any series needs flushed chunks too. A limited Reader
// stops at the series whose chunks pass its budget.
func (r *Reader) viewHeads(matched []*memSeries, mint, maxt int64) (bool, error) {
	r.views, r.mem = r.views[:0], r.mem[:0]
	disk := false
	for _, s := range matched {
		v := memView{s: s, from: len(r.mem)}
		r.mem, v.persistedMaxT, v.lset = s.view(r.mem, mint, maxt, r.keep)
		v.to = len(r.mem)
		if r.limited {
			for _, c := range r.mem[v.from:v.to] {
				// A chunk in memory cut at maxt ends past it; one not cut ends at hi.
				if err := r.take(c.data, c.lo, c.hi, c.minT >= c.lo && c.hi < maxt); err != nil {
					return false, err
				}
			}
		}
		r.views = append(r.views, v)
		disk = disk || v.persistedMaxT >= mint
	}
	return disk, nil
}

// collect appends to out each series of r.views with chunks in range: its
// flushed chunks read through c (nil when no series needs any), then its
// chunks in memory.
func (r *Reader) collect(out []RawSeries, chunks []rawChunk, c *bolt.Cursor, mint, maxt int64) ([]RawSeries, error) {
	for _, v := range r.views {
		start := len(chunks)
		if c != nil && v.persistedMaxT >= mint {
			err := blocksInRange(c, v.s.id, mint, min(maxt, v.persistedMaxT), func(start, end int64, payload []byte) error {
				if len(payload) < 2 {
					return fmt.Errorf("%w: chunk of %d bytes", ErrCorrupt, len(payload))
				}
				c := rawChunk{minT: start, lo: mint, hi: min(maxt, v.persistedMaxT, end)}
				if r.limited {
					if err := r.take(payload, c.lo, c.hi, start >= c.lo && c.hi == end); err != nil {
						return err
					}
				}
				c.data = r.keep(payload)
				chunks = append(chunks, c)
				return nil
			})
			if err != nil {
				return out, fmt.Errorf("select %s: %w", v.s.lset, err)
			}
		}
		chunks = append(chunks, r.mem[v.from:v.to]...)
		if len(chunks) > start {
			out = append(out, RawSeries{lset: v.lset, chunks: chunks[start:len(chunks):len(chunks)]})
		}
	}
	return out, nil
}

// take counts the samples of chunk data in [lo, hi] against the Reader's
// budget, or returns ErrReadLimit when they pass it. whole says that every
// sample of data lies in [lo, hi].
func (r *Reader) take(data []byte, lo, hi int64, whole bool) error {
	n, err := r.inRange(data, lo, hi, whole)
	if err != nil {
		return err
	}
	if r.left -= n; r.left < 0 {
		return ErrReadLimit
	}
	return nil
}

// inRange is the number of chunk data's samples in [lo, hi]: its header's
// count when the chunk lies wholly in range, else what decoding it finds,
// which only the chunks at a range's two ends need (and a block that a
// flush made newer than the memory the Select took).
func (r *Reader) inRange(data []byte, lo, hi int64, whole bool) (int, error) {
	if whole {
		return payloadSamples(data)
	}
	if len(data) < 2 {
		return 0, fmt.Errorf("%w: chunk of %d bytes", ErrCorrupt, len(data))
	}
	// The series' own iterator, over this chunk alone, keeps to its bounds.
	r.one[0] = rawChunk{data: data, minT: minInt64, lo: lo, hi: hi}
	r.count.reset(r.one[:])
	n := 0
	for r.count.Next() == chunkenc.ValFloat {
		n++
	}
	return n, r.count.Err()
}

// keep copies b into the Reader's buffer and returns the copy.
func (r *Reader) keep(b []byte) []byte {
	if cap(r.buf)-len(r.buf) < len(b) {
		r.buf = r.newBuf(len(b))
	}
	n := len(r.buf)
	r.buf = append(r.buf, b...)
	return r.buf[n:len(r.buf):len(r.buf)]
}

// newBuf returns an empty buffer for at least n bytes, from the store's
// pool when n fits one.
func (r *Reader) newBuf(n int) []byte {
	if n > readBufSize {
		return make([]byte, 0, n)
	}
	b, _ := r.db.readBufs.Get().(*[readBufSize]byte)
	if b == nil {
		b = new([readBufSize]byte)
	}
	r.bufs = append(r.bufs, b)
	return b[:0:readBufSize]
}

// view appends to dst the series' chunks in memory that hold samples in
// [mint, maxt] newer than its flushed ones, the open chunk copied with
// keep since appends go on changing it, and returns the newest time of
// its flushed chunks and its labels in Prometheus' form.
func (s *memSeries) view(dst []rawChunk, mint, maxt int64, keep func([]byte) []byte) ([]rawChunk, int64, labels.Labels) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plset.IsEmpty() {
		s.plset = s.lset.Prometheus()
	}
	lo := max(mint, s.persistedMaxT+1)
	for _, c := range s.closed {
		if c.maxT >= lo && c.minT <= maxt {
			dst = append(dst, rawChunk{data: c.data, minT: c.minT, lo: lo, hi: min(maxt, c.maxT)})
		}
	}
	if s.headN > 0 && s.lastT >= lo && s.headMinT <= maxt {
		dst = append(dst, rawChunk{data: keep(s.head.Bytes()), minT: s.headMinT, lo: lo, hi: min(maxt, s.lastT)})
	}
	return dst, s.persistedMaxT, s.plset
}
