package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/prometheus/prometheus/tsdb/chunkenc"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log lives in the wal bucket: one record per flush, key the
// flush sequence number (8-byte big-endian), in pieces of at most
// walPieceBytes, the pieces after the first keyed by the sequence number and
// a 2-byte piece index (putWALRecord). A record holds only the samples appended
// since the previous flush to series' open chunks. Whole chunks are written to
// the chunks bucket when they close, and records every open chunk has moved
// past are deleted. Open replays the records into the heads.
//
// Record layout:
//
//	0x00 uvarint(entries) { uvarint(seriesID) uvarint(n) entry }... crc32c(le, 4 bytes)
//	entry: n == 1: varint(t) float64(v)
//	       n > 1:  uvarint(len) XOR-chunk of the n samples
//
// A series that got several samples since the last flush has them as a
// Gorilla XOR chunk (chunkenc), as the heads hold them: about 1.5 to 3
// bytes a sample where 8 bytes a value took 10. So a busy store's WAL
// reaches its checkpoint threshold several times later and its file holds
// that much less of it. A single sample, the common case of a series
// scraped every few seconds, is as small written plainly, without a chunk's
// header and the appender chunkenc allocates. Records written before, with
// no leading 0x00 (their first byte is a count of at least one), are still
// read:
//
//	uvarint(entries) { uvarint(seriesID) uvarint(n) varint(t0) float64(v0) { uvarint(t-prevT) float64(v) }... }... crc32c(le, 4 bytes)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// walEntry is the new samples of one series in a record.
type walEntry struct {
	id      uint64
	samples []Sample
}

// walFormatXOR leads a record whose entries are XOR chunks.
const walFormatXOR = 0x00

// walWriter accumulates one record.
type walWriter struct {
	body    []byte
	entries int
	chunk   chunkenc.XORChunk
	stream  []byte // the chunk's bytes, reused entry after entry
}

// add appends an entry of one series' samples, at most an open chunk's
// (maxChunkSamples), in increasing time order.
func (w *walWriter) add(id uint64, samples []Sample) {
	if len(samples) == 0 {
		return
	}
	w.entries++
	w.body = binary.AppendUvarint(w.body, id)
	w.body = binary.AppendUvarint(w.body, uint64(len(samples)))
	if len(samples) == 1 {
		w.body = binary.AppendVarint(w.body, samples[0].T)
		w.body = appendFloat(w.body, samples[0].V)
		return
	}
	w.chunk.Reset(append(w.stream[:0], 0, 0)) // two zero bytes: no samples
	app, _ := w.chunk.Appender()              // an empty chunk's appender cannot fail
	for _, s := range samples {
		app.Append(0, s.T, s.V)
	}
	data := w.chunk.Bytes()
	w.body = binary.AppendUvarint(w.body, uint64(len(data)))
	w.body = append(w.body, data...)
	w.stream = data
}

func (w *walWriter) reset() {
	w.body = w.body[:0]
	w.entries = 0
}

