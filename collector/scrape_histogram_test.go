package collector

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"atroz/query"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// TestScrapeHistogramConsistent observes requests, all under 5 ms, while
// the collector scrapes itself and queries read what it stored, as the
// alert manager and the live overview do at the scrape's own moment. Every
// read must find each histogram whole at every timestamp it returns:
// all buckets, _count and _sum, its buckets never falling as le grows,
// its +Inf bucket equal to _count; and the p95 of the routes must stay in
// the first bucket. A read that saw a scrape half stored found the newest
// sample in the upper buckets and not yet in the lower ones, and reported
// a p95 of 2.425 s (1 s + 95% of the 1 s to 2.5 s bucket) for requests
// that took under a millisecond.
func TestScrapeHistogramConsistent(t *testing.T) {
	c, db, clock := clocked(t, nil)
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	eng := query.New(db, &query.Options{Now: now, CacheBytes: -1})
	stop := make(chan struct{})
	var work, readers sync.WaitGroup
	for w := range 4 {
		work.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.http.record(httpKey{"atroz", "/r" + strconv.Itoa((w*7+i)%20), "GET", 200}, 0.0005)
			}
		})
	}
	const q = `histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[1m])))`
	var bad atomic.Pointer[string]
	fail := func(s string) { bad.CompareAndSwap(nil, &s) }
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				at := clock.Load()
				if err := histogramsAt(db, "http_request_duration_seconds", at-10_000, at); err != nil {
					fail(err.Error())
				}
				v, _, err := eng.Instant(context.Background(), q, time.UnixMilli(at))
				if err != nil {
					fail(err.Error())
					continue
				}
				for _, s := range v.(promql.Vector) {
					if s.F > 0.005 {
						fail(fmt.Sprintf("p95 of %s is %g s at %d, for requests of 0.5 ms", s.Metric, s.F, at))
					}
				}
			}
		})
	}
	for i := 0; i < 40 && bad.Load() == nil; i++ {
		clock.Add(5000)
		if err := c.Scrape(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	work.Wait()
	readers.Wait()
	if p := bad.Load(); p != nil {
		t.Fatal(*p)
	}
	if err := histogramsAt(db, "http_request_duration_seconds", 0, clock.Load()); err != nil {
		t.Fatal(err)
	}
}

// histogramsAt returns why, at a timestamp db holds in [mint, maxt] for
// histogram metric, a histogram lacks a series, has a bucket below the
// one before, or a +Inf bucket other than its _count; nil if none does.
func histogramsAt(db *store.DB, metric string, mint, maxt int64) error {
	got, err := db.Select(store.Query{MinT: mint, MaxT: maxt, Matchers: []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchRegexp, "__name__", metric+"_(bucket|count|sum)"),
	}})
	if err != nil {
		return err
	}
	points := map[string]*histPoint{} // histogram labels and timestamp
	for _, s := range got {
		ls := labels.New(toPromLabels(s.Labels)...)
		key := labels.NewBuilder(ls).Del("__name__", "le").Labels().String()
		for _, smp := range s.Samples {
			k := key + "@" + strconv.FormatInt(smp.T, 10)
			p := points[k]
			if p == nil {
				p = &histPoint{buckets: map[float64]float64{}}
				points[k] = p
			}
			p.has++
			switch ls.Get("__name__") {
			case metric + "_count":
				p.count = smp.V
			case metric + "_sum":
				p.sum = smp.V
			default:
				le, _ := strconv.ParseFloat(ls.Get("le"), 64)
				p.buckets[le] = smp.V
			}
		}
	}
	for k, p := range points {
		if err := p.check(len(durationBuckets) + 3); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// histPoint is what one histogram held at one stored timestamp.
type histPoint struct {
	buckets    map[float64]float64
	count, sum float64
	has        int // series seen: buckets, _count and _sum
}

// check returns why p is not one consistent histogram of want series.
func (p *histPoint) check(want int) error {
	if p.has != want {
		return fmt.Errorf("%d of %d series stored", p.has, want)
	}
	prev := 0.0
	for _, le := range append(durationBuckets[:len(durationBuckets):len(durationBuckets)], math.Inf(1)) {
		if p.buckets[le] < prev {
			return fmt.Errorf("bucket le=%g holds %g, below the %g of the one before", le, p.buckets[le], prev)
		}
		prev = p.buckets[le]
	}
	if prev != p.count {
		return fmt.Errorf("+Inf bucket %g, _count %g", prev, p.count)
	}
	return nil
}

func toPromLabels(ls store.Labels) []labels.Label {
	out := make([]labels.Label, len(ls))
	for i, l := range ls {
		out[i] = labels.Label{Name: l.Name, Value: l.Value}
	}
	return out
}
