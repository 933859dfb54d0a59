package store

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
)

// Tier is a resolution the store keeps data at.
type Tier uint8

// The tiers, finest first.
const (
	TierRaw Tier = iota
	TierMinute
	TierHour
)

// String returns the tier's name as `atroz db stats` prints it.
func (t Tier) String() string {
	switch t {
	case TierMinute:
		return "1m"
	case TierHour:
		return "1h"
	}
	return "raw"
}

// Resolution returns the spacing of the tier's points; 0 for raw.
func (t Tier) Resolution() time.Duration {
	switch t {
	case TierMinute:
		return time.Minute
	case TierHour:
		return time.Hour
	}
	return 0
}

// Query is a range read: the series every matcher accepts, between MinT and
// MaxT inclusive (unix milliseconds).
type Query struct {
	MinT, MaxT int64
	Matchers   []*labels.Matcher
	// Resolution is the coarsest spacing of points the caller can use (a
	// chart's step). The read uses the coarsest tier that fits it: raw under
	// a minute, the 1-minute tier under an hour, then the 1-hour tier. A range
	// reaching past a tier's retention moves to the next tier that covers it.
	Resolution time.Duration
	// Aggregate picks the rollup value a rollup tier returns as Samples.
	Aggregate Aggregate
}

// Series is one series of a read. Points holds the rollup points when a
// rollup tier served the read; Samples holds raw samples, or the chosen
// aggregate of each point.
type Series struct {
	Labels  Labels
	Tier    Tier
	Samples []Sample
	Points  []Point
}

// Select reads the series q selects, sorted by labels, merging flushed data
// with the heads. A sample appended before Select is called is in the result.
func (db *DB) Select(q Query) ([]Series, error) {
	return db.SelectTier(q, db.TierFor(q))
}

// TierFor returns the tier Select reads for q.
func (db *DB) TierFor(q Query) Tier {
	tier := TierRaw
	switch {
	case q.Resolution >= time.Hour:
		tier = TierHour
	case q.Resolution >= time.Minute:
		tier = TierMinute
	}
	now := db.opts.Now().UnixMilli()
	if tier == TierRaw && q.MinT < now-db.opts.RawRetention.Milliseconds() {
		tier = TierMinute
	}
	if tier == TierMinute && q.MinT < now-db.opts.MinuteRetention.Milliseconds() {
		tier = TierHour
	}
	return tier
}

// SelectTier is Select reading the given tier.
func (db *DB) SelectTier(q Query, tier Tier) ([]Series, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if q.MinT > q.MaxT {
		return nil, fmt.Errorf("select: start %d is after end %d", q.MinT, q.MaxT)
	}
	db.appendMu.RLock() // a batch (AppendAll) is seen whole or not at all
	matched := db.idx.match(q.Matchers)
	snaps := make([]headSnapshot, len(matched))
	for i, s := range matched {
		snaps[i] = s.snapshot()
	}
	db.appendMu.RUnlock()
	out := make([]Series, 0, len(matched))
	err := db.view(func(tx *bolt.Tx) error {
		for i, s := range matched {
			sr, err := readSeries(tx, s.id, snaps[i], q, tier)
			if err != nil {
				return fmt.Errorf("select %s: %w", s.lset, err)
			}
			if len(sr.Samples) > 0 || len(sr.Points) > 0 {
				sr.Labels = s.lset
				out = append(out, sr)
			}
		}
		return nil
	})
	return out, err
}

func readSeries(tx *bolt.Tx, id uint64, hs headSnapshot, q Query, tier Tier) (Series, error) {
	sr := Series{Tier: tier}
	var err error
	if tier == TierRaw {
		sr.Samples, err = readRaw(tx, id, hs, q.MinT, q.MaxT)
		return sr, err
	}
	if sr.Points, err = readRollup(tx, id, hs, tier, q.MinT, q.MaxT); err != nil {
		return sr, err
	}
	sr.Samples = make([]Sample, len(sr.Points))
	for i, p := range sr.Points {
		sr.Samples[i] = Sample{p.T, p.Get(q.Aggregate)}
	}
	return sr, nil
}

// readRaw merges the flushed chunks up to the snapshot's persistedMaxT with
// the snapshot's memory, so a flush running meanwhile neither hides nor
// doubles a sample.
func readRaw(tx *bolt.Tx, id uint64, hs headSnapshot, mint, maxt int64) ([]Sample, error) {
	var out []Sample
	err := blocksInRange(tx.Bucket(bChunks).Cursor(), id, mint, min(maxt, hs.persistedMaxT), func(_, _ int64, payload []byte) error {
		var err error
		out, err = rawSamples(out, payload, mint, min(maxt, hs.persistedMaxT))
		return err
	})
	if err != nil {
		return nil, err
	}
	return hs.samples(out, hs.persistedMaxT, mint, maxt)
}

