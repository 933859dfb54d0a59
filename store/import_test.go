package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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
		if res.Samples != want.Samples || res.Series != want.Series || res.Tiers != want.Tiers || res.Rejected != want.Rejected {
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
	// last is from 1970: older than every tier, skipped.
	f("prometheus text (ms)", prom, ImportResult{Samples: 2, Series: 2, Tiers: TierCounts{Raw: 2, TooOld: 1}, Rejected: 1}, now-5000)

	om := fmt.Sprintf(`# TYPE http_requests counter
http_requests_total{method="post",code="200"} 1027 %d.250
http_requests_total{method="post",code="400"} 3 %d
# EOF
`, sec-5, sec-5)
	f("openmetrics (s)", om, ImportResult{Samples: 2, Series: 2, Tiers: TierCounts{Raw: 2}}, (sec-5)*1000+250)

	// No timestamps: the import time.
	f("no timestamps", "http_requests_total{code=\"200\"} 1027\n", ImportResult{Samples: 1, Series: 1, Tiers: TierCounts{Raw: 1}}, now)
}

func TestImportSyntaxErrorChangesNothing(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	_, err := db.Import(strings.NewReader("good 1\nbad{ 2\n"), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "parse line 2") {
		t.Fatalf("import of bad text: %v", err)
	}
	if n := db.Stats().Series; n != 0 {
		t.Fatalf("a failed import created %d series", n)
	}
}

