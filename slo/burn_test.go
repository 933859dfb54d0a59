package slo_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"atroz/alert"
	"atroz/query"
	"atroz/slo"
	"atroz/store"
)

// TestBudgetBurnPagesAndResolves drives a checkout service through a fast
// burn of a 99.9 % availability SLO and checks, on an injected clock, that
// the page and ticket alerts fire and resolve at the evaluations the SRE
// workbook's formulas give for this traffic.
//
// The service answers 150 requests every 15 s (10 a second) for six hours
// and ten minutes; then, for 20 minutes (80 scrapes, k = 1..80 after t0),
// 15 of each 150 fail. The rules are evaluated after each scrape. By hand:
//
//   - the recorded 5-minute error rate at scrape k is 0.05k for k < 20 (the
//     error counter starts at 0, so rate() extrapolates no further back
//     than its zero), 1/s from k = 20 to 80, then (99-k)/19 until k = 99;
//     the event rate is 10/s;
//   - the 5-minute ratio exceeds the page's 14.4 × 0.1 % = 0.0144 while the
//     error rate exceeds 0.144: k = 3 to 96;
//   - the hour's ratio, Σ error rates over 240 points of 10, is
//     (k - 9.5)/2400 from k = 20 on: above 0.0144 from k = 45;
//   - the 6-hour ratio never reaches 6 × 0.1 %: at most 79.5/14,400.
//
// So the page fires at k = 45 (11m15s) and resolves at k = 97 (24m15s),
// when the 5-minute window no longer burns, though the hour's ratio is
// still high. The ticket's slow condition, 0.1 % over 3 days and over 6
// hours, holds once Σ error rates passes 14.4 (the 6 hours') at k = 24 and
// the 3 days' ratio over all 1,480 + k points (less the first five minutes'
// ramp) passes 0.001 at k = 25: it fires at 6m15s and stays firing, the
// budget spent being in both windows for hours.
func TestBudgetBurnPagesAndResolves(t *testing.T) {
	f := &slo.File{SLOs: []slo.SLO{{Name: "checkout", Service: "checkout", Objective: 99.9, Window: slo.DefaultWindow, Indicator: slo.Availability}}}
	b, err := slo.Rules(f)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := alert.ParseRules(b, "slo rules", nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	db, err := store.Open(filepath.Join(t.TempDir(), "slo.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := alert.NewManager(db, query.New(db, &query.Options{CacheBytes: -1}), groups, nil, &alert.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	const step = 15 * time.Second
	var ok, failed float64
	label := func(code string) store.Labels {
		return store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: code}, {Name: "route", Value: "/pay"}, {Name: "service", Value: "checkout"}}
	}
	start := t0.Add(-(6*time.Hour + 10*time.Minute))
	for ts := start; !ts.After(t0.Add(40 * time.Minute)); ts = ts.Add(step) {
		now = ts
		k := int(ts.Sub(t0) / step)
		bad := 0.0
		if k >= 1 && k <= 80 {
			bad = 15
		}
		if ts.After(start) {
			ok, failed = ok+150-bad, failed+bad
		}
		for code, v := range map[string]float64{"200": ok, "500": failed} {
			if err := db.Append(label(code), ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		m.EvalAt(context.Background(), ts)
	}
	history := func(name string) []string {
		t.Helper()
		events, err := m.History(start, now, name)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range events {
			out = append(out, fmt.Sprintf("%s@%s", e.State, e.Time.Sub(t0)))
		}
		return out
	}
	if got, want := history(slo.PageAlert), []string{"firing@11m15s", "resolved@24m15s"}; !slices.Equal(got, want) {
		t.Errorf("%s: %v, want %v", slo.PageAlert, got, want)
	}
	if got, want := history(slo.TicketAlert), []string{"firing@6m15s"}; !slices.Equal(got, want) {
		t.Errorf("%s: %v, want %v", slo.TicketAlert, got, want)
	}
}
