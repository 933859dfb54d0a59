package collector

import "sync"

// Values that stand in for label values a cap or a rule turned away.
const (
	// UnmatchedRoute is the route of requests no route matched, so scanners
	// probing random paths cannot create series.
	UnmatchedRoute = "<unmatched>"
	// OtherValue replaces a label value past its cap.
	OtherValue = "<other>"
)

// valueCap admits at most max distinct values per key (pages per service,
// routes per service) and, separately, at most maxKeys keys; values past a
// cap become OtherValue, so no client can grow the series count without bound.
type valueCap struct {
	mu      sync.RWMutex
	max     int
	maxKeys int
	seen    map[string]map[string]struct{}
}

func newValueCap(maxKeys, max int) *valueCap {
	return &valueCap{max: max, maxKeys: maxKeys, seen: map[string]map[string]struct{}{}}
}

// admit returns key and value, or OtherValue for whichever is past its cap.
func (c *valueCap) admit(key, value string) (string, string) {
	c.mu.RLock()
	_, known := c.seen[key][value]
	c.mu.RUnlock()
	if known {
		return key, value
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	vals, ok := c.seen[key]
	if !ok {
		if len(c.seen) >= c.maxKeys {
			key = OtherValue
		}
		if vals = c.seen[key]; vals == nil {
			vals = map[string]struct{}{}
			c.seen[key] = vals
		}
	}
	if _, known := vals[value]; !known && len(vals) >= c.max {
		return key, OtherValue
	}
	vals[value] = struct{}{}
	return key, value
}