// storeDigest hashes every key and value of every bucket, and the figures
// the heads keep: two equal digests mean an unchanged store.
func storeDigest(t *testing.T, db *DB) string {
	t.Helper()
	h := sha256.New()
	err := db.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				fmt.Fprintf(h, "%s %x %x\n", name, k, v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	return fmt.Sprintf("%x series=%d head=%d", h.Sum(nil), st.Series, st.HeadSamples)
}

// A syntax error far into a text of many pieces changes nothing, though
// the check had taken every sample before it, in every tier.
func TestImportSyntaxErrorMidStreamChangesNothing(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	now := baseTime.UnixMilli()
	for i := range 600 {
		mustAppend(t, db, lbl("live", "i", "1"), now-600_000+int64(i)*1000, float64(i))
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	before := storeDigest(t, db)
	var b strings.Builder
	for i := range 120_000 { // about 5 MiB: three pieces
		fmt.Fprintf(&b, "backfill{route=\"/r/%d\"} %d %d\n", i%50, i, now-int64(200*24*3600_000)+int64(i/50)*60_000)
	}
	b.WriteString("backfill{route=\"/r/1\" 1\n")
	_, err := db.Import(strings.NewReader(b.String()), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "parse line 120001") {
		t.Fatalf("import: %v, want a parse error at line 120001", err)
	}
	if after := storeDigest(t, db); after != before {
		t.Fatalf("a failed import changed the store:\n%s\n%s", before, after)
	}
}

func TestImportProgress(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, nil)
	var b strings.Builder
	for i := range 250 {
		fmt.Fprintf(&b, "m{i=\"%d\"} 1\n", i)
	}
	var checked, stored int
	progress := func(r ImportResult) {
		if r.Samples == 0 {
			checked++
		} else {
			stored++
		}
	}
	res, err := db.Import(strings.NewReader(b.String()), ImportOptions{ProgressEvery: 100, Progress: progress})
	// Each series has one sample: all go to the heads, with no second pass.
	if err != nil || res.Samples != 250 || checked != 2 || stored != 0 {
		t.Fatalf("import: %+v, %v, %d progress calls checking, %d storing", res, err, checked, stored)
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

// Under Strict every kind of refused sample refuses the import, counted by
// reason, and leaves the store as it was.
func TestImportStrictRefusals(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "i.db"), clk, func(o *Options) { o.MaxSeries = 3 })
	now := baseTime.UnixMilli()
	mustAppend(t, db, lbl("held"), now-3000, 4)
	mustAppend(t, db, lbl("held"), now-1000, 5)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	before := storeDigest(t, db)
	day := int64(24 * 3600_000)
	f := func(text, reason string, count int) {
		t.Helper()
		_, err := db.Import(strings.NewReader("ok 1\n"+text), ImportOptions{Strict: true})
		var ref *RefusedError
		if !errors.As(err, &ref) {
			t.Fatalf("%q: %v, want a *RefusedError", text, err)
		}
		if len(ref.Reasons) != 1 || ref.Reasons[0].Name != reason || ref.Reasons[0].Count != count || !strings.Contains(err.Error(), "line ") {
			t.Fatalf("%q: %v, want %d %s with a line", text, err, count, reason)
		}
		if after := storeDigest(t, db); after != before {
			t.Fatalf("%q: a refused import changed the store", text)
		}
	}
	f(fmt.Sprintf("a 1 %d\na 2 %d\na 3 %d\n", now-10, now-20, now-30), "out_of_order", 2)
	f(fmt.Sprintf("held 1 %d\n", now-2000), "out_of_order", 1)
	f(fmt.Sprintf("a 1 %d\na 2 %d\n", now-10, now-10), "duplicate", 1)
	f(fmt.Sprintf("a 1 %d\n", now-401*day), "too_old", 1)
	f(fmt.Sprintf("a 1 %d\n", now+3600_000), "too_far_in_future", 1)
	f("a NaN\nb -Inf\n", "non_finite", 2)
	f("a{b=\""+strings.Repeat("x", 3000)+"\"} 1\n", "label_too_long", 1)
	f("a 1\nb 1\nc 1\n", "series_limit", 2)
	// A resend of the stored last sample is no refusal.
	if _, err := db.Import(strings.NewReader(fmt.Sprintf("held 5 %d\n", now-1000)), ImportOptions{Strict: true}); err != nil {
		t.Fatalf("resend: %v", err)
	}
}

// promText writes samples of one series as Prometheus text, in ms.
func promText(b *strings.Builder, series string, samples []Sample) {
	for _, s := range samples {
		fmt.Fprintf(b, "%s %g %d\n", series, s.V, s.T)
	}
}

// counterSamples is a counter every step from t0 to t1, with a reset.
func counterSamples(t0, t1, step int64) []Sample {
	var out []Sample
	v := 0.0
	for t := t0; t <= t1; t += step {
		v += float64((t / step) % 7)
		if len(out)%5000 == 4999 {
			v = 3 // a reset
		}
		out = append(out, Sample{t, v})
	}
	return out
}

func selectTier(t *testing.T, db *DB, tier Tier, mint, maxt int64, ms ...*labelsMatcher) []Series {
	t.Helper()
	out, err := db.SelectTier(Query{MinT: mint, MaxT: maxt, Matchers: ms}, tier)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pointsOf(ss []Series) []Point {
	if len(ss) != 1 {
		return nil
	}
	return ss[0].Points
}

func samplesOf(ss []Series) []Sample {
	if len(ss) != 1 {
		return nil
	}
	return ss[0].Samples
}

func samplesBetween(s []Sample, mint, maxt int64) []Sample {
	var out []Sample
	for _, x := range s {
		if x.T >= mint && x.T <= maxt {
			out = append(out, x)
		}
	}
	return out
}

// A fresh store backfilled with 410 days of a counter keeps the last 15
// days raw, the last 90 in 1-minute points and the last 400 in 1-hour
// points, skips the rest, and its rollups are those of the raw samples.
func TestImportBackfillFreshStore(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "b.db")
	db := openTest(t, path, clk, nil)
	now, day := baseTime.UnixMilli(), int64(24*3600_000)
	all := counterSamples(now-410*day, now, 10*60_000)
	var b strings.Builder
	promText(&b, `jobs_total{job="nightly"}`, all)
	res, err := db.Import(strings.NewReader(b.String()), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := samplesBetween(all, now-15*day, now)
	minute := samplesBetween(all, now-90*day, now-15*day-1)
	hour := samplesBetween(all, now-400*day, now-90*day-1)
	want := TierCounts{Raw: int64(len(raw)), Minute: int64(len(minute)), Hour: int64(len(hour)), TooOld: int64(len(all) - len(raw) - len(minute) - len(hour))}
	if res.Tiers != want || res.Samples != want.Raw+want.Minute+want.Hour || res.Series != 1 {
		t.Fatalf("result %+v, want tiers %+v", res, want)
	}
	check := func(db *DB) {
		t.Helper()
		m := eq(MetricName, "jobs_total")
		if got := samplesOf(selectTier(t, db, TierRaw, minInt64, maxInt64, m)); !sameSampleList(got, raw) {
			t.Fatalf("raw: %d samples, want %d", len(got), len(raw))
		}
		kept := samplesBetween(all, now-400*day, now)
		samePoints(t, "1h tier", pointsOf(selectTier(t, db, TierHour, minInt64, maxInt64, m)), wantRollup(kept, hourMs))
		// The minute tier starts where its retention does; its counter goes
		// on from the hours before it.
		gotM := pointsOf(selectTier(t, db, TierMinute, minInt64, maxInt64, m))
		wantM := wantRollup(kept, minuteMs)
		samePoints(t, "1m tier", gotM, wantM[len(wantM)-len(gotM):])
		if gotM[0].T != minute[0].T {
			t.Fatalf("1m tier starts at %d, want %d", gotM[0].T, minute[0].T)
		}
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	if _, err := db.Prune(); err != nil {
		t.Fatal(err)
	}
	check(db)
}

func sameSampleList(a, b []Sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].T != b[i].T || math.Float64bits(a[i].V) != math.Float64bits(b[i].V) {
			return false
		}
	}
	return true
}

// History imported for a series that holds newer data goes before it in
// every tier: raw chunks, 1-minute and 1-hour blocks of its own. History
// that overlaps what the series holds is refused as out of order.
func TestImportBackfillPast(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "p.db"), clk, nil)
	now, day := baseTime.UnixMilli(), int64(24*3600_000)
	live := counterSamples(now-2*day, now, 60_000)
	for _, s := range live {
		mustAppend(t, db, lbl("jobs_total"), s.T, s.V)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	past := counterSamples(now-300*day, now-3*day, 10*60_000)
	var b strings.Builder
	promText(&b, "jobs_total", past)
	res, err := db.Import(strings.NewReader(b.String()), ImportOptions{})
	if err != nil || res.Rejected != 0 || res.Tiers.Raw == 0 || res.Tiers.Minute == 0 || res.Tiers.Hour == 0 {
		t.Fatalf("import of the past: %+v, %v", res, err)
	}
	m := eq(MetricName, "jobs_total")
	wantRaw := append(samplesBetween(past, now-15*day, now), live...)
	if got := samplesOf(selectTier(t, db, TierRaw, minInt64, maxInt64, m)); !sameSampleList(got, wantRaw) {
		t.Fatalf("raw tier: %d samples, want %d", len(got), len(wantRaw))
	}
	// The past's hours, then the live data's: every point in order.
	hours := pointsOf(selectTier(t, db, TierHour, minInt64, maxInt64, m))
	samePoints(t, "1h tier of the past", hours[:len(wantRollup(past, hourMs))], wantRollup(past, hourMs))
	for i := 1; i < len(hours); i++ {
		if hours[i].T <= hours[i-1].T {
			t.Fatalf("1h points out of order at %d: %d after %d", i, hours[i].T, hours[i-1].T)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	// What overlaps the series' data is refused, in either pass's eyes.
	b.Reset()
	promText(&b, "jobs_total", counterSamples(now-4*day, now-day, 3600_000))
	res, err = db.Import(strings.NewReader(b.String()), ImportOptions{})
	if err != nil || res.Samples != 0 || res.RejectedBy["out_of_order"] != res.Rejected || res.Rejected == 0 {
		t.Fatalf("overlapping import: %+v, %v", res, err)
	}
}

// A series with only rollups (its time past the raw retention) takes an
// import after its newest point into its rollup state, and one before its
// oldest as a past of its own; between them is out of order.
func TestImportIntoRollups(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), clk, nil)
	now, day := baseTime.UnixMilli(), int64(24*3600_000)
	f := func(from, to int64, wantRejected bool) {
		t.Helper()
		var b strings.Builder
		promText(&b, "g", counterSamples(now-from*day, now-to*day, 600_000))
		res, err := db.Import(strings.NewReader(b.String()), ImportOptions{})
		if err != nil || (res.Rejected > 0) != wantRejected {
			t.Fatalf("import of days -%d to -%d: %+v, %v", from, to, res, err)
		}
	}
	f(60, 50, false)
	f(55, 52, true)
	f(45, 20, false)
	f(80, 70, false)
	m := eq(MetricName, "g")
	pts := pointsOf(selectTier(t, db, TierMinute, minInt64, maxInt64, m))
	if len(pts) == 0 || pts[0].T >= now-70*day || pts[len(pts)-1].T < now-21*day {
		t.Fatalf("1m tier: %d points", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			t.Fatalf("1m points out of order at %d", i)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// A series with few samples in an import gets them in its head, as appends
// would; one with more gets whole chunks, written before Import returns.
func TestImportHeadOrChunks(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "h.db"), clk, nil)
	now := baseTime.UnixMilli()
	var b strings.Builder
	promText(&b, "few", counterSamples(now-100_000, now, 10_000))
	promText(&b, "many", counterSamples(now-2000_000, now, 1000))
	if _, err := db.Import(strings.NewReader(b.String()), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().HeadSamples; n != 11 {
		t.Fatalf("%d samples in the heads, want the 11 of few", n)
	}
	var chunks int
	_ = db.view(func(tx *bolt.Tx) error {
		chunks = tx.Bucket(bChunks).Stats().KeyN
		return nil
	})
	if chunks != 5 { // 2001 samples: four of 480 and one of 81
		t.Fatalf("%d chunks written, want 5", chunks)
	}
	if got := selectRaw(t, db, eq(MetricName, "many")); len(got) != 1 || len(got[0].Samples) != 2001 {
		t.Fatalf("many: %+v", got)
	}
}

// While an import writes, the time it claimed is its own: an append inside
// it is out of order, one after it is taken.
func TestImportClaimsItsTime(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	now := baseTime.UnixMilli()
	var b strings.Builder
	promText(&b, "m", counterSamples(now-2000_000, now-1000_000, 1000))
	var inside, after error
	progress := func(r ImportResult) {
		if r.Samples > 0 && inside == nil {
			inside = db.Append(lbl("m"), now-1500_000, 1)
			after = db.Append(lbl("m"), now-500_000, 1)
		}
	}
	if _, err := db.Import(strings.NewReader(b.String()), ImportOptions{Progress: progress, ProgressEvery: 100}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inside, ErrOutOfOrder) || after != nil {
		t.Fatalf("appends while the import wrote: inside %v, after %v", inside, after)
	}
	if got := selectRaw(t, db, eq(MetricName, "m")); len(got) != 1 || len(got[0].Samples) != 1002 {
		t.Fatalf("stored %+v, want the import's 1001 samples and the append after them", got)
	}
}

// Under Strict a series written to between the check and the write
// refuses the import before anything is stored.
func TestImportStrictRecheck(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), clk, nil)
	now := baseTime.UnixMilli()
	mustAppend(t, db, lbl("m"), now-5000_000, 1)
	var b strings.Builder
	promText(&b, "m", counterSamples(now-2000_000, now-1000_000, 1000))
	before := ""
	progress := func(r ImportResult) {
		if before == "" {
			mustAppend(t, db, lbl("m"), now-500, 1) // after all the import holds
			before = storeDigest(t, db)
		}
	}
	_, err := db.Import(strings.NewReader(b.String()), ImportOptions{Strict: true, Progress: progress, ProgressEvery: 100})
	if !errors.Is(err, ErrOutOfOrder) || !strings.Contains(err.Error(), "written to while the import was checked") {
		t.Fatalf("import: %v", err)
	}
	if after := storeDigest(t, db); after != before {
		t.Fatal("a refused import changed the store")
	}
}

