package alert

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"go.yaml.in/yaml/v3"
)

// Problem is one error in a rule file, at its place in the file when the
// file shows one (Line and Column 0 when it does not).
type Problem struct {
	File         string
	Line, Column int
	Message      string
}

// Error formats p as file:line:col: message, leaving out what is unknown.
func (p Problem) Error() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// CheckedRule is one rule of a checked file, for the notes of atroz rules check.
type CheckedRule struct {
	Group        string
	Name         string
	Alerting     bool
	Line, Column int      // where its record or alert field is
	Labels       []string // its labels with the group's, name=value sorted by name
	Metrics      []string // the metric names its expression selects
}

// FileCheck is what CheckFile found in a rule file.
type FileCheck struct {
	File     string
	Rules    []CheckedRule // in file order; empty when Problems is not
	Problems []Problem
}

// CheckFile validates a rule file exactly as promtool check rules and
// Prometheus do (rulefmt with UTF-8 names), and reports each error once,
// at its line and column when the file shows them.
func CheckFile(path string) FileCheck {
	fc := FileCheck{File: path}
	b, err := os.ReadFile(path) // #nosec G304 -- the file the operator asked to check
	if err != nil {
		fc.Problems = []Problem{{File: path, Message: err.Error()}}
		return fc
	}
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.Parse(b, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		fc.Problems = locate(b, path, errs)
		return fc
	}
	tree := newYAMLTree(b)
	for j, rg := range rgs.Groups {
		for i, r := range rg.Rules {
			fc.Rules = append(fc.Rules, checkedRule(p, tree, j, i, rg, r))
		}
	}
	return fc
}

func checkedRule(p parser.Parser, tree yamlTree, j, i int, rg rulefmt.RuleGroup, r rulefmt.Rule) CheckedRule {
	cr := CheckedRule{Group: rg.Name, Name: r.Alert + r.Record, Alerting: r.Alert != ""}
	key := "record"
	if cr.Alerting {
		key = "alert"
	}
	if _, v := field(tree.rule(j, i), key); v != nil {
		cr.Line, cr.Column = v.Line, v.Column
	}
	rules.FromMaps(rg.Labels, r.Labels).Range(func(l labels.Label) { cr.Labels = append(cr.Labels, l.Name+"="+l.Value) })
	if expr, err := p.ParseExpr(r.Expr); err == nil {
		cr.Metrics = selectedMetrics(expr)
	}
	return cr
}

// selectedMetrics returns the metric names expr selects by name, once each.
func selectedMetrics(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if name := selectorName(vs); name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		return nil
	})
	return names
}

