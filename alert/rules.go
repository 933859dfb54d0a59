package alert

import (
	"errors"
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

// defaultRules are the seed's six alerts, each over a window with a for.
const defaultRules = `groups:
- name: atroz-defaults
  rules:
  - alert: HighLatency
    expr: histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
    for: 2m
    labels: {severity: warning}
    annotations:
      summary: "p95 latency of {{ $labels.service }} {{ $labels.route }} is {{ $value | humanizeDuration }} (over 500ms)"
  - alert: HighErrorRate
    expr: sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(http_requests_total[5m])) > 0.01
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
    expr: histogram_quantile(0.5, sum by (le, service, page) (rate(frontend_fps_bucket[5m]))) < 50
    for: 5m
    labels: {severity: warning}
    annotations:
      summary: "median frame rate of {{ $labels.service }} {{ $labels.page }} is {{ $value | printf \"%.1f\" }} fps (under 50)"
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
`

// RuleGroup is a loaded group of alerting rules.
type RuleGroup struct {
	Name     string
	File     string
	Interval time.Duration // 0: the manager's evaluation interval
	Rules    []*rules.AlertingRule
}

// LoadRules returns the built-in rules, less those named in disabled,
// followed by the groups of the rules file at path (none when path is "").
// A rule in the file with a built-in rule's name replaces it.
func LoadRules(path string, disabled []string, log *slog.Logger) ([]RuleGroup, error) {
	defaults, errs := parseRules([]byte(defaultRules), "", log)
	if len(errs) > 0 {
		return nil, fmt.Errorf("built-in rules: %w", errors.Join(errs...))
	}
	var user []RuleGroup
	if path != "" {
		b, err := os.ReadFile(path) // #nosec G304 -- the rules file is the operator's setting
		if err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		if user, errs = parseRules(b, path, log); len(errs) > 0 {
			return nil, fmt.Errorf("rules file %s: %w", path, errors.Join(errs...))
		}
	}
	drop := append(slices.Clone(disabled), ruleNames(user)...)
	g := defaults[0]
	g.Rules = slices.DeleteFunc(g.Rules, func(r *rules.AlertingRule) bool { return slices.Contains(drop, r.Name()) })
	return append([]RuleGroup{g}, user...), nil
}

// CheckRules validates a rules file as `atroz rules check` does: every error
// with its line, and the number of rules found.
func CheckRules(path string) (int, []error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the file the operator asked to check
	if err != nil {
		return 0, []error{err}
	}
	groups, errs := parseRules(b, path, slog.New(slog.DiscardHandler))
	for i, err := range errs {
		errs[i] = fmt.Errorf("%s:%w", path, err) // rulefmt's errors start with line:column
	}
	n := 0
	for _, g := range groups {
		n += len(g.Rules)
	}
	return n, errs
}

// parseRules parses and validates Prometheus rule-file YAML. Recording rules
// are refused: AtroZ evaluates alerts only.
func parseRules(b []byte, file string, log *slog.Logger) ([]RuleGroup, []error) {
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.Parse(b, false, model.UTF8Validation, p, log)
	if len(errs) > 0 {
		return nil, errs
	}
	var out []RuleGroup
	for _, rg := range rgs.Groups {
		g := RuleGroup{Name: rg.Name, File: file, Interval: time.Duration(rg.Interval)}
		for _, r := range rg.Rules {
			if r.Record != "" {
				errs = append(errs, fmt.Errorf("group %q: recording rule %q: only alerting rules are evaluated", rg.Name, r.Record))
				continue
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				errs = append(errs, fmt.Errorf("group %q: rule %q: %w", rg.Name, r.Alert, err))
				continue
			}
			lbls := labels.FromMap(mergeLabels(rg.Labels, r.Labels))
			g.Rules = append(g.Rules, rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
				lbls, labels.FromMap(r.Annotations), labels.EmptyLabels(), "", true, log))
		}
		out = append(out, g)
	}
	return out, errs
}

func mergeLabels(group, rule map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range group {
		m[k] = v
	}
	for k, v := range rule {
		m[k] = v
	}
	return m
}

func ruleNames(groups []RuleGroup) []string {
	var names []string
	for _, g := range groups {
		for _, r := range g.Rules {
			names = append(names, r.Name())
		}
	}
	return names
}
