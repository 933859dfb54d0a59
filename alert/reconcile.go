package alert

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"time"

	"atroz/alert/notify"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// change is the outcome of one alert's evaluation.
type change struct {
	rule   *rules.AlertingRule
	event  *Event
	notify *notify.Notification
	save   *known // nil with drop: forget the alert
	key    string
	drop   bool
}

// reconcile compares a rule's alerts after an evaluation with what is
// known of them, and records, logs and notifies every transition.
func (m *Manager) reconcile(g *group, r *rules.AlertingRule, ts time.Time) {
	m.mu.Lock()
	first := !m.restored[r]
	m.restored[r] = true
	var changes []change
	seen := map[string]bool{}
	r.ForEachActiveAlert(func(a *rules.Alert) {
		key := fingerprint(a.Labels)
		seen[key] = true
		if first {
			m.restore(a, m.known[key])
		}
		if k := m.known[key]; k != nil && k.Group == "" && k.Rule == r.Name() {
			k.Group = g.Name // a record of before groups were kept: it is this group's
		}
		if c, ok := m.transition(g, r, a, key, ts); ok {
			changes = append(changes, c)
		}
	})
	changes = append(changes, m.vanished(g, r, seen, first, ts)...)
	m.mu.Unlock()
	m.apply(changes, ts)
}

// restore gives an alert found again after a restart its remembered start,
// and its firing state, so it is neither re-notified nor re-pending.
func (m *Manager) restore(a *rules.Alert, k *known) {
	if k == nil || (k.State != StatePending && k.State != StateFiring) {
		return
	}
	a.ActiveAt = k.ActiveAt
	if k.State == StateFiring {
		a.State, a.FiredAt = rules.StateFiring, k.FiredAt
	}
}

// transition works out what changed for one alert. The caller holds m.mu.
func (m *Manager) transition(g *group, r *rules.AlertingRule, a *rules.Alert, key string, ts time.Time) (change, bool) {
	k, state := m.known[key], stateOf(a)
	if k != nil && k.State == state {
		return m.reminder(r, a, k, key, ts)
	}
	if k == nil && state == StateResolved {
		return change{}, false
	}
	next := &known{Rule: r.Name(), Group: g.Name, State: state, Labels: a.Labels.Map(), ActiveAt: a.ActiveAt, FiredAt: a.FiredAt}
	if k != nil {
		next.LastSent, next.Notified = k.LastSent, k.Notified
	}
	c := change{rule: r, key: key, save: next, event: m.event(r, a, state, ts)}
	switch {
	case state == StateFiring && !c.event.Silenced:
		c.notify = m.notification(r, a, notify.StatusFiring, false)
		next.LastSent, next.Notified = ts, true
	case state == StateResolved && next.Notified:
		c.notify = m.notification(r, a, notify.StatusResolved, false)
		next.Notified = false
	}
	return c, true
}

// reminder repeats a firing alert's notification every RepeatInterval.
func (m *Manager) reminder(r *rules.AlertingRule, a *rules.Alert, k *known, key string, ts time.Time) (change, bool) {
	if k.State != StateFiring || ts.Sub(k.LastSent) < m.opts.RepeatInterval || m.silences.match(a.Labels, ts) {
		return change{}, false
	}
	next := *k
	next.LastSent, next.Notified = ts, true
	return change{rule: r, key: key, save: &next, notify: m.notification(r, a, notify.StatusFiring, true)}, true
}

// vanished handles the alerts of g's rule r that it no longer reports: a
// pending alert whose condition cleared becomes inactive; a resolved one
// is forgotten. At the rule's first evaluation (after a restart, or when
// SetGroups replaced its group), a firing alert it does not report has
// cleared meanwhile and is resolved. Alerts of a rule of the same name in
// another group are left alone.
func (m *Manager) vanished(g *group, r *rules.AlertingRule, seen map[string]bool, first bool, ts time.Time) []change {
	var out []change
	for key, k := range m.byRule[r.Name()] {
		if seen[key] || k.Group != "" && k.Group != g.Name {
			continue
		}
		if first && k.Group == g.Name {
			out = append(out, m.gone(r, key, k, ts))
			continue
		}
		c := change{rule: r, key: key, drop: true}
		if k.State == StatePending {
			c.event = &Event{Time: ts, AlertName: k.Rule, State: StateInactive, Labels: k.Labels, Value: math.NaN()}
		}
		out = append(out, c)
	}
	return out
}

// gone forgets a known alert whose rule no longer reports it, or is no
// longer evaluated: a pending one becomes inactive, a firing one resolved,
// and its receivers are told when they were told it fired. The caller
// holds m.mu.
func (m *Manager) gone(r *rules.AlertingRule, key string, k *known, ts time.Time) change {
	c := change{rule: r, key: key, drop: true}
	switch k.State {
	case StatePending:
		c.event = &Event{Time: ts, AlertName: k.Rule, State: StateInactive, Labels: k.Labels, Value: math.NaN()}
	case StateFiring:
		a := &rules.Alert{Labels: labels.FromMap(k.Labels), Annotations: labels.EmptyLabels(), Value: math.NaN(),
			ActiveAt: k.ActiveAt, FiredAt: k.FiredAt, ResolvedAt: ts}
		for _, last := range r.ActiveAlerts() {
			if fingerprint(last.Labels) == key {
				a.Annotations, a.Value = last.Annotations, last.Value
			}
		}
		c.event = &Event{Time: ts, AlertName: k.Rule, State: StateResolved, Labels: k.Labels, Value: a.Value,
			Summary: a.Annotations.Get("summary")}
		if k.Notified {
			c.notify = m.notification(r, a, notify.StatusResolved, false)
		}
	}
	return c
}