// problemsError joins problems into one error, one per line.
func problemsError(ps []Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// locate turns rulefmt's errors into problems, once each, each at the
// place rulefmt gave or, where it gave none (or 0:0 for a missing field),
// at the place in the file it is about.
func locate(b []byte, file string, errs []error) []Problem {
	tree := newYAMLTree(b)
	seen := map[string]bool{}
	var out []Problem
	cur := groupCursor{tree: tree}
	for _, err := range errs {
		var re *rulefmt.Error
		isYAML := !errors.As(err, &re)
		for _, p := range cur.problems(err) {
			p.File = file
			// rulefmt decodes a file twice, into its rules and into their
			// nodes, so a YAML error comes twice, worded apart by the type.
			k := p.Error()
			if isYAML && p.Line > 0 {
				k = "yaml line " + strconv.Itoa(p.Line)
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// groupCursor follows rulefmt's errors, which come group by group in file
// order, to the group each is about even when two groups share a name.
type groupCursor struct {
	tree  yamlTree
	group int
}

var (
	posPrefix   = regexp.MustCompile(`^(\d+):(\d+): (?:\d+:\d+: )?`)
	yamlLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	badDuration = regexp.MustCompile(`^not a valid duration string: "(.*)"$`)
	templateOf  = regexp.MustCompile(`^(label|annotation) "((?:[^"\\]|\\.)*)": `)
)

func (c *groupCursor) problems(err error) []Problem {
	var re *rulefmt.Error
	if errors.As(err, &re) {
		return []Problem{c.ruleProblem(re)}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]Problem, 0, len(te.Errors))
		for _, e := range te.Errors {
			out = append(out, c.tree.yamlProblem(e))
		}
		return out
	}
	msg := err.Error()
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		p := Problem{Line: atoi(m[1]), Column: atoi(m[2]), Message: msg[len(m[0]):]}
		if p.Line == 0 { // rulefmt's group nodes carry no place
			if g := c.badGroup(p.Message); g != nil {
				p.Line, p.Column = g.Line, g.Column
			}
		}
		return []Problem{p}
	}
	if m := badDuration.FindStringSubmatch(msg); m != nil {
		p := Problem{Message: msg}
		if n := c.tree.scalar(m[1]); n != nil {
			p.Line, p.Column = n.Line, n.Column
		}
		return []Problem{p}
	}
	if strings.HasPrefix(msg, "invalid label name: ") || strings.HasPrefix(msg, "invalid label value: ") {
		return []Problem{c.groupLabelProblem(msg)}
	}
	return []Problem{c.tree.yamlProblem(msg)}
}

// ruleProblem places an error rulefmt found in a rule: at the node it
// names, else at the label or annotation it is about, else at the rule.
func (c *groupCursor) ruleProblem(re *rulefmt.Error) Problem {
	inner := errors.Unwrap(errors.Unwrap(re))
	if inner == nil {
		inner = re
	}
	p := Problem{Message: fmt.Sprintf("group %q, rule %d, %q: %v", re.Group, re.Rule, re.RuleName, inner)}
	c.seekGroup(re.Group, re.Rule)
	if m := posPrefix.FindStringSubmatch(re.Err.Error()); m != nil && m[1] != "0" {
		p.Line, p.Column = atoi(m[1]), atoi(m[2])
		return p
	}
	rule := c.tree.rule(c.group, re.Rule-1)
	n := placeInRule(rule, inner.Error())
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	return p
}

// placeInRule finds the node of a rule an error without a place is about.
func placeInRule(rule *yaml.Node, msg string) *yaml.Node {
	for _, c := range []struct{ prefix, field string }{
		{"invalid label name: ", "labels"}, {"invalid annotation name: ", "annotations"},
	} {
		if name, ok := strings.CutPrefix(msg, c.prefix); ok {
			_, m := field(rule, c.field)
			if k, _ := field(m, name); k != nil {
				return k
			}
		}
	}
	if v, ok := strings.CutPrefix(msg, "invalid label value: "); ok {
		_, m := field(rule, "labels")
		if n := valueNode(m, v); n != nil {
			return n
		}
	}
	if m := templateOf.FindStringSubmatch(msg); m != nil {
		_, fs := field(rule, m[1]+"s")
		if _, v := field(fs, m[2]); v != nil {
			return v
		}
	}
	return rule
}

// groupLabelProblem places an invalid label of a group, which rulefmt
// reports without its place or group.
func (c *groupCursor) groupLabelProblem(msg string) Problem {
	p := Problem{Message: msg}
	name, isName := strings.CutPrefix(msg, "invalid label name: ")
	value, _ := strings.CutPrefix(msg, "invalid label value: ")
	for j := c.group; j < len(c.tree.groups()); j++ {
		_, m := field(c.tree.groups()[j], "labels")
		n := valueNode(m, value)
		if isName {
			n, _ = field(m, name)
		}
		if n != nil {
			c.group = j
			p.Line, p.Column = n.Line, n.Column
			break
		}
	}
	return p
}

// seekGroup moves the cursor to the first group from it on named name with
// at least rule rules.
func (c *groupCursor) seekGroup(name string, rule int) {
	gs := c.tree.groups()
	for j := c.group; j < len(gs); j++ {
		if _, v := field(gs[j], "name"); v != nil && v.Value == name && len(c.tree.rules(j)) >= rule {
			c.group = j
			return
		}
	}
}

// badGroup finds the group a group-level error is about: from the cursor
// on, the first without a name, or the first whose name an earlier group
// has.
func (c *groupCursor) badGroup(msg string) *yaml.Node {
	gs := c.tree.groups()
	seen := map[string]bool{}
	for j, g := range gs {
		_, v := field(g, "name")
		name := ""
		if v != nil {
			name = v.Value
		}
		repeated := seen[name]
		seen[name] = true
		if j < c.group {
			continue
		}
		if (strings.HasPrefix(msg, "Groupname must not be empty") && name == "") || (strings.HasPrefix(msg, "groupname:") && repeated) {
			c.group = j
			return g
		}
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// yamlTree is a rule file's YAML nodes, to find the place of what rulefmt
// reports without one. A file that does not parse is an empty tree.
type yamlTree struct{ root *yaml.Node }

func newYAMLTree(b []byte) yamlTree {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return yamlTree{}
	}
	return yamlTree{root: doc.Content[0]}
}

func (t yamlTree) groups() []*yaml.Node {
	_, gs := field(t.root, "groups")
	if gs == nil || gs.Kind != yaml.SequenceNode {
		return nil
	}
	return gs.Content
}

func (t yamlTree) rules(group int) []*yaml.Node {
	gs := t.groups()
	if group >= len(gs) {
		return nil
	}
	_, rs := field(gs[group], "rules")
	if rs == nil || rs.Kind != yaml.SequenceNode {
		return nil
	}
	return rs.Content
}

func (t yamlTree) rule(group, rule int) *yaml.Node {
	rs := t.rules(group)
	if rule < 0 || rule >= len(rs) {
		return nil
	}
	return rs[rule]
}

// yamlProblem places a YAML error ("line N: ..."): at its line, and at the
// column of the field it names when it names one ("field x not found").
func (t yamlTree) yamlProblem(msg string) Problem {
	p := Problem{Message: msg}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return p
	}
	p.Line, p.Message = atoi(m[1]), msg[len(m[0]):]
	if name, _, ok := strings.Cut(strings.TrimPrefix(p.Message, "field "), " not found"); ok && strings.HasPrefix(p.Message, "field ") {
		if k := t.keyAt(t.root, p.Line, name); k != nil {
			p.Column = k.Column
		}
	}
	return p
}

// keyAt finds the mapping key called name on line under n.
func (t yamlTree) keyAt(n *yaml.Node, line int, name string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Line == line && k.Value == name {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := t.keyAt(c, line, name); k != nil {
			return k
		}
	}
	return nil
}

// scalar finds the first scalar node holding v.
func (t yamlTree) scalar(v string) *yaml.Node {
	var find func(n *yaml.Node) *yaml.Node
	find = func(n *yaml.Node) *yaml.Node {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.ScalarNode && n.Value == v {
			return n
		}
		for _, c := range n.Content {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	return find(t.root)
}

// field returns the key and value nodes of key in mapping m.
func field(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// valueNode returns the first value node of mapping m holding v.
func valueNode(m *yaml.Node, v string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 1; i < len(m.Content); i += 2 {
		if m.Content[i].Value == v {
			return m.Content[i]
		}
	}
	return nil
}
