package alert

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// DefaultsGroup is the name of the built-in rules' group.
const DefaultsGroup = "atroz-defaults"

// OwnServices matches the service labels of AtroZ itself: its own requests
// and its dashboard's beacons. The built-in product rules and the
// overview's product panels leave them out; AtroZ's own rules and panels
// watch them.
const OwnServices = "atroz|atroz-dashboard"

// defaultRules are the built-in alerts, each over a window with a for:
// first the product's, which leave AtroZ's own services (OwnServices) out
// and, for latency and errors, need enough traffic to mean something (20
// requests in 5 minutes before a p95 is more than the slowest request, 100
// before 1% is more than one failure, and, for the Web Vitals, 20 page
// views in 30 minutes before a page's p75 means anything); then AtroZ's
// own health. The Web Vitals rules rate a page as Google does, poor when
// its p75 is over the poor threshold, which is exactly when fewer than 75%
// of its page views are within it: the threshold is a bucket bound, so the
// share is counted, not interpolated.
const defaultRules = `groups:
- name: atroz-defaults
  rules:
  - alert: HighLatency
    expr: |
      histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket{service!~"atroz|atroz-dashboard"}[5m]))) > 0.5
      and sum by (service, route) (increase(http_request_duration_seconds_bucket{le="+Inf", service!~"atroz|atroz-dashboard"}[5m])) >= 20
    for: 2m
    labels: {severity: warning}
    annotations:
      summary: "p95 latency of {{ $labels.service }} {{ $labels.route }} is {{ $value | humanizeDuration }} (over 500ms)"
  - alert: HighErrorRate
    expr: |
      sum by (service) (rate(http_requests_total{code=~"5..", service!~"atroz|atroz-dashboard"}[5m])) / sum by (service) (rate(http_requests_total{service!~"atroz|atroz-dashboard"}[5m])) > 0.01
      and sum by (service) (increase(http_requests_total{service!~"atroz|atroz-dashboard"}[5m])) >= 100
    for: 2m
    labels: {severity: critical}
    annotations:
      summary: "{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx (over 1%)"
  - alert: HighMemory
    expr: system_memory_usage_ratio > 0.8
    for: 5m
    labels: {severity: warning}
    annotations:
      summary: "memory is {{ $value | humanizePercentage }} used (over 80%)"
  - alert: LowFrameRate
    expr: histogram_quantile(0.5, sum by (le, service, page) (rate(frontend_fps_bucket{service!~"atroz|atroz-dashboard"}[5m]))) < 50
    for: 5m
    labels: {severity: warning}
    annotations:
      summary: "median frame rate of {{ $labels.service }} {{ $labels.page }} is {{ $value | printf \"%.1f\" }} fps (under 50)"
  - alert: PoorLCP
    expr: |
      sum by (service, page) (increase(frontend_lcp_seconds_bucket{le="4", service!~"atroz|atroz-dashboard"}[30m])) / sum by (service, page) (increase(frontend_lcp_seconds_count{service!~"atroz|atroz-dashboard"}[30m])) < 0.75
      and sum by (service, page) (increase(frontend_lcp_seconds_count{service!~"atroz|atroz-dashboard"}[30m])) >= 20
    for: 10m
    labels: {severity: warning}
    annotations:
      summary: "p75 LCP of {{ $labels.service }} {{ $labels.page }} is poor (over 4s): {{ $value | humanizePercentage }} of page views painted within 4s, 75% needed"
  - alert: PoorINP
    expr: |
      sum by (service, page) (increase(frontend_inp_seconds_bucket{le="0.5", service!~"atroz|atroz-dashboard"}[30m])) / sum by (service, page) (increase(frontend_inp_seconds_count{service!~"atroz|atroz-dashboard"}[30m])) < 0.75
      and sum by (service, page) (increase(frontend_inp_seconds_count{service!~"atroz|atroz-dashboard"}[30m])) >= 20
    for: 10m
    labels: {severity: warning}
    annotations:
      summary: "p75 INP of {{ $labels.service }} {{ $labels.page }} is poor (over 500ms): {{ $value | humanizePercentage }} of page views answered within 500ms, 75% needed"
  - alert: StaleData
    expr: time() - data_last_sample_timestamp_seconds > 900
    for: 1m
    labels: {severity: warning}
    annotations:
      summary: "no data from {{ $labels.source }} for {{ $value | humanizeDuration }} (over 15m)"
  - alert: WebSocketChurn
    expr: sum(increase(websocket_disconnects_total[1m])) > 5
    for: 1m
    labels: {severity: warning}
    annotations:
      summary: "{{ $value | printf \"%.0f\" }} WebSocket disconnects in the last minute (over 5)"
  - alert: AtroZSlowAPI
    expr: |
      histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{service="atroz", route!~"/api/v1/auth/login|/api/v1/query_range|/api/v1/read|/federate|/ws"}[5m]))) > 1
      and sum by (route) (increase(http_request_duration_seconds_bucket{le="+Inf", service="atroz", route!~"/api/v1/auth/login|/api/v1/query_range|/api/v1/read|/federate|/ws"}[5m])) >= 20
    for: 5m
    labels: {severity: warning}
    annotations:
      summary: "p95 latency of AtroZ's {{ $labels.route }} is {{ $value | humanizeDuration }} (over 1s)"
  - alert: AtroZErrors
    expr: |
      sum(rate(http_requests_total{code=~"5..", service="atroz"}[5m])) / sum(rate(http_requests_total{service="atroz"}[5m])) > 0.01
      and sum(increase(http_requests_total{service="atroz"}[5m])) >= 100
    for: 5m
    labels: {severity: critical}
    annotations:
      summary: "AtroZ answers {{ $value | humanizePercentage }} of its requests with 5xx (over 1%)"
  - alert: AtroZFlushFailing
    expr: rate(store_flush_errors_total[5m]) > 0
    for: 10m
    labels: {severity: critical}
    annotations:
      summary: "AtroZ's store flushes have failed for 10 minutes; unflushed samples wait in the WAL"
  - alert: AtroZDiskFull
    expr: store_disk_full > 0
    for: 0m
    labels: {severity: critical}
    annotations:
      summary: "AtroZ's data volume is full: new samples are refused"
  - alert: AtroZDiskFilling
    expr: predict_linear(system_data_disk_free_bytes[1h], 4 * 3600) < 0
    for: 30m
    labels: {severity: warning}
    annotations:
      summary: "AtroZ's data volume fills within 4 hours at the last hour's pace"
`

