package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file begins with two meta pages. Each is a 16-byte page header,
// then: magic u32, version u32, pageSize u32, flags u32, root bucket (16
// bytes), freelist page u64, high-water page u64, txid u64, checksum u64
// (FNV-64a of the 56 bytes before it), all in the machine's byte order
// (little-endian on every platform AtroZ builds for).
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
)

// boltMeta is what precheck needs of a meta page.
type boltMeta struct {
	pageSize  uint32
	highWater uint64
	txid      uint64
}

// precheck refuses a non-empty file that bbolt would misread or crash on: one
// whose meta pages are both invalid, or which is shorter than its newest
// meta page says (a truncated file: bbolt maps it and reading a page past
// the end kills the process instead of returning an error).
func precheck(path string) error {
	f, err := os.Open(path) // #nosec G304 -- the data file path is the operator's setting
	if err != nil {
		return nil // absent: bbolt creates it; unreadable: bbolt reports it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	m, err := readMeta(f)
	if err != nil {
		return fmt.Errorf("open %s: %w: %v", path, ErrNotStore, err)
	}
	if need := m.size(); fi.Size() < need {
		return fmt.Errorf("open %s: %w: file is truncated (%d bytes, its pages reach %d)", path, ErrNotStore, fi.Size(), need)
	}
	return nil
}

// readMeta returns the newest valid meta page.
func readMeta(r io.ReaderAt) (boltMeta, error) {
	first := make([]byte, pageHeaderSize+metaSize)
	if _, err := r.ReadAt(first, 0); err != nil {
		return boltMeta{}, fmt.Errorf("not a bbolt file: %v", err)
	}
	m0, err0 := parseMeta(first)
	at := int64(m0.pageSize)
	if err0 != nil {
		at = 4096 // the first meta page is damaged: look where the default page size puts the second
	}
	second := make([]byte, pageHeaderSize+metaSize)
	if _, err := r.ReadAt(second, at); err == nil {
		if m1, err := parseMeta(second); err == nil && (err0 != nil || m1.txid > m0.txid) {
			return m1, nil
		}
	}
	return m0, err0
}

func parseMeta(page []byte) (boltMeta, error) {
	b := page[pageHeaderSize:]
	le := binary.LittleEndian
	if le.Uint32(b) != boltMagic {
		return boltMeta{}, fmt.Errorf("not a bbolt file (magic %#x)", le.Uint32(b))
	}
	if v := le.Uint32(b[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	_, _ = h.Write(b[:56])
	if h.Sum64() != le.Uint64(b[56:]) {
		return boltMeta{}, fmt.Errorf("meta page checksum mismatch")
	}
	m := boltMeta{pageSize: le.Uint32(b[8:]), highWater: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("implausible page size %d", m.pageSize)
	}
	if m.highWater < 2 || m.highWater > maxPages {
		return boltMeta{}, fmt.Errorf("implausible page count %d", m.highWater)
	}
	return m, nil
}

// maxPages bounds a plausible high-water mark: 2^40 pages is past any disk.
const maxPages = 1 << 40

// size returns the bytes the file's pages reach.
func (m boltMeta) size() int64 {
	return int64(m.highWater) * int64(m.pageSize) // #nosec G115 -- parseMeta bounds highWater by maxPages
}