func (m *Manager) event(r *rules.AlertingRule, a *rules.Alert, state string, ts time.Time) *Event {
	return &Event{Time: ts, AlertName: r.Name(), State: state, Labels: a.Labels.Map(), Value: a.Value,
		Summary: a.Annotations.Get("summary"), Silenced: m.silences.match(a.Labels, ts)}
}

// apply persists, records, logs and dispatches the changes of one
// evaluation: state and history each in one transaction.
func (m *Manager) apply(changes []change, ts time.Time) {
	lead := m.led.Load()
	var events [][]byte
	put, del := map[string][]byte{}, []string(nil)
	m.mu.Lock()
	for _, c := range changes {
		if c.drop {
			m.forget(c.key)
			del = append(del, c.key)
		} else if b, err := json.Marshal(c.save); err == nil {
			m.remember(c.key, c.save)
			put[c.key] = b
		}
	}
	m.mu.Unlock()
	if lead {
		m.writeState(put, del)
	}
	for _, c := range changes {
		if c.event != nil {
			if lead {
				m.logEvent(c)
			}
			if m.opts.OnEvent != nil {
				m.opts.OnEvent(*c.event)
			}
			if b, err := json.Marshal(eventJSON(c.event)); err == nil {
				events = append(events, b)
			}
		}
		if c.notify != nil && m.disp != nil && lead {
			m.disp.Dispatch(c.notify)
		}
	}
	if len(events) > 0 {
		if err := m.db.AppendAlertEvents(ts, events); err != nil {
			m.opts.Logger.Error("alert history write failed", "event_type", "alert_history", "error", err)
		}
	}
}

// writeState stores one evaluation's alert state changes at the records'
// current revision: alert state has one writer, the leader, whose copy is
// the state in memory, so there is nothing of another's to decide again
// from; a conflict is a leader's write just before the lease passed.
func (m *Manager) writeState(put map[string][]byte, del []string) {
	if len(put) == 0 && len(del) == 0 {
		return
	}
	err := store.RetryConflicts(func() error {
		rev, err := m.records.Revision(store.RecordAlertState)
		if err == nil {
			_, err = m.records.WriteRecordsAt(store.RecordAlertState, rev, put, del)
		}
		return err
	})
	if err != nil {
		m.opts.Logger.Error("alert state write failed", "event_type", "alert_state", "error", err)
	}
}

// logEvent writes the seed's alert log line for a transition.
func (m *Manager) logEvent(c change) {
	e := c.event
	level := slog.LevelInfo
	if e.State == StateFiring {
		level = slog.LevelWarn
	}
	r := c.rule
	attrs := []slog.Attr{
		slog.String("event_type", "alert"),
		slog.String("alert_type", alertType(e.AlertName)),
		slog.String("alertname", e.AlertName),
		slog.String("state", e.State),
		slog.Any("labels", e.Labels),
		slog.Bool("silenced", e.Silenced),
	}
	if !math.IsNaN(e.Value) {
		attrs = append(attrs, slog.Float64("value", e.Value))
	}
	attrs = append(attrs, slog.String("metric", metricName(r.Query())))
	if th := threshold(r.Query()); !math.IsNaN(th) {
		attrs = append(attrs, slog.Float64("threshold", th))
	}
	if e.Summary != "" {
		attrs = append(attrs, slog.String("summary", e.Summary))
	}
	m.opts.Logger.LogAttrs(context.Background(), level, "alert "+e.State, attrs...)
}

// eventJSON keeps NaN values (unknown) out of JSON, which cannot hold them.
func eventJSON(e *Event) any {
	if math.IsNaN(e.Value) {
		c := *e
		c.Value = 0
		return c
	}
	return e
}

// notification builds what receivers get for an alert.
func (m *Manager) notification(r *rules.AlertingRule, a *rules.Alert, status string, reminder bool) *notify.Notification {
	n := &notify.Notification{
		Status: status, Labels: a.Labels.Map(), Annotations: a.Annotations.Map(),
		StartsAt: a.FiredAt, EndsAt: a.ResolvedAt, Value: a.Value,
		Fingerprint: fingerprint(a.Labels), Reminder: reminder,
		GeneratorURL: m.opts.ExternalURL + "/#alerts?alertname=" + r.Name(),
	}
	if n.StartsAt.IsZero() {
		n.StartsAt = a.ActiveAt
	}
	return n
}

// remember and forget keep m.known and its per-rule index in step. The
// caller holds m.mu.
func (m *Manager) remember(key string, k *known) {
	m.known[key] = k
	if m.byRule[k.Rule] == nil {
		m.byRule[k.Rule] = map[string]*known{}
	}
	m.byRule[k.Rule][key] = k
}

func (m *Manager) forget(key string) {
	if k, ok := m.known[key]; ok {
		delete(m.byRule[k.Rule], key)
		delete(m.known, key)
	}
}
