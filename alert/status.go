package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// ActiveAlert is an alert in the shape of Prometheus' /api/v1/alerts.
type ActiveAlert struct {
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	State           string            `json:"state"`
	ActiveAt        time.Time         `json:"activeAt"`
	KeepFiringSince *time.Time        `json:"keepFiringSince,omitempty"`
	Value           string            `json:"value"`
	Silenced        bool              `json:"silenced"`
	// SilencedBy names the active silences that mute the alert, so a
	// client can offer to expire them.
	SilencedBy []string `json:"silencedBy,omitempty"`
	// Unit is what Value counts, from the rule (see UnitOf): "seconds",
	// "ratio", "bytes" or a unit the rule names; empty when unknown.
	Unit string `json:"unit,omitempty"`
}

// Alerts returns the pending and firing alerts of every rule.
func (m *Manager) Alerts() []ActiveAlert {
	var out []ActiveAlert
	for _, g := range m.groupList() {
		for _, r := range g.alerting() {
			out = append(out, m.activeOf(r)...)
		}
	}
	return out
}

// alerting returns the group's alerting rules.
func (g *group) alerting() []*rules.AlertingRule {
	var out []*rules.AlertingRule
	for _, r := range g.Rules {
		if a, ok := r.(*rules.AlertingRule); ok {
			out = append(out, a)
		}
	}
	return out
}

func (m *Manager) activeOf(r *rules.AlertingRule) []ActiveAlert {
	out := []ActiveAlert{}
	now := m.opts.Now()
	unit := UnitOf(r)
	for _, a := range r.ActiveAlerts() {
		by := m.silences.matching(a.Labels, now)
		aa := ActiveAlert{
			Labels: a.Labels.Map(), Annotations: a.Annotations.Map(), State: stateOf(a), ActiveAt: a.ActiveAt,
			Value: strconv.FormatFloat(a.Value, 'e', -1, 64), Silenced: len(by) > 0, SilencedBy: by, Unit: unit,
		}
		if !a.KeepFiringSince.IsZero() {
			t := a.KeepFiringSince
			aa.KeepFiringSince = &t
		}
		out = append(out, aa)
	}
	return out
}

// RuleStatus is a rule in the shape of Prometheus' /api/v1/rules: an
// alerting rule (Type "alerting") with every field, a recording rule (Type
// "recording") with name, query, labels, health, lastError,
// evaluationTime and lastEvaluation only.
type RuleStatus struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []ActiveAlert     `json:"alerts"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	State          string            `json:"state"`
	Type           string            `json:"type"`
}

// recordingStatus is Prometheus' JSON shape of a recording rule.
type recordingStatus struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Labels         map[string]string `json:"labels,omitempty"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

// MarshalJSON writes a recording rule without the alerting rules' fields, as Prometheus does.
func (rs RuleStatus) MarshalJSON() ([]byte, error) {
	if rs.Type == TypeRecording {
		return json.Marshal(recordingStatus{Name: rs.Name, Query: rs.Query, Labels: rs.Labels, Health: rs.Health, LastError: rs.LastError,
			EvaluationTime: rs.EvaluationTime, LastEvaluation: rs.LastEvaluation, Type: rs.Type})
	}
	type plain RuleStatus
	return json.Marshal(plain(rs))
}

// Rule types of a RuleStatus.
const (
	TypeAlerting  = "alerting"
	TypeRecording = "recording"
)

// GroupStatus is a rule group in the shape of Prometheus' /api/v1/rules.
type GroupStatus struct {
	Name           string       `json:"name"`
	File           string       `json:"file"`
	Interval       float64      `json:"interval"`
	Limit          int          `json:"limit"`
	Rules          []RuleStatus `json:"rules"`
	LastEvaluation time.Time    `json:"lastEvaluation"`
	EvaluationTime float64      `json:"evaluationTime"`
}

// ErrRuleType is returned by RuleGroups for a type other than "", "alert" and "record".
var ErrRuleType = errors.New(`invalid parameter "type": not supported value`)

// Groups returns the rules of every group that has any, with their health and alerts.
func (m *Manager) Groups() []GroupStatus {
	gs, _ := m.RuleGroups("")
	return gs
}

