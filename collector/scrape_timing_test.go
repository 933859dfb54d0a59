package collector

import (
	"strconv"
	"testing"
)

// BenchmarkScrape scrapes a collector holding 50 routes of request metrics
// (a histogram of 15 series and a counter each) beside its own runtime and
// store metrics, about 1,000 series, into a store, a second apart.
// go test ./collector -run '^$' -bench 'Scrape' -count 6 | benchstat
func BenchmarkScrape(b *testing.B) {
	c, _, clock := clocked(b, nil)
	for i := range 50 {
		c.http.record(httpKey{"atroz", "/r" + strconv.Itoa(i), "GET", 200}, 0.003)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clock.Add(1000)
		if err := c.Scrape(); err != nil {
			b.Fatal(err)
		}
	}
}