// The writer's transactions and open chunks stay within their budgets
// however many samples pass through; past the open budget, chunks are
// written short.
func TestImportBoundedWrites(t *testing.T) {
	f := func(batch, open, wantTxs int) {
		t.Helper()
		clk := &testClock{time.UnixMilli(1_700_000_000_000 + 3_000_000)}
		db := openTest(t, filepath.Join(t.TempDir(), "w.db"), clk, nil)
		r := &linesReader{lines: 300_000} // 100 series, 3000 samples each, 1 s apart
		imp, err := db.newImporter(r, r.Size(), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		imp.w.batchBytes, imp.w.openBytes = batch, open
		res, err := imp.run()
		if err != nil || res.Samples != 300_000 {
			t.Fatalf("import: %+v, %v", res, err)
		}
		w := imp.w
		if w.maxQueued > batch+open+maxChunkBytes+chunkKeyLen || w.maxOpen > open+maxChunkBytes || w.txs < wantTxs {
			t.Fatalf("%d transactions, the largest of %d bytes (budget %d), %d bytes open (budget %d)", w.txs, w.maxQueued, batch, w.maxOpen, open)
		}
		if imp.maxBuf > 2*pieceBytes {
			t.Fatalf("a piece buffer of %d bytes", imp.maxBuf)
		}
		got := selectRaw(t, db, eq(MetricName, "m"))
		if len(got) != 100 || len(got[7].Samples) != 3000 {
			t.Fatalf("stored %d series", len(got))
		}
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	}
	f(16<<10, 1<<20, 20)
	f(16<<10, 16<<10, 20)
}

// A series whose data is all in the rollup tiers, as a backfill leaves
// one, outlives the pruner, before and after a restart.
func TestImportRollupOnlySeriesKept(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "k.db")
	db := openTest(t, path, clk, nil)
	now, day := baseTime.UnixMilli(), int64(24*3600_000)
	var b strings.Builder
	promText(&b, "old", counterSamples(now-200*day, now-190*day, 3600_000))
	if _, err := db.Import(strings.NewReader(b.String()), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := db.Prune(); err != nil {
			t.Fatal(err)
		}
		if pts := pointsOf(selectTier(t, db, TierHour, minInt64, maxInt64, eq(MetricName, "old"))); len(pts) != 241 {
			t.Fatalf("%d hour points after pruning, want 241", len(pts))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openTest(t, path, clk, nil)
	}
}

// Without Strict, the samples of new series past MaxSeries are refused and
// counted, whether the check saw no room or the room went meanwhile.
func TestImportSeriesLimit(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "l.db"), clk, func(o *Options) { o.MaxSeries = 3 })
	res, err := db.Import(strings.NewReader("a 1\nb 1\nc 1\nd 1\n"), ImportOptions{})
	if err != nil || res.Samples != 3 || res.RejectedBy["series_limit"] != 1 {
		t.Fatalf("import past the limit: %+v, %v", res, err)
	}
	db = openTest(t, filepath.Join(t.TempDir(), "l2.db"), clk, func(o *Options) { o.MaxSeries = 3 })
	reserved := false
	progress := func(ImportResult) {
		if !reserved {
			reserved = true
			if err := db.ReserveSeries([]Labels{lbl("x"), lbl("y")}); err != nil {
				t.Error(err)
			}
		}
	}
	res, err = db.Import(strings.NewReader("a 1\nb 1\n"), ImportOptions{Progress: progress, ProgressEvery: 1})
	if err != nil || res.Samples != 1 || res.RejectedBy["series_limit"] != 1 || db.Stats().Series != 1 {
		t.Fatalf("import as the room went: %+v, %v, %d series", res, err, db.Stats().Series)
	}
}

