package store

import (
	bolt "go.etcd.io/bbolt"
)

// TierStats describe one tier's data on disk: all of it, and each
// encoding's share.
type TierStats struct {
	Name string `json:"name"`
	EncodingStats
	// Warm is the data in the encoding it was written in (XOR chunks),
	// Cold what compaction has re-encoded into blocks.
	Warm EncodingStats `json:"warm"`
	Cold EncodingStats `json:"cold"`
}

// EncodingStats count blocks, samples and bytes.
type EncodingStats struct {
	Blocks  int   `json:"blocks"`
	Samples int64 `json:"samples"` // raw samples, or rollup points
	Bytes   int64 `json:"bytes"`   // keys and values, without bbolt's page overhead
}

// BytesPerSample returns Bytes / Samples.
func (e EncodingStats) BytesPerSample() float64 {
	if e.Samples == 0 {
		return 0
	}
	return float64(e.Bytes) / float64(e.Samples)
}

func (e *EncodingStats) add(bytes, samples int) {
	e.Blocks++
	e.Bytes += int64(bytes)
	e.Samples += int64(samples)
}

// DiskStats describe the file's contents.
type DiskStats struct {
	FileBytes  int64       `json:"file_bytes"`
	Series     int         `json:"series"`
	Tiers      []TierStats `json:"tiers"`
	WALRecords int         `json:"wal_records"`
	WALBytes   int64       `json:"wal_bytes"`
}

// FileBytesPerSample returns the file's size over its raw samples: what a
// sample costs on disk, rollups, series and free pages included.
func (ds DiskStats) FileBytesPerSample() float64 {
	for _, t := range ds.Tiers {
		if t.Name == TierRaw.String() && t.Samples > 0 {
			return float64(ds.FileBytes) / float64(t.Samples)
		}
	}
	return 0
}

// DiskStats walks the file and counts series, blocks, samples and bytes per tier.
// It reads every key, so it is for tools, not for hot paths.
func (db *DB) DiskStats() (DiskStats, error) {
	var ds DiskStats
	err := db.view(func(tx *bolt.Tx) error {
		ds.FileBytes = tx.Size()
		ds.Series = tx.Bucket(bSeries).Stats().KeyN
		for _, tb := range db.tierBuckets() {
			ds.Tiers = append(ds.Tiers, tierStats(tx.Bucket(tb.bucket), tb.tier))
		}
		return tx.Bucket(bWAL).ForEach(func(k, v []byte) error {
			if len(k) == 8 { // a record's first piece
				ds.WALRecords++
			}
			ds.WALBytes += int64(len(v))
			return nil
		})
	})
	return ds, err
}

func tierStats(b *bolt.Bucket, tier Tier) TierStats {
	ts := TierStats{Name: tier.String()}
	_ = b.ForEach(func(k, v []byte) error {
		n, cold := 0, false
		if _, start, err := parseChunkKey(k); err == nil {
			if _, payload, err := parseBlockValue(start, v); err == nil {
				n, cold, _ = payloadCount(tier, payload) // a corrupt one counts 0: Check reports it
			}
		}
		ts.add(len(k)+len(v), n)
		if cold {
			ts.Cold.add(len(k)+len(v), n)
		} else {
			ts.Warm.add(len(k)+len(v), n)
		}
		return nil
	})
	return ts
}