// record returns the encoded record, or nil when nothing was added.
func (w *walWriter) record() []byte {
	if w.entries == 0 {
		return nil
	}
	b := binary.AppendUvarint(append(make([]byte, 0, len(w.body)+16), walFormatXOR), uint64(w.entries)) // #nosec G115 -- a count is never negative
	b = append(b, w.body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeWALRecord calls fn for each entry of a record; samples is reused between calls.
func decodeWALRecord(rec []byte, fn func(e walEntry) error) error {
	if len(rec) < 5 {
		return fmt.Errorf("%w: wal record of %d bytes", ErrCorrupt, len(rec))
	}
	body, sum := rec[:len(rec)-4], binary.LittleEndian.Uint32(rec[len(rec)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return fmt.Errorf("%w: wal record checksum mismatch", ErrCorrupt)
	}
	xor := body[0] == walFormatXOR
	if xor {
		body = body[1:]
	}
	d := decoder{b: body}
	n := d.uvarint()
	var buf []Sample
	for i := uint64(0); i < n && d.err == nil; i++ {
		decode := decodeWALEntry
		if xor {
			decode = decodeWALChunk
		}
		e, err := decode(&d, buf[:0])
		if err != nil {
			return err
		}
		buf = e.samples
		if err := fn(e); err != nil {
			return err
		}
	}
	if !d.done() {
		return fmt.Errorf("%w: wal record: %d entries, %d trailing bytes, err %v", ErrCorrupt, n, len(d.b), d.err)
	}
	return nil
}

// decodeWALChunk decodes an entry of a record in the XOR layout.
func decodeWALChunk(d *decoder, buf []Sample) (walEntry, error) {
	e := walEntry{id: d.uvarint()}
	n := d.uvarint()
	if n == 1 {
		e.samples = append(buf, Sample{d.varint(), d.float()})
		if d.err != nil {
			return e, fmt.Errorf("%w: wal entry for series %d: %v", ErrCorrupt, e.id, d.err)
		}
		return e, nil
	}
	data := d.bytes(d.uvarint())
	if d.err != nil || n < 2 {
		return e, fmt.Errorf("%w: wal entry for series %d: %d samples, %v", ErrCorrupt, e.id, n, d.err)
	}
	var err error
	if e.samples, err = decodeChunk(buf, data); err != nil {
		return e, fmt.Errorf("wal entry for series %d: %w", e.id, err)
	}
	if uint64(len(e.samples)) != n {
		return e, fmt.Errorf("%w: wal entry for series %d has %d samples, says %d", ErrCorrupt, e.id, len(e.samples), n)
	}
	return e, nil
}

// decodeWALEntry decodes an entry of a record in the layout before XOR chunks.
func decodeWALEntry(d *decoder, buf []Sample) (walEntry, error) {
	e := walEntry{id: d.uvarint()}
	n := d.uvarint()
	if d.err != nil || n == 0 || n > uint64(len(d.b)) {
		return e, fmt.Errorf("%w: wal entry header", ErrCorrupt)
	}
	t := d.varint()
	e.samples = append(buf, Sample{t, d.float()})
	for j := uint64(1); j < n; j++ {
		dt := d.uvarint()
		if dt == 0 || dt > 1<<62 {
			return e, fmt.Errorf("%w: wal entry timestamps not increasing", ErrCorrupt)
		}
		t += int64(dt)
		e.samples = append(e.samples, Sample{t, d.float()})
	}
	if d.err != nil {
		return e, fmt.Errorf("%w: wal entry for series %d: %v", ErrCorrupt, e.id, d.err)
	}
	return e, nil
}

// eachWALRecord calls fn with each record of the wal bucket, its pieces
// joined, in sequence order. The record is valid only until fn returns.
func eachWALRecord(wb *bolt.Bucket, fn func(seq uint64, rec []byte) error) error {
	var rec []byte
	seq, have := uint64(0), false
	c := wb.Cursor()
	for k, v := c.First(); ; k, v = c.Next() {
		if k != nil && len(k) != 8 && len(k) != 10 {
			return fmt.Errorf("%w: wal key of %d bytes", ErrCorrupt, len(k))
		}
		if have && (k == nil || len(k) == 8) {
			if err := fn(seq, rec); err != nil {
				return err
			}
		}
		if k == nil {
			return nil
		}
		if len(k) == 10 {
			if !have || binary.BigEndian.Uint64(k) != seq || int(binary.BigEndian.Uint16(k[8:])) != pieces(rec) {
				return fmt.Errorf("%w: wal piece %x out of place", ErrCorrupt, k)
			}
			rec = append(rec, v...)
			continue
		}
		seq, have = binary.BigEndian.Uint64(k), true
		rec = append(rec[:0], v...)
	}
}

// pieces returns how many pieces of walPieceBytes a record of len(rec)
// bytes so far has had, all but the last full.
func pieces(rec []byte) int { return (len(rec) + walPieceBytes - 1) / walPieceBytes }
