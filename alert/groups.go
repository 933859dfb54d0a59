package alert

import "slices"

// SetGroups replaces the groups whose File is source (such as the SLOs'
// rules) with groups, whose File becomes source, while the others run on.
// A group whose name, settings and rules are unchanged is kept as it is,
// its alerts' state with it; a new or changed group starts evaluating at
// once when Run runs. A removed group's loop is stopped before SetGroups
// returns, and its pending and firing alerts end: inactive and resolved,
// recorded and notified as any other. An alert of a changed group that
// the new rules still report keeps its start and firing state.
func (m *Manager) SetGroups(source string, groups []RuleGroup) {
	m.gmu.Lock()
	old := map[string]*group{}
	next := make([]*group, 0, len(m.groups)+len(groups))
	for _, g := range m.groups {
		if g.File == source {
			old[g.Name] = g
		} else {
			next = append(next, g)
		}
	}
	for _, rg := range groups {
		rg.File = source
		if g, ok := old[rg.Name]; ok && sameGroup(g.RuleGroup, rg) {
			delete(old, rg.Name)
			next = append(next, g)
			continue
		}
		g := m.newGroup(rg)
		next = append(next, g)
		if m.runCtx != nil {
			m.start(g)
		}
	}
	m.groups = next
	m.gmu.Unlock()
	for _, g := range old {
		if g.stop != nil {
			g.stop()
			<-g.done
		}
	}
	for _, g := range old {
		// A changed group's alerts of a rule it still has are the new
		// group's to keep or end (see vanished).
		var keep []string
		if i := slices.IndexFunc(groups, func(rg RuleGroup) bool { return rg.Name == g.Name }); i >= 0 {
			keep = alertNames(groups[i : i+1])
		}
		m.retire(g, keep)
	}
}

// sameGroup reports whether two groups evaluate the same rules the same way.
func sameGroup(a, b RuleGroup) bool {
	if a.Name != b.Name || a.Interval != b.Interval || a.QueryOffset != b.QueryOffset || a.Limit != b.Limit || len(a.Rules) != len(b.Rules) {
		return false
	}
	for i := range a.Rules {
		if a.Rules[i].String() != b.Rules[i].String() {
			return false
		}
	}
	return true
}

// retire ends the pending and firing alerts of a group no longer
// evaluated, but for those of the rules named in keep.
func (m *Manager) retire(g *group, keep []string) {
	// evalMu: an EvalAt of the old group list may still be evaluating it.
	g.evalMu.Lock()
	defer g.evalMu.Unlock()
	ts := m.opts.Now()
	m.mu.Lock()
	var changes []change
	for _, r := range g.alerting() {
		delete(m.restored, r)
		if slices.Contains(keep, r.Name()) {
			continue
		}
		for key, k := range m.byRule[r.Name()] {
			if k.Group == g.Name {
				changes = append(changes, m.gone(r, key, k, ts))
			}
		}
	}
	m.mu.Unlock()
	m.apply(changes, ts)
}
