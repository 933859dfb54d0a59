package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// memSeries is a series' in-memory head: the open chunk, chunks closed since
// the last flush, and the samples the next WAL record must carry.
type memSeries struct {
	id   uint64
	lset Labels
	hash uint64

	mu sync.Mutex
	// plset is lset in Prometheus' form, made by the first Reader.Select
	// that reads the series, so a query does not convert it again.
	plset labels.Labels

	head     *chunkenc.XORChunk
	app      chunkenc.Appender
	headMinT int64
	headN    int
	// headOpened is the wall clock (unix ms) when the open chunk began.
	headOpened int64
	lastT      int64
	lastV      float64
	closed     []closedChunk
	pending    []Sample // appended to the head since the last flush
	// cutPending are samples appended since the last flush whose chunk
	// closed before it: the chunk keeps them, but OnFlush must still see them.
	cutPending []Sample
	// walSeq is the first WAL record holding samples of the open chunk; 0 when none does.
	walSeq uint64
	// persistedMaxT is the newest sample in the chunks bucket.
	persistedMaxT int64
	written       bool // the series record is on disk
	headSaved     bool // the heads bucket holds a checkpoint of it
	removed       bool // expired and dropped from the index; appends must look again
}

type closedChunk struct {
	minT, maxT int64
	data       []byte
}

func newMemSeries(id uint64, lset Labels, hash uint64) *memSeries {
	return &memSeries{id: id, lset: lset, hash: hash, lastT: minInt64, persistedMaxT: minInt64}
}

// errRemoved is returned by appendLocked when the pruner dropped the series.
var errRemoved = errors.New("series removed")

func (s *memSeries) appendLocked(t int64, v float64, now int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return errRemoved
	}
	return s.append(t, v, now)
}

// append adds a sample to the head. The caller holds s.mu.
func (s *memSeries) append(t int64, v float64, now int64) error {
	if t <= s.lastT {
		return s.orderError(t, v)
	}
	if s.head == nil || s.headN >= maxChunkSamples || len(s.head.Bytes()) >= maxChunkBytes || t-s.headMinT > maxChunkSpan {
		s.cut()
		s.head, s.app = newHeadChunk()
		s.headMinT, s.headOpened = t, now
	}
	s.app.Append(0, t, v)
	s.headN++
	s.lastT, s.lastV = t, v
	s.pending = append(s.pending, Sample{t, v})
	return nil
}

// headChunkCap is the bytes an open chunk starts with: room for its
// first few samples, where chunkenc.NewXORChunk gives 128. Most of a head
// is open chunks, and a series that gets many samples grows its own.
const headChunkCap = 32

// newHeadChunk returns an empty XOR chunk of headChunkCap bytes and its appender.
func newHeadChunk() (*chunkenc.XORChunk, chunkenc.Appender) {
	c, _ := chunkenc.FromData(chunkenc.EncXOR, make([]byte, 2, headChunkCap)) // two zero bytes: no samples
	x := c.(*chunkenc.XORChunk)
	app, _ := x.Appender() // an empty chunk's appender cannot fail
	return x, app
}

// orderError tells an idempotent resend (same time, same value) from a conflict.
func (s *memSeries) orderError(t int64, v float64) error {
	if t == s.lastT {
		if math.Float64bits(v) == math.Float64bits(s.lastV) {
			return nil
		}
		return fmt.Errorf("%w: %s at %d has %g, got %g", ErrDuplicateSample, s.lset, t, s.lastV, v)
	}
	return fmt.Errorf("%w: %s: sample at %d is older than the last one at %d", ErrOutOfOrder, s.lset, t, s.lastT)
}

// cut closes the open chunk; the next flush writes it whole. Its samples no
// longer need the WAL once that flush commits, so pending moves to
// cutPending, which only the next flush's OnFlush reads.
func (s *memSeries) cut() {
	if s.headN == 0 {
		return
	}
	s.head.Compact()
	s.closed = append(s.closed, closedChunk{minT: s.headMinT, maxT: s.lastT, data: s.head.Bytes()})
	s.head, s.app, s.headN = nil, nil, 0
	s.cutPending = append(s.cutPending, s.pending...)
	s.pending = s.pending[:0]
	s.walSeq = 0
}

// restoreHead makes a checkpointed chunk the open chunk again and returns
// its sample count; a chunk already written since (its first sample is not
// newer than persistedMaxT) is skipped.
func (s *memSeries) restoreHead(data []byte, now int64) (int, error) {
	samples, err := decodeChunk(nil, data)
	if err != nil || len(samples) == 0 || samples[0].T <= s.persistedMaxT {
		return 0, err
	}
	// Re-append rather than reuse the bytes: a chunk read back from bytes
	// does not know how many bits of its last byte are free, and appending
	// to it would corrupt the stream.
	c := chunkenc.NewXORChunk()
	app, _ := c.Appender() // an empty chunk's appender cannot fail
	for _, smp := range samples {
		app.Append(0, smp.T, smp.V)
	}
	last := samples[len(samples)-1]
	s.head, s.app, s.headN = c, app, len(samples)
	s.headMinT, s.headOpened = samples[0].T, now
	s.lastT, s.lastV = last.T, last.V
	return len(samples), nil
}

// headSnapshot is what a read needs of a series' memory: everything newer
// than persistedMaxT, copied so appends can go on.
type headSnapshot struct {
	persistedMaxT int64
	chunks        [][]byte
}

func (s *memSeries) snapshot() headSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	hs := headSnapshot{persistedMaxT: s.persistedMaxT}
	for _, c := range s.closed {
		hs.chunks = append(hs.chunks, c.data)
	}
	if s.headN > 0 {
		hs.chunks = append(hs.chunks, append([]byte(nil), s.head.Bytes()...))
	}
	return hs
}

// samples decodes the snapshot's samples newer than after within [mint, maxt].
func (hs headSnapshot) samples(dst []Sample, after, mint, maxt int64) ([]Sample, error) {
	mint = max(mint, after+1)
	n := 0
	for _, c := range hs.chunks {
		n += int(chunkSamples(c))
	}
	dst = slices.Grow(dst, n)
	var err error
	for _, c := range hs.chunks {
		if dst, err = decodeChunkRange(dst, c, mint, maxt); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
