package slo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// File is an SLO file:
//
//	defaults: true          # the built-in SLOs per service; false drops them
//	slos:
//	  - name: checkout-availability
//	    service: checkout
//	    routes: [/api/pay]   # optional
//	    objective: 99.9      # percent
//	    window: 30d          # optional, 30d
//	    indicator: availability
//	  - name: checkout-latency
//	    service: checkout
//	    objective: 99
//	    indicator: latency
//	    threshold: 500ms     # a bound of the request-duration histogram
type File struct {
	// Defaults keeps the built-in SLOs (Defaults); true unless the file
	// says false.
	Defaults bool
	SLOs     []SLO
}

// Problem is an error in an SLO file at a line.
type Problem struct {
	File string
	Line int
	Err  error
}

func (p *Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", p.File, p.Line, p.Err)
	}
	return fmt.Sprintf("%s: %v", p.File, p.Err)
}

func (p *Problem) Unwrap() error { return p.Err }

// ErrNoSLOs is returned for a file that declares no SLO and keeps the defaults.
var ErrNoSLOs = errors.New("declares no SLO")

// Load reads and checks the SLO file at path; buckets are the
// request-duration histogram's bounds in seconds. Its error lists every
// problem, each at its line.
func Load(path string, buckets []float64) (*File, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the SLO file is the operator's setting
	if err != nil {
		return nil, fmt.Errorf("slo file: %w", err)
	}
	return Parse(b, path, buckets)
}

// Parse checks an SLO file's content; name is what its errors call it.
func Parse(b []byte, name string, buckets []float64) (*File, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&root); err != nil {
		return nil, &Problem{File: name, Err: err}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &Problem{File: name, Line: root.Line, Err: errors.New("not a mapping of slos and defaults")}
	}
	f := &File{Defaults: true}
	var errs []error
	add := func(line int, err error) { errs = append(errs, &Problem{File: name, Line: line, Err: err}) }
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "defaults":
			if err := v.Decode(&f.Defaults); err != nil {
				add(v.Line, fieldError("defaults", "must be true or false"))
			}
		case "slos":
			if v.Kind != yaml.SequenceNode {
				add(v.Line, fieldError("slos", "must be a list"))
				continue
			}
			for _, item := range v.Content {
				s, err := decodeSLO(item, buckets)
				if err != nil {
					add(item.Line, err)
					continue
				}
				f.SLOs = append(f.SLOs, s)
			}
		default:
			add(k.Line, fmt.Errorf("unknown field %q: slos or defaults", k.Value))
		}
	}
	errs = append(errs, f.checkNames(name, v(top, "slos"))...)
	if len(errs) == 0 && len(f.SLOs) == 0 && f.Defaults {
		errs = append(errs, &Problem{File: name, Err: ErrNoSLOs})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// v returns the value of key in mapping m, or nil.
func v(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var sloFields = []string{"name", "service", "routes", "objective", "window", "indicator", "threshold"}

// decodeSLO decodes and checks one SLO of the list.
func decodeSLO(n *yaml.Node, buckets []float64) (SLO, error) {
	var s SLO
	if n.Kind != yaml.MappingNode {
		return s, errors.New("an SLO must be a mapping")
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(sloFields, k) {
			return s, fmt.Errorf("unknown field %q", k)
		}
	}
	if err := n.Decode(&s); err != nil {
		return s, err
	}
	if err := s.validate(buckets); err != nil {
		if s.Name != "" {
			return s, fmt.Errorf("slo %q: %w", s.Name, err)
		}
		return s, err
	}
	return s, nil
}

// checkNames refuses two SLOs of one name, and a name of a built-in SLO
// while the defaults are kept.
func (f *File) checkNames(name string, list *yaml.Node) []error {
	var errs []error
	seen := map[string]bool{}
	if f.Defaults {
		for _, d := range Defaults() {
			seen[d.Name] = true
		}
	}
	for i, s := range f.SLOs {
		if seen[s.Name] {
			line := 0
			if list != nil && i < len(list.Content) {
				line = lineOf(list, s.Name)
			}
			errs = append(errs, &Problem{File: name, Line: line, Err: fmt.Errorf("slo %q: %w", s.Name,
				fieldError("name", "is taken by another SLO or a built-in one (defaults: false drops those)"))})
		}
		seen[s.Name] = true
	}
	return errs
}

// lineOf returns the line of the last SLO in list named name.
func lineOf(list *yaml.Node, name string) int {
	line := 0
	for _, item := range list.Content {
		if n := v(item, "name"); n != nil && n.Value == name {
			line = item.Line
		}
	}
	return line
}