// RuleGroups returns the groups' rules of one type as Prometheus'
// /api/v1/rules?type= does: "alert" or "record" (any case), or both for "".
// A group left without rules is left out.
func (m *Manager) RuleGroups(typ string) ([]GroupStatus, error) {
	typ = strings.ToLower(typ)
	if typ != "" && typ != "alert" && typ != "record" {
		return nil, fmt.Errorf("%w %q", ErrRuleType, typ)
	}
	out := make([]GroupStatus, 0)
	for _, g := range m.groupList() {
		gs := GroupStatus{Name: g.Name, File: g.File, Interval: g.interval.Seconds(), Limit: g.Limit, Rules: []RuleStatus{},
			EvaluationTime: time.Duration(g.lastDuration.Load()).Seconds()}
		if ns := g.lastEval.Load(); ns > 0 {
			gs.LastEvaluation = time.Unix(0, ns).UTC()
		}
		for _, r := range g.Rules {
			switch r := r.(type) {
			case *rules.AlertingRule:
				if typ != "record" {
					gs.Rules = append(gs.Rules, m.ruleStatus(r))
				}
			case *rules.RecordingRule:
				if typ != "alert" {
					gs.Rules = append(gs.Rules, recordingRuleStatus(r))
				}
			}
		}
		if len(gs.Rules) > 0 {
			out = append(out, gs)
		}
	}
	return out, nil
}

func (m *Manager) ruleStatus(r *rules.AlertingRule) RuleStatus {
	rs := RuleStatus{
		Name: r.Name(), Query: r.Query().String(), Duration: r.HoldDuration().Seconds(), KeepFiringFor: r.KeepFiringFor().Seconds(),
		Labels: r.Labels().Map(), Annotations: r.Annotations().Map(), Alerts: m.activeOf(r), Health: string(r.Health()),
		EvaluationTime: r.GetEvaluationDuration().Seconds(), LastEvaluation: r.GetEvaluationTimestamp(),
		State: r.State().String(), Type: TypeAlerting,
	}
	if err := r.LastError(); err != nil {
		rs.LastError = err.Error()
	}
	return rs
}

func recordingRuleStatus(r *rules.RecordingRule) RuleStatus {
	rs := RuleStatus{
		Name: r.Name(), Query: r.Query().String(), Labels: r.Labels().Map(), Health: string(r.Health()),
		EvaluationTime: r.GetEvaluationDuration().Seconds(), LastEvaluation: r.GetEvaluationTimestamp(), Type: TypeRecording,
	}
	if err := r.LastError(); err != nil {
		rs.LastError = err.Error()
	}
	return rs
}

// History returns the recorded transitions from from to to, oldest first,
// of the alert called name (every alert when name is "").
func (m *Manager) History(from, to time.Time, name string) ([]Event, error) {
	out := []Event{}
	err := m.db.AlertEvents(from, to, func(_ time.Time, b []byte) bool {
		var e Event
		if json.Unmarshal(b, &e) == nil && (name == "" || e.AlertName == name) {
			out = append(out, e)
		}
		return len(out) < 10_000
	})
	return out, err
}

