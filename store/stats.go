package store

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
)

// refuseReasons name the errors Append counts, in Stats.Refused.
var refuseReasons = []struct {
	err  error
	name string
}{
	{ErrOutOfOrder, "out_of_order"},
	{ErrDuplicateSample, "duplicate"},
	{ErrTooFarInFuture, "too_far_in_future"},
	{ErrTooOld, "too_old"},
	{ErrNonFinite, "non_finite"},
	{ErrInvalidLabels, "invalid_labels"},
	{ErrLabelTooLong, "label_too_long"},
	{ErrTooManyLabels, "too_many_labels"},
	{ErrSeriesLimit, "series_limit"},
	{ErrDiskFull, "disk_full"},
	{ErrClosed, "closed"},
}

// counters are the DB's running totals, updated without locks.
type counters struct {
	appended    atomic.Uint64
	headSamples atomic.Int64
	refusedBy   [16]atomic.Uint64
	flushes     atomic.Uint64
	flushErrors atomic.Uint64
	lastFlush   atomic.Int64 // unix nanoseconds
	flushStart  atomic.Int64 // unix nanoseconds when the last committed flush began
	lastFlushNs atomic.Int64 // duration
	pruned      atomic.Uint64
	walBytes    atomic.Int64
	encodedOut  atomic.Uint64 // blocks EncodeBlocks wrote
	encodedIn   atomic.Uint64 // warm payloads they replaced
}

func (c *counters) encoded(r EncodeResult) {
	c.encodedOut.Add(uint64(r.Blocks))  // #nosec G115 -- a count
	c.encodedIn.Add(uint64(r.Replaced)) // #nosec G115 -- a count
}

func (c *counters) refused(err error) { c.refusedN(err, 1) }

// refusedN counts n samples refused with err.
func (c *counters) refusedN(err error, n uint64) {
	for i, r := range refuseReasons {
		if errors.Is(err, r.err) {
			c.refusedBy[i].Add(n)
			return
		}
	}
}

func (c *counters) flushed(start time.Time) {
	c.flushes.Add(1)
	c.flushStart.Store(start.UnixNano())
	c.lastFlush.Store(time.Now().UnixNano())
	c.lastFlushNs.Store(int64(time.Since(start)))
}

// Stats are the DB's running figures, cheap to read.
type Stats struct {
	Series      int               `json:"series"`
	HeadSamples int64             `json:"head_samples"`
	FileBytes   int64             `json:"file_bytes"`
	WALBytes    int64             `json:"wal_bytes"`
	Appended    uint64            `json:"appended"`
	Refused     map[string]uint64 `json:"refused"`
	Flushes     uint64            `json:"flushes"`
	FlushErrors uint64            `json:"flush_errors"`
	LastFlush   time.Time         `json:"last_flush,omitzero"`
	// LastFlushStart is when the last committed flush began: every sample
	// appended before it is on disk.
	LastFlushStart    time.Time     `json:"last_flush_start,omitzero"`
	LastFlushDuration time.Duration `json:"last_flush_duration_ns"`
	PrunedBlocks      uint64        `json:"pruned_blocks"`
	// EncodedBlocks are the blocks EncodeBlocks has written since Open,
	// EncodedPayloads the warm chunks and rollup blocks they replaced.
	EncodedBlocks   uint64 `json:"encoded_blocks"`
	EncodedPayloads uint64 `json:"encoded_payloads"`
	// DiskFull is set while the data volume is full (see DB.Writable), since DiskFullSince.
	DiskFull      bool      `json:"disk_full"`
	DiskFullSince time.Time `json:"disk_full_since,omitzero"`
	// DiskFullRecovered is when the last full period ended, by a flush that
	// committed, and DiskFullDuration how long it lasted.
	DiskFullRecovered time.Time     `json:"disk_full_recovered,omitzero"`
	DiskFullDuration  time.Duration `json:"disk_full_duration_ns"`
	// ReservedSeries are set aside by ReserveSeries and not created yet;
	// with Series they count against Options.MaxSeries.
	ReservedSeries int `json:"reserved_series"`
}

// Stats returns the running figures.
func (db *DB) Stats() Stats {
	s := Stats{
		Series:            int(db.idx.count.Load()),
		ReservedSeries:    db.idx.res.count(),
		HeadSamples:       db.stats.headSamples.Load(),
		WALBytes:          db.stats.walBytes.Load(),
		Appended:          db.stats.appended.Load(),
		Refused:           map[string]uint64{},
		Flushes:           db.stats.flushes.Load(),
		FlushErrors:       db.stats.flushErrors.Load(),
		LastFlushDuration: time.Duration(db.stats.lastFlushNs.Load()),
		PrunedBlocks:      db.stats.pruned.Load(),
		EncodedBlocks:     db.stats.encodedOut.Load(),
		EncodedPayloads:   db.stats.encodedIn.Load(),
	}
	if ns := db.stats.lastFlush.Load(); ns > 0 {
		s.LastFlush = time.Unix(0, ns)
	}
	if ns := db.stats.flushStart.Load(); ns > 0 {
		s.LastFlushStart = time.Unix(0, ns)
	}
	db.full.stats(&s)
	for i, r := range refuseReasons {
		s.Refused[r.name] = db.stats.refusedBy[i].Load()
	}
	if fi, err := os.Stat(db.path); err == nil {
		s.FileBytes = fi.Size()
	}
	return s
}
