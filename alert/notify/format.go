package notify

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// batchStatus is the status of a batch: firing when any of it fires.
func batchStatus(ns []*Notification) string {
	for _, n := range ns {
		if n.Firing() {
			return StatusFiring
		}
	}
	return StatusResolved
}

// batchTitle is a batch's one-line title, as Alertmanager's default
// templates write it: "[FIRING:2] HighLatency".
func batchTitle(ns []*Notification) string {
	status := strings.ToUpper(batchStatus(ns))
	if len(ns) > 1 {
		status += ":" + strconv.Itoa(len(ns))
	}
	var names []string
	for _, n := range ns {
		if name := n.Labels["alertname"]; !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return "[" + status + "] " + strings.Join(names, ", ")
}

// summaryText is the notification's summary annotation, else its
// description, else its alert name.
func summaryText(n *Notification) string {
	for _, k := range []string{"summary", "description"} {
		if s := n.Annotations[k]; s != "" {
			return s
		}
	}
	return n.Labels["alertname"]
}

// formatValue formats the alert's value in as few digits as round-trip.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// jsonValue is v as a JSON number, or as a string ("NaN", "+Inf",
// "-Inf") where JSON has no number for it.
func jsonValue(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return formatValue(v)
	}
	return v
}

// truncate shortens s to at most limit bytes, ending in "..." when
// cut, without splitting a character.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// sortedLabelNames returns the label names sorted, alertname first.
func sortedLabelNames(labels map[string]string) []string {
	names := slices.Sorted(maps.Keys(labels))
	if i := slices.Index(names, "alertname"); i > 0 {
		copy(names[1:i+1], names[:i])
		names[0] = "alertname"
	}
	return names
}

// commonLabels returns the name/value pairs every map in ms shares.
func commonLabels(ms []map[string]string) map[string]string {
	common := map[string]string{}
	if len(ms) == 0 {
		return common
	}
	for k, v := range ms[0] {
		if allHave(ms[1:], k, v) {
			common[k] = v
		}
	}
	return common
}

// allHave reports whether every map in ms maps k to v.
func allHave(ms []map[string]string, k, v string) bool {
	for _, m := range ms {
		if w, ok := m[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// nonNilMap returns m, or an empty map when m is nil, so that JSON gets {}.
func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
