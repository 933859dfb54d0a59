package alert

import (
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// Threshold returns the scalar an alerting expression compares its value
// with: the number beside the comparison (>, >=, <, <=, ==, !=) at its top,
// looking through parentheses and into the left side of and/unless, where
// a rule puts its condition before a guard such as a minimum of traffic.
// It reports false when the expression compares with no number there.
func Threshold(expr parser.Expr) (float64, bool) {
	switch e := expr.(type) {
	case *parser.ParenExpr:
		return Threshold(e.Expr)
	case *parser.BinaryExpr:
		if e.Op == parser.LAND || e.Op == parser.LUNLESS {
			return Threshold(e.LHS)
		}
		if !e.Op.IsComparisonOperator() {
			return 0, false
		}
		if n, ok := number(e.RHS); ok {
			return n, true
		}
		return number(e.LHS)
	}
	return 0, false
}

// number returns e's value when e is a number literal, in parentheses or not.
func number(e parser.Expr) (float64, bool) {
	switch e := e.(type) {
	case *parser.ParenExpr:
		return number(e.Expr)
	case *parser.NumberLiteral:
		return e.Val, true
	}
	return 0, false
}

// RuleThreshold returns the threshold of the loaded alerting rule called
// name (nil when its expression compares with no number) and whether such
// a rule is loaded, so a panel draws the line the rule in force alerts at.
func (m *Manager) RuleThreshold(name string) (*float64, bool) {
	for _, g := range m.groupList() {
		for _, r := range g.Rules {
			a, ok := r.(*rules.AlertingRule)
			if !ok || a.Name() != name {
				continue
			}
			if v, ok := Threshold(a.Query()); ok {
				return &v, true
			}
			return nil, true
		}
	}
	return nil, false
}
