package collector

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

func TestDecodeBeaconRefusesBadVitals(t *testing.T) {
	f := func(vitals, wantField, wantReason string) {
		t.Helper()
		body := `{"service":"shop","page":"/a","fps":[60],"vitals":` + vitals + `}`
		_, err := DecodeBeacon([]byte(body), testWindow)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: got %v, want an InputError", vitals, err)
		}
		if ie.Field != wantField || !strings.Contains(ie.Reason, wantReason) {
			t.Fatalf("%s:\n got field %q reason %q\nwant field %q reason containing %q", vitals, ie.Field, ie.Reason, wantField, wantReason)
		}
	}
	f(`{"fid_ms":12}`, "vitals.fid_ms", "not a vital; the vitals are lcp_ms, inp_ms, cls, ttfb_ms")
	f(`{"lcp_ms":-1}`, "vitals.lcp_ms", "between 0 and 600000, got -1")
	f(`{"lcp_ms":600001}`, "vitals.lcp_ms", "between 0 and 600000")
	f(`{"cls":101}`, "vitals.cls", "between 0 and 100, got 101")
	f(`{"inp_ms":null}`, "vitals.inp_ms", "must be a number, got null")
	f(`{"ttfb_ms":"fast"}`, "vitals.ttfb_ms", "must be a number")
	f(`{"ttfb_ms":1e400}`, "vitals.ttfb_ms", "must be a number")
	f(`[1]`, "vitals", "must be an object")
	f(`{"cls":0.1,}`, "", "malformed JSON")
	// The first fault in name order, whatever the map's order.
	f(`{"zz":1,"cls":-1}`, "vitals.cls", "between 0 and 100")
	_, err := DecodeBeacon([]byte(`{"service":"shop","page":"/a","vitals":{}}`), testWindow)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "fps" {
		t.Fatalf("a beacon with neither frame rates nor vitals: %v", err)
	}
}

func TestDecodeBeaconAcceptsVitalsAlone(t *testing.T) {
	b, err := DecodeBeacon([]byte(`{"service":"shop","page":"/a","vitals":{"lcp_ms":1840,"cls":0,"inp_ms":72,"ttfb_ms":310.5}}`), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.FPS) != 0 || len(b.Vitals) != 4 || *b.Vitals["ttfb_ms"] != 310.5 {
		t.Fatalf("decoded %+v", b)
	}
}

// TestVitalThresholdsAreBucketBounds checks what makes a page's rating
// exact: Google's thresholds are bounds of each vital's buckets.
func TestVitalThresholdsAreBucketBounds(t *testing.T) {
	for _, v := range Vitals {
		if !slices.Contains(v.Buckets, v.Good) || !slices.Contains(v.Buckets, v.Poor) || !slices.IsSorted(v.Buckets) {
			t.Errorf("%s: thresholds %g and %g are not both bounds of %v", v.Metric, v.Good, v.Poor, v.Buckets)
		}
	}
}

// TestRecordVitals counts one page view's vitals in their histograms, in
// seconds, and creates no vitals series for a page that sends none.
func TestRecordVitals(t *testing.T) {
	c, db := newTest(t, nil)
	lcp, cls, inp := 1840.0, 0.12, 520.0
	if err := c.RecordBeacon(Beacon{Service: "shop", Page: "/a", FPS: []float64{60}, TS: testNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	frames := db.Stats().ReservedSeries
	b := Beacon{Service: "shop", Page: "/a", Vitals: VitalValues{"lcp_ms": &lcp, "cls": &cls, "inp_ms": &inp}, TS: testNow.UnixMilli()}
	if err := c.RecordBeacon(b); err != nil {
		t.Fatal(err)
	}
	if got, want := db.Stats().ReservedSeries-frames, c.front.budget.costs[1]; got != want {
		t.Fatalf("the first vitals reserved %d series, want the vitals histograms' %d", got, want)
	}
	if err := c.RecordBeacon(Beacon{Service: "shop", Page: "/b", FPS: []float64{30}, TS: testNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	text := exposition(c)
	for _, want := range []string{
		`frontend_lcp_seconds_bucket{service="shop",page="/a",le="1.5"} 0`,
		`frontend_lcp_seconds_bucket{service="shop",page="/a",le="2"} 1`,
		`frontend_lcp_seconds_sum{service="shop",page="/a"} 1.84`,
		`frontend_cls_bucket{service="shop",page="/a",le="0.1"} 0`,
		`frontend_cls_bucket{service="shop",page="/a",le="0.15"} 1`,
		`frontend_inp_seconds_bucket{service="shop",page="/a",le="0.5"} 0`,
		`frontend_inp_seconds_bucket{service="shop",page="/a",le="1"} 1`,
		`frontend_ttfb_seconds_count{service="shop",page="/a"} 0`,
		`frontend_beacons_total{service="shop",page="/a"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(text, `frontend_lcp_seconds_count{service="shop",page="/b"}`) {
		t.Error("a page without vitals has vitals series")
	}
}

// TestVitalsPastTheBudget gives beacons room for one page's frame-rate
// series beside the room kept for "<other>": the page keeps its frame
// rates, and its vitals count under "<other>", whose room was kept.
func TestVitalsPastTheBudget(t *testing.T) {
	now := func() time.Time { return testNow }
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	probe := newBeaconBudget(0, 0)
	frames, vitals := probe.costs[0], probe.costs[1]
	// The page's frame rates and service gauge, then "<other>"'s two groups and gauge.
	limit := frames + 1 + frames + vitals + 1
	c := New(db, &Options{Now: now, DataDir: t.TempDir(), MaxBeaconSeries: limit})
	lcp := 5000.0
	for _, b := range []Beacon{
		{Service: "shop", Page: "/a", FPS: []float64{60}, TS: testNow.UnixMilli()},
		{Service: "shop", Page: "/a", Vitals: VitalValues{"lcp_ms": &lcp}, TS: testNow.UnixMilli()},
		{Service: "shop", Page: "/b", Vitals: VitalValues{"lcp_ms": &lcp}, TS: testNow.UnixMilli()},
	} {
		if err := c.RecordBeacon(b); err != nil {
			t.Fatalf("%s: %v", b.Page, err)
		}
	}
	text := exposition(c)
	for _, want := range []string{
		`frontend_beacons_total{service="shop",page="/a"} 2`,
		`frontend_beacons_total{service="<other>",page="<other>"} 1`,
		`frontend_lcp_seconds_count{service="<other>",page="<other>"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(text, `frontend_lcp_seconds_count{service="shop"`) {
		t.Error("vitals past the budget were counted under their own page")
	}
	if got := db.Stats().ReservedSeries; got > limit {
		t.Fatalf("beacons reserved %d series, budget %d", got, limit)
	}
}

func BenchmarkRecordBeaconVitals(b *testing.B) {
	c, _ := newTest(b, nil)
	lcp, cls, inp, ttfb := 1840.0, 0.02, 96.0, 310.0
	beacon := Beacon{Service: "shop", Page: "/a", FPS: []float64{60, 59.5, 58}, TS: testNow.UnixMilli(),
		Vitals: VitalValues{"lcp_ms": &lcp, "cls": &cls, "inp_ms": &inp, "ttfb_ms": &ttfb}}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.RecordBeacon(beacon); err != nil {
			b.Fatal(err)
		}
	}
}