// HistoryEvent is a recorded transition as the history API answers it: a
// resolved one carries the summary of the firing it ends as LastSummary,
// not as its own Summary; a pending alert that cleared before its for is
// marked NeverFired and has no value; Unit is its rule's (see UnitOf).
type HistoryEvent struct {
	Time        time.Time         `json:"time"`
	AlertName   string            `json:"alertname"`
	State       string            `json:"state"`
	Labels      map[string]string `json:"labels"`
	Value       *float64          `json:"value"`
	Unit        string            `json:"unit,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	LastSummary string            `json:"lastSummary,omitempty"`
	Silenced    bool              `json:"silenced,omitempty"`
	NeverFired  bool              `json:"neverFired,omitempty"`
}

// HistoryView returns History's transitions as the history API shows them.
func (m *Manager) HistoryView(from, to time.Time, name string) ([]HistoryEvent, error) {
	events, err := m.History(from, to, name)
	if err != nil {
		return nil, err
	}
	units := m.units()
	out := make([]HistoryEvent, len(events))
	for i, e := range events {
		h := HistoryEvent{Time: e.Time, AlertName: e.AlertName, State: e.State, Labels: e.Labels, Unit: units[e.AlertName],
			Summary: e.Summary, Silenced: e.Silenced}
		switch e.State {
		case StateResolved:
			h.Summary, h.LastSummary = "", e.Summary
		case StateInactive:
			h.NeverFired = true
		}
		if e.State != StateInactive {
			v := e.Value
			h.Value = &v
		}
		out[i] = h
	}
	return out, nil
}

// units maps each alerting rule's name to its unit.
func (m *Manager) units() map[string]string {
	out := map[string]string{}
	for _, g := range m.groupList() {
		for _, r := range g.alerting() {
			if u := UnitOf(r); u != "" {
				out[r.Name()] = u
			}
		}
	}
	return out
}

// UnitAnnotation is the annotation (or label) a rule names its value's unit
// in, such as "seconds", "ratio", "bytes" or "fps".
const UnitAnnotation = "unit"

// UnitOf returns the unit of an alerting rule's value: its unit annotation
// or label; else what its templates humanize the value as
// (humanizeDuration: seconds, humanizePercentage: ratio, humanize1024:
// bytes); else the base unit its first metric's name ends in (_seconds,
// _ratio, _bytes; before _bucket for a histogram's); else "".
func UnitOf(r *rules.AlertingRule) string {
	if u := r.Annotations().Get(UnitAnnotation); u != "" {
		return u
	}
	if u := r.Labels().Get(UnitAnnotation); u != "" {
		return u
	}
	for _, hint := range []struct{ fn, unit string }{{"humanizeDuration", "seconds"}, {"humanizePercentage", "ratio"}, {"humanize1024", "bytes"}} {
		found := false
		r.Annotations().Range(func(l labels.Label) { found = found || strings.Contains(l.Value, hint.fn) })
		if found {
			return hint.unit
		}
	}
	// A quantile of a histogram is in the unit of its buckets.
	name := strings.TrimSuffix(metricName(r.Query()), "_bucket")
	for _, unit := range []string{"seconds", "ratio", "bytes"} {
		if strings.HasSuffix(name, "_"+unit) {
			return unit
		}
	}
	return ""
}

// labelEscaper applies the text format's three escapes to a label value.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// MetricNames returns the names of the metrics WriteMetrics writes, with a
// dispatcher's: every one a manager can write.
func MetricNames() []string {
	return []string{
		"alerts", "alert_rule_group_last_duration_seconds", "alert_rule_group_evaluations_total",
		"alert_rule_group_evaluation_failures_total", "alert_rule_group_iterations_missed_total",
		"alert_notifications_total", "alert_notification_retries_total", "alert_notification_queue_length",
	}
}

// WriteMetrics writes the evaluation figures and alert counts in the
// Prometheus text format, for /metrics and the self-scrape.
func (m *Manager) WriteMetrics(w io.Writer) {
	counts := map[string]int{StatePending: 0, StateFiring: 0}
	for _, g := range m.groupList() {
		for _, r := range g.alerting() {
			r.ForEachActiveAlert(func(a *rules.Alert) { counts[stateOf(a)]++ })
		}
	}
	for _, s := range []string{StatePending, StateFiring} {
		metrics.WriteGaugeUint64(w, `alerts{state="`+s+`"}`, uint64(counts[s])) // #nosec G115 -- a count
	}
	for _, g := range m.groupList() {
		lbl := `{group="` + labelEscaper.Replace(g.Name) + `"}`
		metrics.WriteGaugeFloat64(w, "alert_rule_group_last_duration_seconds"+lbl, time.Duration(g.lastDuration.Load()).Seconds())
		metrics.WriteCounterUint64(w, "alert_rule_group_evaluations_total"+lbl, g.evals.Load())
		metrics.WriteCounterUint64(w, "alert_rule_group_evaluation_failures_total"+lbl, g.failures.Load())
		metrics.WriteCounterUint64(w, "alert_rule_group_iterations_missed_total"+lbl, g.missed.Load())
	}
	if m.disp != nil {
		m.disp.WriteMetrics(w)
	}
}
