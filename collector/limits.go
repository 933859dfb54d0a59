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

// routeKey is one service's route.
type routeKey struct{ service, route string }

// codeCap keeps at most max distinct status codes apart per service and
// route; a code past the cap is folded into its class (5 for 5xx), so a
// route holds at most max+5 code values whatever codes are reported.
type codeCap struct {
	mu   sync.RWMutex
	max  int
	seen map[routeKey]map[int]struct{}
}

func newCodeCap(max int) *codeCap {
	return &codeCap{max: max, seen: map[routeKey]map[int]struct{}{}}
}

// admit returns code, or its class when the route has max other codes.
func (c *codeCap) admit(k routeKey, code int) int {
	c.mu.RLock()
	_, known := c.seen[k][code]
	c.mu.RUnlock()
	if known {
		return code
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	codes := c.seen[k]
	if codes == nil {
		codes = map[int]struct{}{}
		c.seen[k] = codes
	}
	if _, known := codes[code]; !known && len(codes) >= c.max {
		return code / 100
	}
	codes[code] = struct{}{}
	return code
}
