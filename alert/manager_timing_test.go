package alert

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"atroz/query"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// BenchmarkEvalCycle evaluates 1,000 rules over 5-minute windows of 10,000
// series (10 minutes of 15 s data), once per iteration: one evaluation cycle
// of every group. Each rule watches one service's 10 routes, so together
// they cover every series once; ten rules fire, for each of their routes.
//
// The overlapping variant makes each rule watch 100 series of 100 services,
// so every series is read by ten rules: ten times the reading. The
// recording variant makes the disjoint rules recording rules, evaluated one
// after another, each appending its 10 series: 10,000 samples a cycle.
func BenchmarkEvalCycle(b *testing.B) {
	b.Run("disjoint", func(b *testing.B) { benchEvalCycle(b, 1000, 10, false) })
	b.Run("overlapping", func(b *testing.B) { benchEvalCycle(b, 100, 100, false) })
	b.Run("recording", func(b *testing.B) { benchEvalCycle(b, 1000, 10, true) })
}

func benchEvalCycle(b *testing.B, services, routes int, record bool) {
	now := t0
	db, err := store.Open(filepath.Join(b.TempDir(), "b.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for ts := t0.Add(-10 * time.Minute); !ts.After(t0); ts = ts.Add(15 * time.Second) {
		now = ts
		for svc := range services {
			for route := range routes {
				ls := store.Labels{{Name: "__name__", Value: "req_total"}, {Name: "route", Value: fmt.Sprintf("/r%d", route)}, {Name: "svc", Value: fmt.Sprintf("s%d", svc)}}
				if err := db.Append(ls, ts.UnixMilli(), float64(ts.Unix()%1000*(1+int64(route)))); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	var rs []rules.Rule
	for i := range 1000 {
		threshold := 1e9 // most rules hold; one in a hundred fires for every route
		if i%100 == 0 {
			threshold = 0
		}
		q := fmt.Sprintf(`sum by (route) (rate(req_total{svc="s%d"}[5m]))`, i%services)
		if !record {
			q += fmt.Sprintf(" > %g", threshold)
		}
		expr, err := p.ParseExpr(q)
		if err != nil {
			b.Fatal(err)
		}
		if record {
			rs = append(rs, rules.NewRecordingRule(fmt.Sprintf("route:req:rate5m_%d", i), expr, labels.EmptyLabels()))
			continue
		}
		rs = append(rs, rules.NewAlertingRule(fmt.Sprintf("R%d", i), expr, time.Minute, 0, labels.FromStrings("severity", "warning"), labels.EmptyLabels(), labels.EmptyLabels(), "", true, nil))
	}
	m, err := NewManager(db, query.New(db, &query.Options{CacheBytes: -1}), []RuleGroup{{Name: "bench", Rules: rs}}, nil, &Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.EvalAt(context.Background(), t0.Add(time.Duration(i)*time.Second))
	}
	b.StopTimer()
	if m.groups[0].failures.Load() != 0 {
		b.Fatalf("%d rule evaluations failed", m.groups[0].failures.Load())
	}
	for _, r := range rs {
		if r.Health() != rules.HealthGood {
			b.Fatalf("%s: %s %v", r.Name(), r.Health(), r.LastError())
		}
	}
}
