package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// MetricName is the label that holds a series' metric name.
const MetricName = "__name__"

// Label is one name/value pair of a series.
type Label struct {
	Name, Value string
}

// Labels identify a series: name/value pairs sorted by name, with MetricName among them.
type Labels []Label

// Get returns the value of the label called name, or "".
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// String formats ls as name{a="b",...}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteString(ls.Get(MetricName))
	b.WriteByte('{')
	first := true
	for _, l := range ls {
		if l.Name == MetricName {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// Equal reports whether ls and o hold the same pairs in the same order.
func (ls Labels) Equal(o Labels) bool {
	if len(ls) != len(o) {
		return false
	}
	for i := range ls {
		if ls[i] != o[i] {
			return false
		}
	}
	return true
}

// Prometheus returns ls as Prometheus labels.
func (ls Labels) Prometheus() labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	return b.Labels()
}

// clone copies ls into memory of its own, the values in one string.
func (ls Labels) clone() Labels {
	n := 0
	for _, l := range ls {
		n += len(l.Name) + len(l.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range ls {
		b.WriteString(l.Name)
		b.WriteString(l.Value)
	}
	all := b.String()
	out := make(Labels, len(ls))
	for i, l := range ls {
		out[i].Name, all = all[:len(l.Name)], all[len(l.Name):]
		out[i].Value, all = all[:len(l.Value)], all[len(l.Value):]
	}
	return out
}

func (ls Labels) hash() uint64 {
	var d xxhash.Digest
	d.Reset()
	sep := []byte{0xff}
	for _, l := range ls {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(sep)
	}
	return d.Sum64()
}

func (ls Labels) sorted() bool {
	for i := 1; i < len(ls); i++ {
		if ls[i-1].Name >= ls[i].Name {
			return false
		}
	}
	return true
}

// normalize returns ls sorted by name without empty values (an empty value
// means the label is absent, as in Prometheus), copying only when needed.
func (ls Labels) normalize() Labels {
	if ls.sorted() && !ls.hasEmpty() {
		return ls
	}
	c := slices.DeleteFunc(slices.Clone(ls), func(l Label) bool { return l.Value == "" })
	slices.SortStableFunc(c, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	return c
}

func (ls Labels) hasEmpty() bool {
	for _, l := range ls {
		if l.Value == "" {
			return true
		}
	}
	return false
}

// validate checks sorted labels against the limits in o.
func (ls Labels) validate(o *Options) error {
	if len(ls) > o.MaxLabels {
		return fmt.Errorf("%w: %d labels, limit %d", ErrTooManyLabels, len(ls), o.MaxLabels)
	}
	hasName, size := false, 0
	for i, l := range ls {
		if err := l.validate(o); err != nil {
			return err
		}
		if size += len(l.Name) + len(l.Value); size > o.MaxLabelBytes {
			return fmt.Errorf("%w: label names and values of more than %d bytes together", ErrLabelTooLong, o.MaxLabelBytes)
		}
		if i > 0 && ls[i-1].Name == l.Name {
			return fmt.Errorf("%w: label %q appears twice", ErrInvalidLabels, l.Name)
		}
		hasName = hasName || l.Name == MetricName
	}
	if !hasName {
		return fmt.Errorf("%w: no %s label", ErrInvalidLabels, MetricName)
	}
	return nil
}

func (l Label) validate(o *Options) error {
	switch {
	case l.Name == "":
		return fmt.Errorf("%w: empty label name", ErrInvalidLabels)
	case len(l.Name) > o.MaxLabelNameLength:
		return fmt.Errorf("%w: label name of %d bytes, limit %d", ErrLabelTooLong, len(l.Name), o.MaxLabelNameLength)
	case len(l.Value) > o.MaxLabelValueLength:
		return fmt.Errorf("%w: label %q value of %d bytes, limit %d", ErrLabelTooLong, l.Name, len(l.Value), o.MaxLabelValueLength)
	case !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value):
		return fmt.Errorf("%w: label %q is not valid UTF-8", ErrInvalidLabels, l.Name)
	}
	return nil
}

// appendLabels encodes ls as uvarint(count) then uvarint(len) bytes for each name and value.
func appendLabels(b []byte, ls Labels) []byte {
	b = binary.AppendUvarint(b, uint64(len(ls)))
	for _, l := range ls {
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		b = binary.AppendUvarint(b, uint64(len(l.Value)))
		b = append(b, l.Value...)
	}
	return b
}

// decodeLabels decodes what appendLabels wrote; the result is checked to be sorted and unique.
func decodeLabels(b []byte) (Labels, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: label count", ErrCorrupt)
	}
	ls := make(Labels, 0, n)
	for i := uint64(0); i < n; i++ {
		name, value := d.str(), d.str()
		if d.err != nil {
			return nil, fmt.Errorf("%w: label %d: %v", ErrCorrupt, i, d.err)
		}
		ls = append(ls, Label{Name: name, Value: value})
	}
	if !d.done() {
		return nil, fmt.Errorf("%w: %d trailing bytes after labels", ErrCorrupt, len(d.b))
	}
	if !ls.sorted() {
		return nil, fmt.Errorf("%w: labels not sorted", ErrCorrupt)
	}
	return ls, nil
}
