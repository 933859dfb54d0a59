package collector

import (
	"fmt"
	"testing"
)

func TestCodeCapFoldsIntoClasses(t *testing.T) {
	c := newCodeCap(2)
	k := routeKey{"billing", "/x"}
	f := func(code, want int) {
		t.Helper()
		if got := c.admit(k, code); got != want {
			t.Fatalf("admit(%d) = %d, want %d", code, got, want)
		}
	}
	f(200, 200)
	f(503, 503)
	f(200, 200)
	f(404, 4)
	f(599, 5)
	f(503, 503)
	if got := c.admit(routeKey{"billing", "/y"}, 404); got != 404 {
		t.Fatalf("another route's first code became %d", got)
	}
	if got := (httpKey{code: 5}).codeLabel(); got != "5xx" {
		t.Fatalf("class label %q", got)
	}
}

// TestMethodStatusVariantsAreBounded reports 180,000 request events
// through one token, every method with every status code on 40 routes: the
// label sets kept stay within 40 routes × 9 methods × (10 codes + 5
// classes), and every one of them is stored.
func TestMethodStatusVariantsAreBounded(t *testing.T) {
	c, db := newLimited(t, 0)
	mustScrape(t, c)
	own := db.Stats().Series
	ms := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
	sent := 0
	for r := range 40 {
		var batch []RequestEvent
		for _, m := range ms {
			for code := 100; code <= 599; code++ {
				batch = append(batch, RequestEvent{Service: "billing", Route: fmt.Sprintf("/r%d", r), Method: m, Status: code, DurationMs: 1, Timestamp: testNow.UnixMilli()})
			}
		}
		if err := c.RecordRequests(batch); err != nil {
			t.Fatalf("route %d: %v", r, err)
		}
		sent += len(batch)
	}
	keys := len(c.http.series.m)
	if limit := 40 * 9 * 15; sent != 180_000 || keys > limit {
		t.Fatalf("%d events kept %d label sets, want at most %d", sent, keys, limit)
	}
	mustScrape(t, c)
	// A key's counter, its route and method's histogram (shared by its
	// codes: 15 series) and the service's freshness gauge.
	if got, limit := db.Stats().Series-own, 40*9*15+40*9*15+1; got > limit {
		t.Fatalf("%d series stored, want at most %d", got, limit)
	}
}
