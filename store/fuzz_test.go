package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// Every decoder of on-disk data must turn corrupt input into ErrCorrupt (or
// another error), never a panic, and must give back what its encoder wrote.

func FuzzWALRecord(f *testing.F) {
	var w walWriter
	w.add(1, []Sample{{1000, 1.5}, {2000, 2}, {2500, -3}})
	w.add(7, []Sample{{-5, 0}})
	w.add(9, []Sample{{10, 1}, {20, staleNaN}, {30, math.NaN()}})
	f.Add(w.record())
	v1 := appendWALEntryV1(binary.AppendUvarint(nil, 1), 3, []Sample{{1000, 1.5}, {2000, math.NaN()}})
	f.Add(binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, castagnoli)))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var entries []walEntry
		err := decodeWALRecord(rec, func(e walEntry) error {
			entries = append(entries, walEntry{e.id, append([]Sample(nil), e.samples...)})
			return nil
		})
		if err != nil {
			return
		}
		var w walWriter
		for _, e := range entries {
			w.add(e.id, e.samples)
		}
		i := 0
		err = decodeWALRecord(w.record(), func(e walEntry) error {
			if e.id != entries[i].id || !slices.EqualFunc(e.samples, entries[i].samples, sameSample) {
				t.Fatalf("entry %d does not survive a round trip", i)
			}
			i++
			return nil
		})
		if err != nil || i != len(entries) {
			t.Fatalf("re-encoded record: %v after %d of %d entries", err, i, len(entries))
		}
	})
}

// sameSample compares bit for bit, so NaN equals NaN and a staleness
// marker only a staleness marker.
func sameSample(a, b Sample) bool {
	return a.T == b.T && math.Float64bits(a.V) == math.Float64bits(b.V)
}

func FuzzLabels(f *testing.F) {
	f.Add(appendLabels(nil, lbl("up", "job", "a", "instance", "b")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := decodeLabels(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := decodeLabels(appendLabels(nil, ls))
		if err != nil || !again.Equal(ls) {
			t.Fatalf("labels %v do not survive a round trip: %v, %v", ls, again, err)
		}
	})
}

func FuzzOutboxValue(f *testing.F) {
	f.Add(appendOutboxValue(nil, OutboxRecord{Written: baseTime, Samples: 3, Newest: baseTime.UnixMilli(), Data: []byte("body")}))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := parseOutboxValue(7, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := parseOutboxValue(7, appendOutboxValue(nil, r))
		if err != nil || !again.Written.Equal(r.Written) || again.Samples != r.Samples || again.Newest != r.Newest || !bytes.Equal(again.Data, r.Data) {
			t.Fatalf("record %+v does not survive a round trip: %+v, %v", r, again, err)
		}
	})
}

func FuzzChunkKey(f *testing.F) {
	f.Add(chunkKey(42, -1000))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, k []byte) {
		id, start, err := parseChunkKey(k)
		if err != nil {
			return
		}
		if !bytes.Equal(chunkKey(id, start), k) {
			t.Fatalf("key %x parses to %d/%d, which encodes differently", k, id, start)
		}
	})
}

func FuzzChunk(f *testing.F) {
	f.Add(appendBlockValue(nil, 1000, 3000, encodeChunk([]Sample{{1000, 1}, {2000, 2}, {3000, 4}})))
	f.Add(appendBlockValue(nil, 1000, 3000, encodeChunk([]Sample{{1000, 1}, {2000, staleNaN}, {3000, math.NaN()}})))
	f.Add([]byte{0})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		_, payload, err := parseBlockValue(1000, v)
		if err != nil {
			return
		}
		samples, err := decodeChunk(nil, payload)
		if err != nil {
			return
		}
		for i := 1; i < len(samples); i++ {
			if samples[i].T <= samples[i-1].T {
				t.Fatalf("decoded samples out of order: %v", samples)
			}
		}
		if len(samples) == 0 {
			return
		}
		// What decodes, check accepts, and it survives a round trip bit for
		// bit, NaN and staleness markers included.
		if _, _, err := checkChunk(payload); err != nil {
			t.Fatalf("check refuses a chunk that decodes: %v", err)
		}
		again, err := decodeChunk(nil, encodeChunk(samples))
		if err != nil || !slices.EqualFunc(again, samples, sameSample) {
			t.Fatalf("samples do not survive a round trip: %v", err)
		}
	})
}

func FuzzRollup(f *testing.F) {
	st := newRollupState()
	for i := range 500 {
		st.addRaw(Sample{int64(i) * 7000, float64(i % 13)}, rollupSink{minute: func([]Point) {}, hour: func([]Point) {}})
	}
	f.Add(st.encode(), encodeBlock(nil, st.m.block))
	f.Add([]byte{1}, []byte{})
	f.Fuzz(func(t *testing.T, state, block []byte) {
		if _, err := decodeRollupState(state); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("state error %v is not ErrCorrupt", err)
		}
		if _, err := decodeBlock(nil, block); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("block error %v is not ErrCorrupt", err)
		}
	})
}

func FuzzMetaPage(f *testing.F) {
	f.Add(make([]byte, pageHeaderSize+metaSize))
	f.Fuzz(func(t *testing.T, page []byte) {
		if len(page) < pageHeaderSize+metaSize {
			return
		}
		_, _ = parseMeta(page)
	})
}

// FuzzAppendText feeds arbitrary text to the import path in strict mode:
// it must refuse or take the text whole, never panic, and a refused text
// must leave the store empty.
func FuzzAppendText(f *testing.F) {
	f.Add([]byte("# TYPE up gauge\nup{job=\"a\"} 1\n"))
	f.Add([]byte("# TYPE x counter\nx_total 1 1000\n# EOF\n"))
	f.Add([]byte("bad{ 1\n"))
	f.Add([]byte("m NaN\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		clk := &testClock{baseTime}
		db := openTest(t, filepath.Join(t.TempDir(), "f.db"), clk, nil)
		_, err := db.AppendText(text, ImportOptions{Strict: true})
		if err != nil && db.Stats().Series != 0 {
			t.Fatalf("refused text %q left %d series", text, db.Stats().Series)
		}
	})
}
