package store

import (
	"encoding/binary"
	"fmt"
)

// chunkKeyLen is the length of a key in the chunks and rollup buckets:
// seriesID then the block's first timestamp, both 8-byte big-endian, so one
// series' blocks sort by time and a cursor Seek finds a time range.
const chunkKeyLen = 16

func chunkKey(id uint64, start int64) []byte {
	k := make([]byte, chunkKeyLen)
	putChunkKey(k, id, start)
	return k
}

func putChunkKey(k []byte, id uint64, start int64) {
	binary.BigEndian.PutUint64(k, id)
	binary.BigEndian.PutUint64(k[8:], timeKey(start))
}

func parseChunkKey(k []byte) (id uint64, start int64, err error) {
	if len(k) != chunkKeyLen {
		return 0, 0, fmt.Errorf("%w: chunk key of %d bytes, want %d", ErrCorrupt, len(k), chunkKeyLen)
	}
	return binary.BigEndian.Uint64(k), keyTime(binary.BigEndian.Uint64(k[8:])), nil
}

// timeKey is a unix-ms time as a key part that sorts like the time: the
// sign bit flipped, so negative times sort before positive ones.
func timeKey(ms int64) uint64 {
	return uint64(ms) ^ (1 << 63) // #nosec G115 -- a deliberate two's-complement reinterpretation
}

// keyTime undoes timeKey.
func keyTime(k uint64) int64 {
	return int64(k ^ (1 << 63)) // #nosec G115 -- undoes timeKey's reinterpretation
}

func seriesKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, id)
}

func parseSeriesKey(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: series key of %d bytes, want 8", ErrCorrupt, len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

// A block value (raw chunk or rollup block) starts with uvarint(maxT - minT),
// so reads skip blocks outside their range without decoding them.
func appendBlockValue(b []byte, minT, maxT int64, payload []byte) []byte {
	b = binary.AppendUvarint(b, uint64(maxT-minT)) // #nosec G115 -- a block's maxT is never below its minT
	return append(b, payload...)
}

func parseBlockValue(minT int64, v []byte) (maxT int64, payload []byte, err error) {
	span, n := binary.Uvarint(v)
	if n <= 0 || span > 1<<62 {
		return 0, nil, fmt.Errorf("%w: block header", ErrCorrupt)
	}
	return minT + int64(span), v[n:], nil
}
