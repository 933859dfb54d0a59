package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OutboxOptions make the store keep each flush's samples for forwarding
// (remote write to a cluster) in the file itself, in the flush's own
// transaction: a sample is in the outbox exactly when it is durable in
// the store, and stays there, across restarts, until the forwarder has
// delivered it (DeleteOutbox) or a bound drops it.
type OutboxOptions struct {
	// Encode turns up to RecordSamples samples of a flush into the bytes
	// of one record, such as a remote-write request's body. It runs under
	// the flush lock, outside the transaction, and must not keep batch.
	Encode func(batch []SeriesSamples) []byte
	// RecordSamples bounds the samples of one record (a flush may make
	// several), so a record suits one request. Default 10,000.
	RecordSamples int
	// MaxBytes bounds the records kept: past it a flush drops the oldest
	// and counts their samples in OutboxStats.DroppedSamples. Default 256 MiB.
	MaxBytes int64
	// MaxAge drops records older than it at each flush. Default 24h.
	MaxAge time.Duration
}

// Defaults of OutboxOptions.
const (
	DefaultOutboxRecordSamples = 10_000
	DefaultOutboxMaxBytes      = 256 << 20
	DefaultOutboxMaxAge        = 24 * time.Hour
)

func (o *OutboxOptions) withDefaults() *OutboxOptions {
	if o == nil {
		return nil
	}
	r := *o
	if r.RecordSamples <= 0 {
		r.RecordSamples = DefaultOutboxRecordSamples
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = DefaultOutboxMaxBytes
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultOutboxMaxAge
	}
	return &r
}

// OutboxRecord is one record of the outbox: the encoding of some of a
// flush's samples, in flush order by Seq.
type OutboxRecord struct {
	Seq     uint64
	Written time.Time // when the flush that wrote it committed
	Samples int
	Newest  int64 // the newest sample's timestamp, unix ms
	Data    []byte
}

// OutboxStats describe the outbox.
type OutboxStats struct {
	Records, Bytes int64
	// DroppedSamples counts the samples of records a bound dropped since Open.
	DroppedSamples int64
}

// outbox is the DB's state of its outbox bucket; flushMu guards it, but
// for the counters, which Stats reads.
type outbox struct {
	next    uint64        // key of the next record, from 1
	ready   chan struct{} // signalled after a flush adds records
	records atomic.Int64
	bytes   atomic.Int64
	dropped atomic.Int64
	pending []OutboxRecord // encoded by the flush under way
	// change is what the flush under way's transaction did, applied to
	// the counters once it commits.
	change outboxChange
}

// outboxChange is what one transaction did to the outbox.
type outboxChange struct {
	next                                     uint64
	added, addedBytes, removed, removedBytes int64
	dropped                                  int64
}

// ErrOutboxOff is returned by the outbox calls of a DB opened without Options.Outbox.
var ErrOutboxOff = errors.New("store: no outbox (Options.Outbox is not set)")

// outboxKey is a record's key: its sequence number, big-endian.
func outboxKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// appendOutboxValue writes a record's value: varint written (unix ms),
// varint samples, varint newest, then the encoded data.
func appendOutboxValue(dst []byte, r OutboxRecord) []byte {
	dst = binary.AppendVarint(dst, r.Written.UnixMilli())
	dst = binary.AppendVarint(dst, int64(r.Samples))
	dst = binary.AppendVarint(dst, r.Newest)
	return append(dst, r.Data...)
}

func parseOutboxValue(seq uint64, v []byte) (OutboxRecord, error) {
	var f [3]int64
	for i, what := range []string{"time", "sample count", "newest time"} {
		x, n := binary.Varint(v)
		if n <= 0 {
			return OutboxRecord{}, fmt.Errorf("%w: outbox record %d: bad %s", ErrCorrupt, seq, what)
		}
		f[i], v = x, v[n:]
	}
	if f[1] < 0 || f[1] > math.MaxInt32 {
		return OutboxRecord{}, fmt.Errorf("%w: outbox record %d: bad sample count %d", ErrCorrupt, seq, f[1])
	}
	return OutboxRecord{Seq: seq, Written: time.UnixMilli(f[0]), Samples: int(f[1]), Newest: f[2], Data: v}, nil
}

// loadOutbox finds the next sequence number and the outbox's size.
func (db *DB) loadOutbox(tx *bolt.Tx) {
	if db.opts.Outbox == nil {
		return
	}
	db.outbox.ready = make(chan struct{}, 1)
	b := tx.Bucket(bOutbox)
	db.outbox.next = 1 // 0 asks Outbox for the oldest
	if k, _ := b.Cursor().Last(); len(k) == 8 {
		db.outbox.next = binary.BigEndian.Uint64(k) + 1
	}
	_ = b.ForEach(func(_, v []byte) error {
		db.outbox.records.Add(1)
		db.outbox.bytes.Add(int64(len(v)))
		return nil
	})
	if db.outbox.records.Load() > 0 {
		db.outbox.ready <- struct{}{}
	}
}

