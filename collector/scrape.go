package collector

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
)

// staleNaN is Prometheus' staleness marker: a series written with it ends
// there, and a query no longer finds its last value for five minutes.
var staleNaN = math.Float64frombits(value.StaleNaN)

// scrapeSeries is what the self-scrape remembers of one series.
type scrapeSeries struct {
	ls   store.Labels
	seen uint64 // the last scrape that held the series
}

// scrapeState holds the series of the last scrape, keyed by their text in
// the exposition, so a series gone from the next one gets a staleness
// marker, as Prometheus' scrape loop writes one.
type scrapeState struct {
	n      uint64 // scrapes so far
	series map[string]*scrapeSeries
	// last is the outcome of the last scrape, read without the scrape's lock.
	last atomic.Pointer[ScrapeStatus]
}

// ScrapeStatus is the outcome of one self-scrape, as Prometheus reports a
// target's last scrape.
type ScrapeStatus struct {
	// Time is when the scrape began.
	Time time.Time
	// Duration is how long it took.
	Duration time.Duration
	// Err is why it failed; nil when it succeeded.
	Err error
}

// LastScrape returns the outcome of the last self-scrape, and false
// before the first.
func (c *Collector) LastScrape() (ScrapeStatus, bool) {
	st := c.scraped.last.Load()
	if st == nil {
		return ScrapeStatus{}, false
	}
	return *st, true
}

// ScrapeInterval returns how often the collector scrapes itself.
func (c *Collector) ScrapeInterval() time.Duration { return c.opts.ScrapeInterval }

// record keeps the outcome of the scrape that began at start.
func (st *scrapeState) record(start time.Time, took time.Duration, err error) {
	st.last.Store(&ScrapeStatus{Time: start, Duration: took, Err: err})
}

// scrapeResult counts what one scrape appended and refused.
type scrapeResult struct {
	appended, refused, markers int
	first                      error
}

// refuse counts a refused sample; the first refusal is kept.
func (r *scrapeResult) refuse(err error) {
	r.refused++
	if r.first == nil {
		r.first = err
	}
}

// appendScrape appends the samples of text, Prometheus text exposition,
// at t (unix ms; a sample's own timestamp wins), then a staleness marker at
// t for every series of the previous scrape that text lacks.
func (st *scrapeState) appendScrape(db *store.DB, text []byte, t int64) (scrapeResult, error) {
	if st.series == nil {
		st.series = map[string]*scrapeSeries{}
	}
	st.n++
	var res scrapeResult
	err := eachSeries(text, func(p textparse.Parser) {
		raw, ts, v := p.Series()
		s := st.series[string(raw)]
		if s == nil {
			s = &scrapeSeries{ls: parsedLabels(p)}
			st.series[string(raw)] = s
		}
		s.seen = st.n
		at := t
		if ts != nil {
			at = *ts
		}
		res.add(db.Append(s.ls, at, v))
	})
	if err != nil {
		return res, err
	}
	st.markGone(db, t, &res)
	return res, nil
}

// eachSeries calls fn with the parser at each sample of text, Prometheus
// text exposition.
func eachSeries(text []byte, fn func(p textparse.Parser)) error {
	p, err := textparse.New(text, "text/plain", labels.NewSymbolTable(), textparse.ParserOptions{})
	if p == nil {
		return fmt.Errorf("parser: %w", err)
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		if et == textparse.EntrySeries {
			fn(p)
		}
	}
}

// markGone writes a staleness marker for each series the last scrape lacked, and forgets it.
func (st *scrapeState) markGone(db *store.DB, t int64, res *scrapeResult) {
	for k, s := range st.series {
		if s.seen == st.n {
			continue
		}
		delete(st.series, k)
		if err := db.Append(s.ls, t, staleNaN); err != nil {
			res.refuse(err)
			continue
		}
		res.markers++
	}
}

func (r *scrapeResult) add(err error) {
	if err != nil {
		r.refuse(err)
		return
	}
	r.appended++
}

// parsedLabels returns the labels of the parser's current series.
func parsedLabels(p textparse.Parser) store.Labels {
	var lset labels.Labels
	p.Labels(&lset)
	ls := make(store.Labels, 0, lset.Len())
	lset.Range(func(l labels.Label) { ls = append(ls, store.Label{Name: l.Name, Value: l.Value}) })
	return ls
}