// RuleGroup is a loaded group of recording and alerting rules, in the
// order of its file: they are evaluated in that order, so a rule sees the
// series recorded by the rules before it in the same evaluation.
type RuleGroup struct {
	Name        string
	File        string
	Interval    time.Duration // 0: the manager's evaluation interval
	QueryOffset time.Duration // how far before the evaluation time the rules query; default 0
	Limit       int           // the most series a rule may produce, 0 for no limit
	Rules       []rules.Rule  // *rules.RecordingRule and *rules.AlertingRule
}

// DefaultRuleNames returns the names of the built-in alerting rules.
func DefaultRuleNames() []string {
	g, err := defaults()
	if err != nil { // TestDefaultRuleNames keeps this from happening
		return nil
	}
	var names []string
	for _, r := range g.Rules {
		names = append(names, r.Name())
	}
	return names
}

// defaults returns the built-in group.
func defaults() (RuleGroup, error) {
	gs, err := parseRules([]byte(defaultRules), "", slog.New(slog.DiscardHandler))
	if err != nil {
		return RuleGroup{}, fmt.Errorf("built-in rules: %w", err)
	}
	return gs[0], nil
}

// LoadRules returns the built-in rules, less those named in disabled,
// followed by the groups of the rules file at path (none when path is "").
// An alerting rule in the file with a built-in rule's name replaces it.
// The file is read as Prometheus reads a rule file: an error in it is
// reported as promtool check rules reports it, with its line and column.
func LoadRules(path string, disabled []string, log *slog.Logger) ([]RuleGroup, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var user []RuleGroup
	if path != "" {
		b, err := os.ReadFile(path) // #nosec G304 -- the rules file is the operator's setting
		if err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		if user, err = parseRules(b, path, log); err != nil {
			return nil, fmt.Errorf("rules file %w", err)
		}
	}
	g, err := defaults()
	if err != nil {
		return nil, err
	}
	drop := append(slices.Clone(disabled), alertNames(user)...)
	g.Rules = slices.DeleteFunc(g.Rules, func(r rules.Rule) bool { return slices.Contains(drop, r.Name()) })
	return append([]RuleGroup{g}, user...), nil
}

// ParseRules parses and builds the groups of a Prometheus rule file's
// content, as LoadRules does a file's; name is what its errors call it.
// The SLO rules (package slo) come this way.
func ParseRules(b []byte, name string, log *slog.Logger) ([]RuleGroup, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return parseRules(b, name, log)
}

// parseRules parses and validates Prometheus rule-file YAML with rulefmt,
// as Prometheus and promtool do, and builds its rules. Its error lists
// every problem of the file, one per line, each at its place.
func parseRules(b []byte, file string, log *slog.Logger) ([]RuleGroup, error) {
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.Parse(b, false, model.UTF8Validation, p, log)
	if len(errs) > 0 {
		return nil, problemsError(locate(b, file, errs))
	}
	out := make([]RuleGroup, 0, len(rgs.Groups))
	for _, rg := range rgs.Groups {
		g := RuleGroup{Name: rg.Name, File: file, Interval: time.Duration(rg.Interval), Limit: rg.Limit}
		if rg.QueryOffset != nil {
			g.QueryOffset = time.Duration(*rg.QueryOffset)
		}
		for _, r := range rg.Rules {
			expr, err := p.ParseExpr(r.Expr)
			if err != nil { // rulefmt parsed it already
				return nil, fmt.Errorf("%s: group %q, rule %q: %w", file, rg.Name, r.Alert+r.Record, err)
			}
			g.Rules = append(g.Rules, newRule(r, expr, rg.Labels, log))
		}
		out = append(out, g)
	}
	return out, nil
}

// newRule builds a recording or an alerting rule, the group's labels under its own.
func newRule(r rulefmt.Rule, expr parser.Expr, groupLabels map[string]string, log *slog.Logger) rules.Rule {
	lbls := rules.FromMaps(groupLabels, r.Labels)
	if r.Record != "" {
		return rules.NewRecordingRule(r.Record, expr, lbls)
	}
	return rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
		lbls, labels.FromMap(r.Annotations), labels.EmptyLabels(), "", true, log)
}

// alertNames returns the names of the groups' alerting rules.
func alertNames(groups []RuleGroup) []string {
	var names []string
	for _, g := range groups {
		for _, r := range g.Rules {
			if _, ok := r.(*rules.AlertingRule); ok {
				names = append(names, r.Name())
			}
		}
	}
	return names
}
