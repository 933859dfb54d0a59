package store

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// textOutbox encodes a record as lines "labels t v", so tests read back
// exactly what a flush put in it.
func textOutbox(recordSamples int, maxBytes int64, maxAge time.Duration) *OutboxOptions {
	return &OutboxOptions{RecordSamples: recordSamples, MaxBytes: maxBytes, MaxAge: maxAge, Encode: func(batch []SeriesSamples) []byte {
		var b strings.Builder
		for _, s := range batch {
			for _, smp := range s.Samples {
				fmt.Fprintf(&b, "%s %d %g\n", s.Labels, smp.T, smp.V)
			}
		}
		return []byte(b.String())
	}}
}

func outboxLines(t *testing.T, db *DB) (lines []string, seqs []uint64) {
	t.Helper()
	recs, err := db.Outbox(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		got := strings.Split(strings.TrimSuffix(string(r.Data), "\n"), "\n")
		if len(got) != r.Samples {
			t.Errorf("record %d says %d samples, holds %d", r.Seq, r.Samples, len(got))
		}
		lines = append(lines, got...)
		seqs = append(seqs, r.Seq)
	}
	return lines, seqs
}

// TestOutboxKeepsFlushesInOrder: each flush's samples go into records of
// at most RecordSamples, in order; they survive a reopen, and
// DeleteOutbox removes what was delivered, nothing else.
func TestOutboxKeepsFlushesInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, func(o *Options) { o.Outbox = textOutbox(3, 0, 0) })
	a, b := lbl("m", "k", "a"), lbl("m", "k", "b")
	var want []string
	for i := range 4 {
		for _, ls := range []Labels{a, b} {
			ts := baseTime.Add(time.Duration(i) * time.Second).UnixMilli()
			if err := db.Append(ls, ts, float64(i)); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%s %d %d", ls, ts, i))
		}
		if i%2 == 1 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-db.OutboxNotify():
	default:
		t.Error("no notice after a flush added records")
	}
	// Two flushes of four samples each: records of 3 and 1, twice.
	got, seqs := outboxLines(t, db)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || !slices.Equal(seqs, []uint64{1, 2, 3, 4}) {
		t.Fatalf("outbox:\n%s\nseqs %v\nwant:\n%s", strings.Join(got, "\n"), seqs, strings.Join(want, "\n"))
	}
	if st := db.OutboxStats(); st.Records != 4 || st.Bytes <= 0 || st.DroppedSamples != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := db.DeleteOutbox(2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, func(o *Options) { o.Outbox = textOutbox(3, 0, 0) })
	select {
	case <-db.OutboxNotify():
	default:
		t.Error("no notice at open with records kept")
	}
	if _, seqs := outboxLines(t, db); !slices.Equal(seqs, []uint64{3, 4}) {
		t.Errorf("after delete and reopen: seqs %v, want [3 4]", seqs)
	}
	if st := db.OutboxStats(); st.Records != 2 {
		t.Errorf("stats after reopen %+v", st)
	}
	// Numbering goes on after the kept records.
	if err := db.Append(a, baseTime.Add(time.Minute).UnixMilli(), 9); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, seqs := outboxLines(t, db); !slices.Equal(seqs, []uint64{3, 4, 5}) {
		t.Errorf("after another flush: seqs %v", seqs)
	}
	if recs, _ := db.Outbox(3, 1); len(recs) != 1 || recs[0].Seq != 4 {
		t.Errorf("Outbox(3, 1 byte) = %+v, want the one record after 3", recs)
	}
}

// TestOutboxBounds: past MaxBytes a flush drops the oldest records, and
// records older than MaxAge go, each counted in DroppedSamples.
func TestOutboxBounds(t *testing.T) {
	clk := &testClock{baseTime}
	line := fmt.Sprintf("%s %d %g\n", lbl("m"), baseTime.UnixMilli(), 1.0)
	record := len(appendOutboxValue(nil, OutboxRecord{Written: baseTime, Samples: 1, Newest: baseTime.UnixMilli(), Data: []byte(line)}))
	// Room for three one-sample records.
	db := openTest(t, filepath.Join(t.TempDir(), "o.db"), clk, func(o *Options) {
		o.Outbox = textOutbox(10, int64(3*record), time.Hour)
	})
	for i := range 5 {
		clk.t = baseTime.Add(time.Duration(i) * time.Second)
		if err := db.Append(lbl("m"), clk.t.UnixMilli(), float64(i)); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	_, seqs := outboxLines(t, db)
	if !slices.Equal(seqs, []uint64{3, 4, 5}) {
		t.Errorf("seqs past the size bound %v, want [3 4 5]", seqs)
	}
	if st := db.OutboxStats(); st.DroppedSamples != 2 || st.Records != 3 {
		t.Errorf("stats %+v, want 2 dropped, 3 records", st)
	}
	// An hour later the next flush drops every older record.
	clk.t = baseTime.Add(time.Hour + 10*time.Second)
	if err := db.Append(lbl("m"), clk.t.UnixMilli(), 9); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, seqs := outboxLines(t, db); !slices.Equal(seqs, []uint64{6}) {
		t.Errorf("seqs past the age bound %v, want [6]", seqs)
	}
	if st := db.OutboxStats(); st.DroppedSamples != 5 || st.Records != 1 {
		t.Errorf("stats %+v, want 5 dropped, 1 record", st)
	}
}

// TestOutboxOff: without Options.Outbox the calls say so.
func TestOutboxOff(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "o.db"), &testClock{baseTime}, nil)
	if _, err := db.Outbox(0, 1); err != ErrOutboxOff {
		t.Errorf("Outbox: %v", err)
	}
	if db.OutboxNotify() != nil {
		t.Error("a notice channel without an outbox")
	}
}
