package store

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// TierStats describe one tier's data on disk.
type TierStats struct {
	Name    string `json:"name"`
	Blocks  int    `json:"blocks"`
	Samples int64  `json:"samples"` // raw samples, or rollup points
	Bytes   int64  `json:"bytes"`   // keys and values, without bbolt's page overhead
}

// BytesPerSample returns Bytes / Samples.
func (t TierStats) BytesPerSample() float64 {
	if t.Samples == 0 {
		return 0
	}
	return float64(t.Bytes) / float64(t.Samples)
}

// DiskStats describe the file's contents.
type DiskStats struct {
	FileBytes  int64       `json:"file_bytes"`
	Series     int         `json:"series"`
	Tiers      []TierStats `json:"tiers"`
	WALRecords int         `json:"wal_records"`
	WALBytes   int64       `json:"wal_bytes"`
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
		return tx.Bucket(bWAL).ForEach(func(_, v []byte) error {
			ds.WALRecords++
			ds.WALBytes += int64(len(v))
			return nil
		})
	})
	return ds, err
}

func tierStats(b *bolt.Bucket, tier Tier) TierStats {
	ts := TierStats{Name: tier.String()}
	_ = b.ForEach(func(k, v []byte) error {
		ts.Blocks++
		ts.Bytes += int64(len(k) + len(v))
		_, start, err := parseChunkKey(k)
		if err != nil {
			return nil
		}
		_, payload, err := parseBlockValue(start, v)
		if err != nil {
			return nil
		}
		if tier == TierRaw {
			ts.Samples += int64(chunkSamples(payload))
		} else if n, k := binary.Uvarint(payload); k > 0 {
			ts.Samples += int64(min(n, pointsPerBlock)) // #nosec G115 -- bounded by min
		}
		return nil
	})
	return ts
}
