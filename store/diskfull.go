package store

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// diskFull is the DB's disk-full state. A flush that fails because the data
// volume is full sets it; the next flush that commits clears it. While it is
// set, appends of new samples are refused, so memory stays bounded, and
// what was accepted before waits in the heads for a flush that fits.
type diskFull struct {
	cur  atomic.Pointer[fullPeriod] // nil while the volume has room
	last atomic.Pointer[fullPeriod] // the last period that ended
}

// fullPeriod is one period of a full data volume.
type fullPeriod struct {
	since, until time.Time
	err          error // what Writable returns
}

// Writable returns nil when the DB accepts new samples, ErrClosed after
// Close, and, while the data volume is full, an error wrapping ErrDiskFull
// (and the system's error) that names the file. Reads keep working either
// way.
func (db *DB) Writable() error {
	if db.closed.Load() {
		return ErrClosed
	}
	if fp := db.full.cur.Load(); fp != nil {
		return fp.err
	}
	return nil
}

// flushFailed records a flush that failed with err, entering the disk-full
// state when the volume is full, and returns the error for Flush to return.
// It runs under flushMu.
func (db *DB) flushFailed(err error) error {
	db.stats.flushErrors.Add(1)
	if !isDiskFull(err) {
		return fmt.Errorf("flush: %w", err)
	}
	if fp := db.full.cur.Load(); fp != nil {
		return fp.err
	}
	fp := &fullPeriod{since: db.opts.Now(), err: fmt.Errorf("%w: flush to %s failed: %w; ingestion resumes once space is freed", ErrDiskFull, db.path, sysCause(err))}
	db.full.cur.Store(fp)
	db.log.Warn("data volume full: refusing new samples until a flush fits", "event_type", "store", "path", db.path, "error", err)
	return fp.err
}

// flushSucceeded leaves the disk-full state, if the DB was in it. It runs
// under flushMu.
func (db *DB) flushSucceeded() {
	fp := db.full.cur.Swap(nil)
	if fp == nil {
		return
	}
	ended := &fullPeriod{since: fp.since, until: db.opts.Now(), err: fp.err}
	db.full.last.Store(ended)
	db.log.Info("data volume has space again: accepting samples", "event_type", "store", "path", db.path, "full_for", ended.until.Sub(ended.since).String())
}

// stats fills the disk-full fields of s.
func (d *diskFull) stats(s *Stats) {
	if fp := d.cur.Load(); fp != nil {
		s.DiskFull, s.DiskFullSince = true, fp.since
	}
	if fp := d.last.Load(); fp != nil {
		s.DiskFullRecovered, s.DiskFullDuration = fp.until, fp.until.Sub(fp.since)
	}
}

// isDiskFull reports whether err says the volume is out of space or the
// user out of quota. bbolt formats some errors with %s (growing the file),
// so the system's message counts as well as the wrapped errno.
func isDiskFull(err error) bool {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return true
		}
	}
	return false
}

// sysCause returns the errno inside err, which reads better in a message
// than the path error around it, or err itself.
func sysCause(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}
