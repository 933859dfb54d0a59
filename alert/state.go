package alert

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// States of an alert as AtroZ records them.
const (
	StatePending  = "pending"
	StateFiring   = "firing"
	StateResolved = "resolved"
	StateInactive = "inactive" // a pending alert whose condition cleared before its for
)

// known is what AtroZ remembers of one alert, persisted so that a restart
// neither notifies a firing alert again nor forgets it.
type known struct {
	Rule string `json:"rule"`
	// Group is the rule's group: rules of one name in several groups (each
	// SLO's burn-rate alerts) keep their alerts apart by it. Empty in
	// records written before it was kept.
	Group    string            `json:"group,omitempty"`
	State    string            `json:"state"`
	Labels   map[string]string `json:"labels"`
	ActiveAt time.Time         `json:"active_at"`
	FiredAt  time.Time         `json:"fired_at,omitzero"`
	LastSent time.Time         `json:"last_sent,omitzero"`
	Notified bool              `json:"notified"` // its firing was notified, so its resolution is too
}

// takeLead notes whether this instance leads; one that has just taken
// the lead over reads the alert state the last leader left, so it
// neither notifies again what was notified nor misses a resolution.
func (m *Manager) takeLead() {
	lead := m.opts.Leading()
	if !lead || m.led.Swap(lead) {
		m.led.Store(lead)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.known, m.byRule = map[string]*known{}, map[string]map[string]*known{}
	if err := m.loadKnownLocked(); err != nil {
		m.opts.Logger.Error("alert state of the last leader not read", "event_type", "alert_state", "error", err)
		return
	}
	m.opts.Logger.Info("leading: this instance notifies and keeps the alert state", "event_type", "alert_state", "alerts", len(m.known))
}

// loadKnown reads each alert's last known state.
func (m *Manager) loadKnown() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadKnownLocked()
}

// loadKnownLocked is loadKnown for a caller holding m.mu.
func (m *Manager) loadKnownLocked() error {
	var bad error
	err := m.records.Records(store.RecordAlertState, func(key string, v []byte) bool {
		var k known
		if err := json.Unmarshal(v, &k); err != nil {
			bad = fmt.Errorf("alert state %s: %w", key, err)
			return false
		}
		m.remember(key, &k)
		return true
	})
	if err != nil {
		return err
	}
	return bad
}

// Event is one recorded transition.
type Event struct {
	Time      time.Time         `json:"time"`
	AlertName string            `json:"alertname"`
	State     string            `json:"state"`
	Labels    map[string]string `json:"labels"`
	Value     float64           `json:"value"`
	Summary   string            `json:"summary,omitempty"`
	Silenced  bool              `json:"silenced,omitempty"`
}

// fingerprint identifies an alert by its labels, as Alertmanager does.
func fingerprint(ls labels.Labels) string { return fmt.Sprintf("%016x", ls.Hash()) }

func stateOf(a *rules.Alert) string {
	switch {
	case !a.ResolvedAt.IsZero():
		return StateResolved
	case a.State == rules.StateFiring:
		return StateFiring
	}
	return StatePending
}

// threshold finds the constant a rule's expression compares against, for
// the log line; NaN when there is none.
func threshold(expr parser.Expr) float64 {
	if p, ok := expr.(*parser.ParenExpr); ok {
		return threshold(p.Expr)
	}
	b, ok := expr.(*parser.BinaryExpr)
	if !ok || !b.Op.IsComparisonOperator() {
		return math.NaN()
	}
	for _, side := range []parser.Expr{b.RHS, b.LHS} {
		if n, ok := side.(*parser.NumberLiteral); ok {
			return n.Val
		}
	}
	return math.NaN()
}

// metricName is the first metric a rule's expression reads, for the log line.
func metricName(expr parser.Expr) string {
	name := ""
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && name == "" {
			name = vs.Name
		}
		return nil
	})
	return name
}

// alertType turns an alert's name into the log's alert_type: HighLatency is high_latency.
func alertType(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
