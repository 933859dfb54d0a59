package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportFormats(t *testing.T) {
	clk := &testClock{baseTime}
	now := baseTime.UnixMilli()
	sec := now / 1000
	f := func(name, text string, want ImportResult, wantT int64) {
		t.Helper()
		db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
		res, err := db.Import(strings.NewReader(text), ImportOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Samples != want.Samples || res.Series != want.Series || res.SkippedOld != want.SkippedOld || res.Rejected != want.Rejected {
			t.Fatalf("%s: result %+v, want %+v", name, res, want)
		}
		got := selectRaw(t, db, eq(MetricName, "http_requests_total"), eq("code", "200"))
		if len(got) != 1 || got[0].Samples[0].T != wantT || got[0].Samples[0].V != 1027 {
			t.Fatalf("%s: stored %+v, want t=%d v=1027", name, got, wantT)
		}
	}
	prom := fmt.Sprintf(`# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 %d
http_requests_total{method="post",code="400"} 3 %d
http_requests_total{method="post",code="400"} 2 %d
old_metric 1 1000
`, now-5000, now-5000, now-9000)
	// The third line is older than the second of its series: rejected. The
	// last is from 1970: skipped as older than retention.
	f("prometheus text (ms)", prom, ImportResult{Samples: 2, Series: 2, SkippedOld: 1, Rejected: 1}, now-5000)

	om := fmt.Sprintf(`# TYPE http_requests counter
http_requests_total{method="post",code="200"} 1027 %d.250
http_requests_total{method="post",code="400"} 3 %d
# EOF
`, sec-5, sec-5)
	f("openmetrics (s)", om, ImportResult{Samples: 2, Series: 2}, (sec-5)*1000+250)

	// No timestamps: the import time.
	f("no timestamps", "http_requests_total{code=\"200\"} 1027\n", ImportResult{Samples: 1, Series: 1}, now)
}

func TestImportSyntaxErrorChangesNothing(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	_, err := db.Import(strings.NewReader("good 1\nbad{ 2\n"), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "parse") {
		t.Fatalf("import of bad text: %v", err)
	}
	if n := db.Stats().Series; n != 0 {
		t.Fatalf("a failed import created %d series", n)
	}
}

func TestImportProgress(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	var b strings.Builder
	for i := range 250 {
		fmt.Fprintf(&b, "m{i=\"%d\"} 1\n", i)
	}
	calls := 0
	res, err := db.Import(strings.NewReader(b.String()), ImportOptions{ProgressEvery: 100, Progress: func(r ImportResult) { calls++ }})
	if err != nil || res.Samples != 250 || calls != 2 {
		t.Fatalf("import: %+v, %v, %d progress calls", res, err, calls)
	}
	if !errors.Is(db.Append(Labels{{"x", "y"}}, baseTime.UnixMilli(), 1), ErrInvalidLabels) {
		t.Fatal("store not usable after import")
	}
}

func TestAppendTextStrict(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	now := baseTime.UnixMilli()
	f := func(text string, want error) {
		t.Helper()
		_, err := db.AppendText([]byte(text), ImportOptions{Strict: true})
		if !errors.Is(err, want) {
			t.Fatalf("%q: %v, want %v", text, err, want)
		}
		if n := db.Stats().Series; n != 0 {
			t.Fatalf("%q: a refused text created %d series", text, n)
		}
	}
	f("ok 1\nbad NaN\n", ErrNonFinite)
	f("ok 1\nbad +Inf\n", ErrNonFinite)
	f(fmt.Sprintf("ok 1\nlate 1 %d\n", now+11*60_000), ErrTooFarInFuture)
	f(fmt.Sprintf("ok 1\nearly 1 %d\n", now-16*24*3600_000), ErrTooOld)
	f("ok 1\nlong{v=\""+strings.Repeat("x", 3000)+"\"} 1\n", ErrLabelTooLong)
	res, err := db.AppendText([]byte("ok 1\nalso_ok{a=\"b\"} 2\n"), ImportOptions{Strict: true, Time: now - 1000})
	if err != nil || res.Samples != 2 {
		t.Fatalf("valid strict text: %+v, %v", res, err)
	}
	got := selectRaw(t, db, eq(MetricName, "ok"))
	if len(got) != 1 || got[0].Samples[0].T != now-1000 {
		t.Fatalf("sample without timestamp stored at %+v, want %d", got, now-1000)
	}
}