// encodeOutbox encodes the flush's samples (db.forward) into records of
// at most RecordSamples samples, kept for the transaction to write.
func (db *DB) encodeOutbox() {
	o := db.opts.Outbox
	db.outbox.pending = db.outbox.pending[:0]
	if o == nil || len(db.forward) == 0 {
		return
	}
	now := db.opts.Now()
	var part []SeriesSamples
	n := 0
	var newest int64
	emit := func() {
		if n == 0 {
			return
		}
		db.outbox.pending = append(db.outbox.pending, OutboxRecord{Written: now, Samples: n, Newest: newest, Data: o.Encode(part)})
		part, n, newest = part[:0], 0, 0
	}
	for _, s := range db.forward {
		for ss := s.Samples; len(ss) > 0; {
			take := min(len(ss), o.RecordSamples-n)
			part = append(part, SeriesSamples{Labels: s.Labels, Samples: ss[:take]})
			newest = max(newest, ss[take-1].T)
			n += take
			ss = ss[take:]
			if n == o.RecordSamples {
				emit()
			}
		}
	}
	emit()
}

// writeOutbox puts the flush's records and drops those past the bounds,
// oldest first; commitOutbox applies the change once committed.
func (db *DB) writeOutbox(tx *bolt.Tx) error {
	o := db.opts.Outbox
	ch := outboxChange{next: db.outbox.next}
	db.outbox.change = ch
	if o == nil {
		return nil
	}
	b := tx.Bucket(bOutbox)
	b.FillPercent = 1 // keys only ever grow
	for i := range db.outbox.pending {
		r := &db.outbox.pending[i]
		r.Seq = ch.next
		v := appendOutboxValue(nil, *r)
		if err := b.Put(outboxKey(r.Seq), v); err != nil {
			return fmt.Errorf("put outbox record %d: %w", r.Seq, err)
		}
		ch.added++
		ch.addedBytes += int64(len(v))
		ch.next++
	}
	size := db.outbox.bytes.Load() + ch.addedBytes
	cutoff := db.opts.Now().Add(-o.MaxAge)
	c := b.Cursor()
	// Deleting at a cursor moves it on, so each turn starts at the first.
	for k, v := c.First(); k != nil && (size-ch.removedBytes > o.MaxBytes || outboxWrittenBefore(v, cutoff)); k, v = c.First() {
		if rec, err := parseOutboxValue(binary.BigEndian.Uint64(k), v); err == nil {
			ch.dropped += int64(rec.Samples)
		}
		ch.removed++
		ch.removedBytes += int64(len(v))
		if err := c.Delete(); err != nil {
			return fmt.Errorf("drop outbox record: %w", err)
		}
	}
	db.outbox.change = ch
	return nil
}

// commitOutbox applies the committed transaction's change and wakes the
// forwarder when records were added.
func (db *DB) commitOutbox() {
	ch := db.outbox.change
	if db.opts.Outbox == nil {
		return
	}
	db.outbox.next = ch.next
	db.outbox.records.Add(ch.added - ch.removed)
	db.outbox.bytes.Add(ch.addedBytes - ch.removedBytes)
	db.outbox.dropped.Add(ch.dropped)
	if ch.dropped > 0 {
		db.log.Warn("outbox: records past its bounds dropped unsent", "samples", ch.dropped, "max_bytes", db.opts.Outbox.MaxBytes, "max_age", db.opts.Outbox.MaxAge)
	}
	if ch.added > 0 {
		select {
		case db.outbox.ready <- struct{}{}:
		default:
		}
	}
}

func outboxWrittenBefore(v []byte, t time.Time) bool {
	written, n := binary.Varint(v)
	return n > 0 && written < t.UnixMilli()
}

// OutboxNotify returns a channel that receives after each flush that adds
// records to the outbox (and once at Open when it holds any); nil without
// Options.Outbox.
func (db *DB) OutboxNotify() <-chan struct{} { return db.outbox.ready }

// Outbox returns, in order, the records after seq (0: from the oldest),
// as many as fit in maxBytes of data (at least one). The records' data
// is the caller's.
func (db *DB) Outbox(after uint64, maxBytes int) ([]OutboxRecord, error) {
	if db.opts.Outbox == nil {
		return nil, ErrOutboxOff
	}
	var out []OutboxRecord
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		size := 0
		for k, v := c.Seek(outboxKey(after + 1)); k != nil && (len(out) == 0 || size+len(v) <= maxBytes); k, v = c.Next() {
			r, err := parseOutboxValue(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			r.Data = append([]byte(nil), r.Data...)
			size += len(r.Data)
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// DeleteOutbox deletes the records up to and including seq, once
// delivered.
func (db *DB) DeleteOutbox(through uint64) error {
	if db.opts.Outbox == nil {
		return ErrOutboxOff
	}
	var n, size int64
	err := db.update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= through; k, v = c.First() {
			n++
			size += int64(len(v))
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete outbox records through %d: %w", through, err)
	}
	db.outbox.records.Add(-n)
	db.outbox.bytes.Add(-size)
	return nil
}

// OutboxStats returns the outbox's size and what its bounds dropped.
func (db *DB) OutboxStats() OutboxStats {
	return OutboxStats{Records: db.outbox.records.Load(), Bytes: db.outbox.bytes.Load(), DroppedSamples: db.outbox.dropped.Load()}
}