// The past of a series whose only data is its open head goes to disk
// before it, and stays there, readable, across a restart.
func TestImportPastOfAHead(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "h.db")
	db := openTest(t, path, clk, nil)
	now := baseTime.UnixMilli()
	for i := range 10 {
		mustAppend(t, db, lbl("m"), now-10_000+int64(i)*1000, float64(100+i))
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	past := counterSamples(now-3000_000, now-2000_000, 1000)
	promText(&b, "m", past)
	if res, err := db.Import(strings.NewReader(b.String()), ImportOptions{}); err != nil || res.Samples != int64(len(past)) {
		t.Fatalf("import: %+v, %v", res, err)
	}
	for range 2 {
		got := samplesOf(selectRaw(t, db, eq(MetricName, "m")))
		if len(got) != len(past)+10 || got[len(past)-1] != past[len(past)-1] || got[len(past)].V != 100 {
			t.Fatalf("%d samples, want the %d of the past then the head's 10", len(got), len(past))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openTest(t, path, clk, nil)
	}
	mustAppend(t, db, lbl("m"), now, 1) // after the head, as before the import
}

// FuzzImport feeds arbitrary text to a strict import into a store that
// holds a series: it never panics, and a refused text changes nothing.
func FuzzImport(f *testing.F) {
	f.Add([]byte("# TYPE up gauge\nup{job=\"a\"} 1\n"))
	f.Add([]byte("# TYPE x histogram\nx_bucket{le=\"1\"} 1 1793491100\n# EOF\n"))
	f.Add([]byte("held 1 1793491190000\nheld 2 1780000000000\nbad{ 1\n"))
	f.Add([]byte("m NaN\nm 1 5\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		clk := &testClock{baseTime}
		db := openTest(t, filepath.Join(t.TempDir(), "f.db"), clk, nil)
		mustAppend(t, db, lbl("held"), baseTime.UnixMilli()-5000, 1)
		before := storeDigest(t, db)
		_, err := db.Import(bytes.NewReader(text), ImportOptions{Strict: true})
		if err != nil && storeDigest(t, db) != before {
			t.Fatalf("refused text %q changed the store: %v", text, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("text %q: %v", text, err)
		}
	})
}
