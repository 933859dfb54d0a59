package store

import (
	"fmt"
	"sync"
)

// reservations are series set aside under the series limit before any
// sample of theirs is appended: room that other new series cannot take.
// The zero value is empty and ready.
type reservations struct {
	mu sync.Mutex
	m  map[uint64][]Labels
	n  int
}

// take removes ls's reservation and reports whether there was one.
func (r *reservations) take(ls Labels, h uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.m[h]
	for i, o := range list {
		if o.Equal(ls) {
			r.m[h] = append(list[:i], list[i+1:]...)
			if len(r.m[h]) == 0 {
				delete(r.m, h)
			}
			r.n--
			return true
		}
	}
	return false
}

// add reserves ls unless it is reserved already, and reports whether it was new.
func (r *reservations) add(ls Labels, h uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if findLabels(r.m[h], ls) {
		return false
	}
	if r.m == nil {
		r.m = map[uint64][]Labels{}
	}
	r.m[h] = append(r.m[h], ls)
	r.n++
	return true
}

// has reports whether ls is reserved.
func (r *reservations) has(ls Labels, h uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return findLabels(r.m[h], ls)
}

// count returns the number of reserved series.
func (r *reservations) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func findLabels(list []Labels, ls Labels) bool {
	for _, o := range list {
		if o.Equal(ls) {
			return true
		}
	}
	return false
}

// known reports whether ls is a series or reserved.
func (ix *index) known(ls Labels, h uint64) bool {
	return ix.get(ls, h) != nil || ix.res.has(ls, h)
}

// reserve sets aside a slot under limit for each of lsets (normalized,
// distinct) that is neither a series nor reserved: for all of them, or,
// when they would pass limit, for none. It returns how many it reserved.
func (ix *index) reserve(lsets []Labels, limit int) (int, error) {
	var fresh []Labels
	var hashes []uint64
	for _, ls := range lsets {
		if h := ls.hash(); !ix.known(ls, h) {
			fresh, hashes = append(fresh, ls), append(hashes, h)
		}
	}
	n := int64(len(fresh))
	if n == 0 {
		return 0, nil
	}
	if used := ix.used.Add(n); used > int64(limit) {
		ix.used.Add(-n)
		return 0, &SeriesLimitError{New: len(fresh), Used: int(used - n), Limit: limit}
	}
	reserved := 0
	for i, ls := range fresh {
		if ix.reserveOne(ls, hashes[i]) {
			reserved++
		} else {
			ix.used.Add(-1) // created or reserved meanwhile: its slot is counted already
		}
	}
	return reserved, nil
}

// reserveOne reserves ls under its shard's lock, so no append creates the
// series between the look and the reservation.
func (ix *index) reserveOne(ls Labels, h uint64) bool {
	sh := &ix.shards[h%indexShards]
	sh.Lock()
	defer sh.Unlock()
	if findSeries(sh.m[h], ls) != nil {
		return false
	}
	return ix.res.add(ls, h)
}

// SeriesLimitError is the error, wrapping ErrSeriesLimit, of a reservation
// or a batch whose new series do not fit under Options.MaxSeries.
type SeriesLimitError struct {
	New   int // new series asked for
	Used  int // series and reserved series when asked
	Limit int // Options.MaxSeries
}

func (e *SeriesLimitError) Error() string {
	return fmt.Sprintf("%v: %d new series, room for %d (%d of the limit of %d taken)", ErrSeriesLimit, e.New, max(e.Limit-e.Used, 0), e.Used, e.Limit)
}

// Unwrap returns ErrSeriesLimit.
func (e *SeriesLimitError) Unwrap() error { return ErrSeriesLimit }

// ReserveSeries sets aside room under Options.MaxSeries for the series
// lsets that do not exist yet, so the appends that create them later
// succeed while other new series are refused first. It is for data
// acknowledged now and appended later, such as the metric objects a
// collector creates for a beacon and appends at its next scrape. It
// reserves room for all of them or, returning a *SeriesLimitError, for
// none; labels the store would refuse return their error. A reservation
// lasts until an append creates its series. Labels need not be sorted.
func (db *DB) ReserveSeries(lsets []Labels) error {
	if db.closed.Load() {
		return ErrClosed
	}
	norm := make([]Labels, 0, len(lsets))
	seen := map[uint64][]Labels{}
	for _, ls := range lsets {
		ls = ls.normalize()
		if err := ls.validate(&db.opts); err != nil {
			return fmt.Errorf("reserve %s: %w", ls, err)
		}
		if h := ls.hash(); !findLabels(seen[h], ls) {
			seen[h] = append(seen[h], ls)
			norm = append(norm, ls)
		}
	}
	_, err := db.idx.reserve(norm, db.opts.MaxSeries)
	return err
}
