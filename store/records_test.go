package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestRecordsAndAlertEvents(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "r.db")
	db := openTest(t, path, clk, func(o *Options) { o.RetentionCap = 24 * time.Hour })
	if err := db.PutRecord(RecordSilence, "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	_ = db.PutRecord(RecordSilence, "a", []byte("1"))
	_ = db.PutRecord(RecordAlertState, "a", []byte("other kind"))
	_ = db.DeleteRecord(RecordSilence, "missing")
	var got []string
	_ = db.Records(RecordSilence, func(k string, v []byte) bool { got = append(got, k+"="+string(v)); return true })
	if fmt.Sprint(got) != "[a=1 b=2]" {
		t.Fatalf("silences %v", got)
	}
	old, recent := baseTime.Add(-48*time.Hour), baseTime.Add(-time.Hour)
	_ = db.AppendAlertEvents(old, [][]byte{[]byte("old")})
	_ = db.AppendAlertEvents(recent, [][]byte{[]byte("first"), []byte("second")})
	_ = db.AppendAlertEvents(baseTime, [][]byte{[]byte("now")})
	events := func(from, to time.Time) (out []string) {
		_ = db.AlertEvents(from, to, func(t time.Time, e []byte) bool { out = append(out, string(e)); return true })
		return out
	}
	if got := fmt.Sprint(events(recent, recent)); got != "[first second]" {
		t.Fatalf("events at one instant: %s", got)
	}
	if _, err := db.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(events(time.Time{}, baseTime)); got != "[first second now]" {
		t.Fatalf("events after pruning past a 24 h retention: %s", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openTest(t, path, clk, nil)
	got = got[:0]
	_ = db2.Records(RecordSilence, func(k string, v []byte) bool { got = append(got, k); return false })
	if fmt.Sprint(got) != "[a]" {
		t.Fatalf("after reopen, stopping at the first: %v", got)
	}
}

// TestUserAndTokenRecords checks that users and tokens land in the users
// and tokens buckets every data file has had since schema 2, and that
// Record reads one back.
func TestUserAndTokenRecords(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), &testClock{baseTime}, nil)
	_ = db.PutRecord(RecordUser, "ana", []byte("u"))
	_ = db.PutRecord(RecordToken, "api", []byte("t"))
	err := db.view(func(tx *bolt.Tx) error {
		if got := string(tx.Bucket(bUsers).Get([]byte("ana"))); got != "u" {
			t.Errorf("users bucket holds %q", got)
		}
		if got := string(tx.Bucket(bTokens).Get([]byte("api"))); got != "t" {
			t.Errorf("tokens bucket holds %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Record(RecordToken, "api"); err != nil || string(v) != "t" {
		t.Errorf("Record(token api) = %q, %v", v, err)
	}
	if v, err := db.Record(RecordUser, "api"); err != nil || v != nil {
		t.Errorf("Record(user api) = %q, %v; want nil", v, err)
	}
}

// TestDeleteRecordsAndAlertEvents removes the records and events a
// predicate picks, adjacent ones included, and keeps the rest.
func TestDeleteRecordsAndAlertEvents(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), &testClock{baseTime}, nil)
	for _, k := range []string{"a", "b", "c", "d"} {
		if err := db.PutRecord(RecordAlertState, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	_ = db.PutRecord(RecordSilence, "b", []byte("vb"))
	n, err := db.DeleteRecords(RecordAlertState, func(k string, v []byte) bool { return k == "b" || string(v) == "vc" })
	if err != nil || n != 2 {
		t.Fatalf("DeleteRecords = %d, %v; want 2", n, err)
	}
	var got []string
	_ = db.Records(RecordAlertState, func(k string, _ []byte) bool { got = append(got, k); return true })
	_ = db.Records(RecordSilence, func(k string, _ []byte) bool { got = append(got, "silence "+k); return true })
	if fmt.Sprint(got) != "[a d silence b]" {
		t.Errorf("records left: %v", got)
	}
	_ = db.AppendAlertEvents(baseTime, [][]byte{[]byte("x1"), []byte("y"), []byte("x2"), []byte("x3")})
	n, err = db.DeleteAlertEvents(func(e []byte) bool { return e[0] == 'x' })
	if err != nil || n != 3 {
		t.Fatalf("DeleteAlertEvents = %d, %v; want 3", n, err)
	}
	got = got[:0]
	_ = db.AlertEvents(time.Time{}, baseTime, func(_ time.Time, e []byte) bool { got = append(got, string(e)); return true })
	if fmt.Sprint(got) != "[y]" {
		t.Errorf("events left: %v", got)
	}
}

// TestSLORecords checks that the dashboard's SLOs land in the slos bucket,
// which schema 6 adds.
func TestSLORecords(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), &testClock{baseTime}, nil)
	if err := db.PutRecord(RecordSLO, "checkout", []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	_ = db.view(func(tx *bolt.Tx) error {
		if got := string(tx.Bucket(bSLOs).Get([]byte("checkout"))); got != `{"version":1}` {
			t.Errorf("slos bucket holds %q", got)
		}
		return nil
	})
}

// TestRetryConflicts: a change is decided again while it conflicts, five
// times at most; any other outcome ends it at once.
func TestRetryConflicts(t *testing.T) {
	other := errors.New("disk full")
	for _, c := range []struct {
		name  string
		errs  []error
		tries int
		want  error
	}{
		{"written", []error{nil}, 1, nil},
		{"after two conflicts", []error{ErrRecordConflict, ErrRecordConflict, nil}, 3, nil},
		{"another error", []error{ErrRecordConflict, other}, 2, other},
		{"always conflicting", []error{ErrRecordConflict, ErrRecordConflict, ErrRecordConflict, ErrRecordConflict, ErrRecordConflict, nil}, 5, ErrRecordConflict},
	} {
		tries := 0
		err := RetryConflicts(func() error {
			tries++
			if err := c.errs[tries-1]; err != nil {
				return fmt.Errorf("put: %w", err)
			}
			return nil
		})
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) || tries != c.tries {
			t.Errorf("%s: %d tries, %v; want %d, %v", c.name, tries, err, c.tries, c.want)
		}
	}
}
