package collector

import (
	"fmt"
	"testing"
)

// BenchmarkRecordRequests records a batch of 100 request events of label
// sets seen before (10 routes, 2 methods, 5 codes): the steady state, where
// every event passes the route and code caps and reserves nothing.
// go test ./collector -run '^$' -bench 'RecordRequests|RecordBeacon|Gin' -count 6 | benchstat
func BenchmarkRecordRequests(b *testing.B) {
	c, _ := newTest(b, nil)
	events := make([]RequestEvent, 100)
	for i := range events {
		events[i] = RequestEvent{Service: "billing", Route: fmt.Sprintf("/r%d", i%10), Method: []string{"GET", "POST"}[i%2], Status: []int{200, 201, 404, 500, 503}[i%5], DurationMs: 3, Timestamp: testNow.UnixMilli()}
	}
	if err := c.RecordRequests(events); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.RecordRequests(events); err != nil {
			b.Fatal(err)
		}
	}
}