// blocksInRange calls fn with the first and last time and the payload of
// each of the series' blocks that may hold samples in [mint, maxt], in time
// order, from the bucket of cursor c. The payload is bbolt's memory, valid
// only while the transaction is open.
func blocksInRange(c *bolt.Cursor, id uint64, mint, maxt int64, fn func(start, end int64, payload []byte) error) error {
	if mint > maxt {
		return nil
	}
	var first [chunkKeyLen]byte
	putChunkKey(first[:], id, mint)
	k, _ := c.Seek(first[:])
	// The block starting before mint may still reach into the range.
	k, v := before(c, k)
	if k == nil || !ownedBy(k, id) {
		k, v = c.Seek(first[:])
	}
	for ; k != nil; k, v = c.Next() {
		kid, start, err := parseChunkKey(k)
		if err != nil {
			return err
		}
		if kid != id || start > maxt {
			return nil
		}
		end, payload, err := parseBlockValue(start, v)
		if err != nil {
			return err
		}
		if end >= mint {
			if err := fn(start, end, payload); err != nil {
				return err
			}
		}
	}
	return nil
}

// readRollup returns the tier's points in [mint, maxt]: written blocks, then
// the series' rollup state with the memory's raw samples folded in.
func readRollup(tx *bolt.Tx, id uint64, hs headSnapshot, tier Tier, mint, maxt int64) ([]Point, error) {
	bucket, res := bRollup1m, minuteMs
	if tier == TierHour {
		bucket, res = bRollup1h, hourMs
	}
	var pts []Point
	err := blocksInRange(tx.Bucket(bucket).Cursor(), id, mint, maxt, func(_, _ int64, payload []byte) error {
		var err error
		pts, err = rollupPoints(pts, payload)
		return err
	})
	if err != nil {
		return nil, err
	}
	st, err := loadRollupState(tx.Bucket(bRollupHead), seriesKey(id))
	if err != nil {
		return nil, err
	}
	var full blockWriter
	raw, err := hs.samples(nil, st.rawMaxT, minInt64, maxInt64)
	if err != nil {
		return nil, err
	}
	for _, s := range raw {
		st.addRaw(s, full.sink())
	}
	for _, blk := range full.blocksOf(tier) {
		pts = append(pts, blk...)
	}
	return inRange(append(pts, st.points(res)...), mint, maxt), nil
}

func (w *blockWriter) blocksOf(t Tier) [][]Point {
	if t == TierHour {
		return w.hour
	}
	return w.minute
}

func inRange(pts []Point, mint, maxt int64) []Point {
	out := pts[:0]
	for _, p := range pts {
		if p.T >= mint && p.T <= maxt {
			out = append(out, p)
		}
	}
	return out
}

func ownedBy(k []byte, id uint64) bool {
	kid, _, err := parseChunkKey(k)
	return err == nil && kid == id
}

// before moves c to the key before k, where k is what c's last Seek returned
// (nil when it ran off the end).
func before(c *bolt.Cursor, k []byte) ([]byte, []byte) {
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// Series returns the labels of the series the matchers select, sorted.
func (db *DB) Series(ms ...*labels.Matcher) []Labels {
	matched := db.idx.match(ms)
	out := make([]Labels, len(matched))
	for i, s := range matched {
		out[i] = s.lset
	}
	return out
}

// LabelNames returns the sorted label names of the series the matchers
// select, or of every series without matchers.
func (db *DB) LabelNames(ms ...*labels.Matcher) []string {
	if len(ms) == 0 {
		return sorted(db.idx.labelNames("", false))
	}
	seen := map[string]struct{}{}
	for _, s := range db.idx.matchAny(ms) {
		for _, l := range s.lset {
			seen[l.Name] = struct{}{}
		}
	}
	return sortedKeys(seen)
}

// LabelValues returns the sorted values label name takes among the series
// the matchers select.
func (db *DB) LabelValues(name string, ms ...*labels.Matcher) []string {
	if len(ms) == 0 {
		return sorted(db.idx.labelNames(name, true))
	}
	seen := map[string]struct{}{}
	for _, s := range db.idx.matchAny(ms) {
		if v := s.lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen)
}

// sorted sorts s and returns it.
func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func sortedKeys(m map[string]struct{}) []string {
	return sorted(slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m)))
}
