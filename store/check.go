package store

import (
	"errors"
	"fmt"

	"atroz/migrations"

	bolt "go.etcd.io/bbolt"
)

// maxProblems bounds how many problems Check reports.
const maxProblems = 100

// Check verifies the file: bbolt's page-level consistency, then the store's
// invariants: every record decodes, every block belongs to a known series,
// holds what its key and header say, and does not overlap its neighbours.
// It returns nil, or every problem found (up to 100) joined.
func (db *DB) Check() error {
	var p problems
	err := db.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			p.add(fmt.Errorf("bbolt: %w", err))
		}
		if v, err := migrations.Version(db.bolt); err == nil && v != migrations.Current {
			p.add(fmt.Errorf("schema version %d, want %d", v, migrations.Current))
		}
		ids := checkSeries(tx, &p)
		checkBlocks(tx, bChunks, ids, &p, checkRawPayload)
		checkBlocks(tx, bRollup1m, ids, &p, checkRollupBlock)
		checkBlocks(tx, bRollup1h, ids, &p, checkRollupBlock)
		checkRollupStates(tx, ids, &p)
		checkHeads(tx, ids, &p)
		checkWAL(tx, ids, &p)
		return nil
	})
	return errors.Join(append(p.errs, err)...)
}

type problems struct{ errs []error }

func (p *problems) add(err error) {
	if len(p.errs) < maxProblems {
		p.errs = append(p.errs, err)
	}
}

func checkSeries(tx *bolt.Tx, p *problems) map[uint64]bool {
	ids := map[uint64]bool{}
	seen := map[string]uint64{}
	_ = tx.Bucket(bSeries).ForEach(func(k, v []byte) error {
		id, err := parseSeriesKey(k)
		if err != nil {
			p.add(err)
			return nil
		}
		ls, err := decodeLabels(v)
		if err != nil {
			p.add(fmt.Errorf("series %d: %w", id, err))
			return nil
		}
		if other, dup := seen[ls.String()]; dup {
			p.add(fmt.Errorf("series %d and %d both have labels %s", other, id, ls))
		}
		seen[ls.String()], ids[id] = id, true
		return nil
	})
	return ids
}

// checkBlocks checks each block of bucket with fn, which returns the block's first and last times.
func checkBlocks(tx *bolt.Tx, bucket []byte, ids map[uint64]bool, p *problems, fn func(payload []byte) (int64, int64, error)) {
	prevID, prevMax := uint64(0), minInt64
	_ = tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		id, start, err := parseChunkKey(k)
		if err != nil {
			p.add(fmt.Errorf("%s: %w", bucket, err))
			return nil
		}
		where := fmt.Sprintf("%s block %d/%d", bucket, id, start)
		if !ids[id] {
			p.add(fmt.Errorf("%s: series %d does not exist", where, id))
		}
		maxT, payload, err := parseBlockValue(start, v)
		if err == nil {
			err = checkSpan(payload, start, maxT, fn)
		}
		if err != nil {
			p.add(fmt.Errorf("%s: %w", where, err))
		}
		if id == prevID && start <= prevMax {
			p.add(fmt.Errorf("%s: overlaps the previous block, which ends at %d", where, prevMax))
		}
		prevID, prevMax = id, maxT
		return nil
	})
}

func checkSpan(payload []byte, start, maxT int64, fn func([]byte) (int64, int64, error)) error {
	first, last, err := fn(payload)
	if err != nil {
		return err
	}
	if first != start || last != maxT {
		return fmt.Errorf("holds %d..%d, key and header say %d..%d", first, last, start, maxT)
	}
	return nil
}

func checkChunk(payload []byte) (int64, int64, error) {
	s, err := decodeChunk(nil, payload)
	if err != nil || len(s) == 0 {
		return 0, 0, errors.Join(err, fmt.Errorf("%w: empty chunk", ErrCorrupt))
	}
	return s[0].T, s[len(s)-1].T, nil
}

// checkRawPayload checks a raw-tier payload, chunk or block.
func checkRawPayload(payload []byte) (int64, int64, error) {
	if !isBlock(payload) {
		return checkChunk(payload)
	}
	s, err := rawSamples(nil, payload, minInt64, maxInt64)
	if err != nil || len(s) == 0 {
		return 0, 0, errors.Join(err, fmt.Errorf("%w: empty block", ErrCorrupt))
	}
	return s[0].T, s[len(s)-1].T, nil
}

func checkRollupBlock(payload []byte) (int64, int64, error) {
	pts, err := rollupPoints(nil, payload)
	if err != nil || len(pts) == 0 {
		return 0, 0, errors.Join(err, fmt.Errorf("%w: empty rollup block", ErrCorrupt))
	}
	return pts[0].T, pts[len(pts)-1].T, nil
}

func checkRollupStates(tx *bolt.Tx, ids map[uint64]bool, p *problems) {
	_ = tx.Bucket(bRollupHead).ForEach(func(k, v []byte) error {
		id, err := parseSeriesKey(k)
		if err == nil && !ids[id] {
			err = fmt.Errorf("series %d does not exist", id)
		}
		if err == nil {
			_, err = decodeRollupState(v)
		}
		if err != nil {
			p.add(fmt.Errorf("rollup state %x: %w", k, err))
		}
		return nil
	})
}

func checkWAL(tx *bolt.Tx, ids map[uint64]bool, p *problems) {
	err := eachWALRecord(tx.Bucket(bWAL), func(seq uint64, rec []byte) error {
		err := decodeWALRecord(rec, func(e walEntry) error {
			if !ids[e.id] {
				return fmt.Errorf("series %d does not exist", e.id)
			}
			return nil
		})
		if err != nil {
			p.add(fmt.Errorf("wal record %d: %w", seq, err))
		}
		return nil
	})
	if err != nil {
		p.add(err)
	}
}

func checkHeads(tx *bolt.Tx, ids map[uint64]bool, p *problems) {
	_ = tx.Bucket(bHeads).ForEach(func(k, v []byte) error {
		id, err := parseSeriesKey(k)
		if err == nil && !ids[id] {
			err = fmt.Errorf("series %d does not exist", id)
		}
		if err == nil {
			_, _, err = checkChunk(v)
		}
		if err != nil {
			p.add(fmt.Errorf("checkpointed head %x: %w", k, err))
		}
		return nil
	})
}
