package store

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
)

// errFound stops a block walk at the first block in range.
var errFound = errors.New("found")

// SeriesBetween returns the labels of the series the matchers select that
// hold data between mint and maxt inclusive (unix ms), sorted: samples in
// memory, raw chunks, or 1-minute or 1-hour rollup blocks, so a range past
// the raw retention finds the series its rollups still answer for. A
// block counts when its span overlaps the range, as Prometheus counts a
// series of a block that overlaps it.
func (db *DB) SeriesBetween(mint, maxt int64, ms ...*labels.Matcher) ([]Labels, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if mint > maxt {
		return nil, fmt.Errorf("series: start %d is after end %d", mint, maxt)
	}
	matched := db.idx.match(ms)
	// Memory first, then the transaction: a flush drops a chunk from memory
	// only after bbolt committed it, so a transaction begun later holds it.
	inMem := make([]bool, len(matched))
	disk := false
	for i, s := range matched {
		inMem[i] = s.holdsBetween(mint, maxt)
		disk = disk || !inMem[i]
	}
	out := make([]Labels, 0, len(matched))
	if !disk {
		for _, s := range matched {
			out = append(out, s.lset)
		}
		return out, nil
	}
	err := db.view(func(tx *bolt.Tx) error {
		for i, s := range matched {
			ok := inMem[i]
			if !ok {
				var err error
				if ok, err = onDiskBetween(tx, s.id, mint, maxt); err != nil {
					return fmt.Errorf("series %s: %w", s.lset, err)
				}
			}
			if ok {
				out = append(out, s.lset)
			}
		}
		return nil
	})
	return out, err
}

// onDiskBetween reports whether series id has a raw chunk or rollup block
// spanning part of [mint, maxt], or a rollup point in it that its rollup
// state still holds (an interval not closed yet, or history imported
// past the raw retention that filled no block).
func onDiskBetween(tx *bolt.Tx, id uint64, mint, maxt int64) (bool, error) {
	for _, b := range []*bolt.Bucket{tx.Bucket(bChunks), tx.Bucket(bRollup1m), tx.Bucket(bRollup1h)} {
		if ok, err := hasBlockBetween(b, id, mint, maxt); ok || err != nil {
			return ok, err
		}
	}
	st, err := loadRollupState(tx.Bucket(bRollupHead), seriesKey(id))
	if err != nil {
		return false, err
	}
	for _, res := range []int64{minuteMs, hourMs} {
		if slices.ContainsFunc(st.points(res), func(p Point) bool { return p.T >= mint && p.T <= maxt }) {
			return true, nil
		}
	}
	return false, nil
}

// LabelNamesBetween returns the sorted label names of the series
// SeriesBetween finds.
func (db *DB) LabelNamesBetween(mint, maxt int64, ms ...*labels.Matcher) ([]string, error) {
	series, err := db.SeriesBetween(mint, maxt, ms...)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, ls := range series {
		for _, l := range ls {
			seen[l.Name] = struct{}{}
		}
	}
	return sortedKeys(seen), nil
}

// LabelValuesBetween returns the sorted values of label name among the
// series SeriesBetween finds.
func (db *DB) LabelValuesBetween(name string, mint, maxt int64, ms ...*labels.Matcher) ([]string, error) {
	series, err := db.SeriesBetween(mint, maxt, ms...)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, ls := range series {
		if v := ls.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen), nil
}

// holdsBetween reports whether the series' memory holds samples in
// [mint, maxt].
func (s *memSeries) holdsBetween(mint, maxt int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headN > 0 && s.headMinT <= maxt && s.lastT >= mint {
		return true
	}
	return slices.ContainsFunc(s.closed, func(c closedChunk) bool { return c.minT <= maxt && c.maxT >= mint })
}

// hasBlockBetween reports whether bucket b holds a block of series id
// spanning part of [mint, maxt].
func hasBlockBetween(b *bolt.Bucket, id uint64, mint, maxt int64) (bool, error) {
	err := blocksInRange(b.Cursor(), id, mint, maxt, func(int64, int64, []byte) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}
