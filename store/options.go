package store

import (
	"fmt"
	"time"
)

// Default values for Options fields left zero.
const (
	DefaultFlushInterval       = time.Second
	DefaultLockTimeout         = 2 * time.Second
	DefaultRawRetention        = 15 * 24 * time.Hour
	DefaultMinuteRetention     = 90 * 24 * time.Hour
	DefaultHourRetention       = 400 * 24 * time.Hour
	DefaultPruneInterval       = 10 * time.Minute
	DefaultEncodeInterval      = time.Minute
	DefaultMaxSeries           = 100_000
	DefaultMaxLabels           = 32
	DefaultMaxLabelNameLength  = 256
	DefaultMaxLabelValueLength = 1024
	DefaultMaxLabelBytes       = 2048
	DefaultMaxFutureSkew       = 10 * time.Minute
	DefaultMaxChunkAge         = time.Hour
	DefaultPruneBatch          = 2000
	DefaultCheckpointBytes     = 16 << 20
)

// Options configure a DB. A nil *Options, or any zero field, means the documented default.
type Options struct {
	// OnFlush, when set, is given the samples of each flush once they are
	// committed, so they are never forwarded before they are durable (a
	// remote-write queue). It runs under the flush lock and must not block;
	// the slices are its to keep.
	OnFlush func([]SeriesSamples)

	// Outbox, when set, keeps each flush's samples for forwarding in the
	// file, written in the flush's transaction (see OutboxOptions).
	Outbox *OutboxOptions

	// FlushInterval is how often the background flusher commits appended samples.
	// A crash loses at most this much data. Default 1s; negative disables the flusher
	// (callers then call Flush themselves).
	FlushInterval time.Duration

	// LockTimeout is how long Open waits for the file lock held by another process
	// before it fails. Default 2s.
	LockTimeout time.Duration

	// RawRetention, MinuteRetention and HourRetention say how long each tier keeps
	// data. Defaults 15 days, 90 days and 400 days. RetentionCap, when set, caps all three.
	RawRetention    time.Duration
	MinuteRetention time.Duration
	HourRetention   time.Duration
	RetentionCap    time.Duration

	// PruneInterval is how often the background pruner deletes expired chunks.
	// Default 10m; negative disables it (callers may call Prune).
	PruneInterval time.Duration

	// EncodeInterval is how often the background encoder re-encodes closed
	// chunks and rollup blocks into blocks (EncodeBlocks). Default 1m;
	// negative disables it (callers may call EncodeBlocks).
	EncodeInterval time.Duration

	// PruneBatch bounds the deletions made in one pruning transaction, so flushes
	// are never held back for long. Default 2000.
	PruneBatch int

	// MaxSeries caps the number of series; appends that would create more fail
	// with ErrSeriesLimit. Default 100,000.
	MaxSeries int

	// MaxLabels, MaxLabelNameLength and MaxLabelValueLength bound a series' labels.
	// Defaults 32 labels, 256 and 1024 bytes.
	MaxLabels           int
	MaxLabelNameLength  int
	MaxLabelValueLength int

	// MaxLabelBytes bounds the bytes of a series' label names and values
	// together; more fail with ErrLabelTooLong. With MaxLabels it bounds
	// the memory of a series' labels: at the defaults a series' index
	// entries, posting lists and a query's Prometheus form of its labels
	// take at most about 20 KiB of heap, so the default MaxSeries,
	// 100,000, fits in 2 GiB besides the samples in memory, where 32
	// labels of 2048-byte values took 160 KiB a series. Default 2048.
	MaxLabelBytes int

	// MaxFutureSkew is how far ahead of the clock a timestamp may be. Default 10m.
	MaxFutureSkew time.Duration

	// MaxChunkAge closes a series' open chunk whose first sample is older than this
	// at a flush, so slow or idle series do not pin the write-ahead log. Default 1h.
	MaxChunkAge time.Duration

	// CheckpointBytes bounds the WAL size past which flushes checkpoint:
	// each writes the open chunks of a part of the series, compressed, and
	// deletes the WAL records no other series needs. Flushes checkpoint
	// while the WAL is larger than about the open chunks (at least 1 MiB),
	// or this, whichever is smaller. Larger means fewer rewrites of open
	// chunks, smaller a smaller file and a faster Open. Default 16 MiB.
	CheckpointBytes int64

	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of o with zero fields set to their defaults.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	setDur(&r.FlushInterval, DefaultFlushInterval)
	r.Outbox = r.Outbox.withDefaults()
	setDur(&r.LockTimeout, DefaultLockTimeout)
	setDur(&r.RawRetention, DefaultRawRetention)
	setDur(&r.MinuteRetention, DefaultMinuteRetention)
	setDur(&r.HourRetention, DefaultHourRetention)
	setDur(&r.PruneInterval, DefaultPruneInterval)
	setDur(&r.EncodeInterval, DefaultEncodeInterval)
	setDur(&r.MaxFutureSkew, DefaultMaxFutureSkew)
	setDur(&r.MaxChunkAge, DefaultMaxChunkAge)
	setInt(&r.PruneBatch, DefaultPruneBatch)
	if r.CheckpointBytes == 0 {
		r.CheckpointBytes = DefaultCheckpointBytes
	}
	setInt(&r.MaxSeries, DefaultMaxSeries)
	setInt(&r.MaxLabels, DefaultMaxLabels)
	setInt(&r.MaxLabelNameLength, DefaultMaxLabelNameLength)
	setInt(&r.MaxLabelValueLength, DefaultMaxLabelValueLength)
	setInt(&r.MaxLabelBytes, DefaultMaxLabelBytes)
	if r.RetentionCap > 0 {
		r.RawRetention = min(r.RawRetention, r.RetentionCap)
		r.MinuteRetention = min(r.MinuteRetention, r.RetentionCap)
		r.HourRetention = min(r.HourRetention, r.RetentionCap)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Validate reports the first option that is out of range.
func (o *Options) Validate() error {
	if o == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"LockTimeout", o.LockTimeout < 0},
		{"RawRetention", o.RawRetention < 0},
		{"MinuteRetention", o.MinuteRetention < 0},
		{"HourRetention", o.HourRetention < 0},
		{"RetentionCap", o.RetentionCap < 0},
		{"PruneBatch", o.PruneBatch < 0},
		{"MaxSeries", o.MaxSeries < 0},
		{"MaxLabels", o.MaxLabels < 0},
		{"MaxLabelNameLength", o.MaxLabelNameLength < 0},
		{"MaxLabelValueLength", o.MaxLabelValueLength < 0},
		{"MaxLabelBytes", o.MaxLabelBytes < 0},
		{"MaxFutureSkew", o.MaxFutureSkew < 0},
		{"MaxChunkAge", o.MaxChunkAge < 0},
		{"CheckpointBytes", o.CheckpointBytes < 0},
	} {
		if c.bad {
			return fmt.Errorf("store options: %s must not be negative", c.name)
		}
	}
	if o.Outbox != nil && o.Outbox.Encode == nil {
		return fmt.Errorf("store options: Outbox.Encode must be set")
	}
	return nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func setInt(i *int, def int) {
	if *i == 0 {
		*i = def
	}
}
