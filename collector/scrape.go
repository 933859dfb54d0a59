package collector

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
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
	ls store.Labels
	// group names the histogram the series belongs to (its family and
	// labels but le), or the series alone: the series of one group are
	// stored in one batch, so no read finds some of a histogram's buckets
	// at a scrape's time and not the others.
	group string
	seen  uint64 // the last scrape that held the series
}

// scrapeState holds the series of the last scrape, keyed by their text in
// the exposition, so a series gone from the next one gets a staleness
// marker, as Prometheus' scrape loop writes one.
type scrapeState struct {
	n      uint64 // scrapes so far
	series map[string]*scrapeSeries
	batch  scrapeBatch // reused from scrape to scrape
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
// t for every series of the previous scrape that text lacks. The series of
// one histogram, which the exposition writes together from one snapshot,
// are appended in one batch (store.DB.AppendAll): a read sees all of its
// buckets, _sum and _count at t or none, and the store takes them all or
// refuses them all.
func (st *scrapeState) appendScrape(db *store.DB, text []byte, t int64) (scrapeResult, error) {
	if st.series == nil {
		st.series = map[string]*scrapeSeries{}
	}
	st.n++
	var res scrapeResult
	b := &st.batch
	b.group = ""
	err := eachSeries(text, func(p textparse.Parser) {
		raw, ts, v := p.Series()
		s := st.series[string(raw)]
		if s == nil {
			ls := parsedLabels(p)
			s = &scrapeSeries{ls: ls, group: groupOf(ls)}
			st.series[string(raw)] = s
		}
		s.seen = st.n
		at := t
		if ts != nil {
			at = *ts
		}
		if s.group != b.group {
			b.flush(db, &res)
			b.group = s.group
		}
		b.add(s.ls, at, v)
	})
	b.flush(db, &res)
	if err != nil {
		return res, err
	}
	st.markGone(db, t, &res)
	return res, nil
}

// scrapeBatch gathers the samples of one group of series.
type scrapeBatch struct {
	group string
	items []store.SeriesSamples
	// vals holds the items' samples, one each: a slice grown anew leaves
	// the earlier items on the old array, which holds their values still.
	vals []store.Sample
}

func (b *scrapeBatch) add(ls store.Labels, t int64, v float64) {
	b.vals = append(b.vals, store.Sample{T: t, V: v})
	n := len(b.vals)
	b.items = append(b.items, store.SeriesSamples{Labels: ls, Samples: b.vals[n-1 : n : n]})
}

// flush appends the batch whole, or counts all of it refused.
func (b *scrapeBatch) flush(db *store.DB, res *scrapeResult) {
	if len(b.items) == 0 {
		return
	}
	if err := appendBatch(db, b.items); err != nil {
		res.refused += len(b.items) - 1
		res.refuse(err)
	} else {
		res.appended += len(b.items)
	}
	clear(b.items)
	b.items, b.vals = b.items[:0], b.vals[:0]
}

// appendBatch appends items whole: a lone sample by itself, which a read
// sees or not as it is, more of them in one batch.
func appendBatch(db *store.DB, items []store.SeriesSamples) error {
	if len(items) == 1 {
		smp := items[0].Samples[0]
		return db.Append(items[0].Labels, smp.T, smp.V)
	}
	return db.AppendAll(items)
}

// histogramSuffixes are the endings of a Prometheus histogram's series names.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// groupOf returns the group of the series ls: its metric family, a
// histogram's suffix cut, and its labels but le.
func groupOf(ls store.Labels) string {
	var b strings.Builder
	for _, l := range ls {
		switch l.Name {
		case "le":
			continue
		case store.MetricName:
			b.WriteString(trimAny(l.Value, histogramSuffixes))
		default:
			b.WriteString(l.Name)
			b.WriteByte(0)
			b.WriteString(l.Value)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// trimAny returns s without the first of suffixes it ends with.
func trimAny(s string, suffixes []string) string {
	for _, suf := range suffixes {
		if t, ok := strings.CutSuffix(s, suf); ok {
			return t
		}
	}
	return s
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

// markGone writes a staleness marker for each series the last scrape
// lacked, all in one batch, so a histogram that went ends whole, and
// forgets them.
func (st *scrapeState) markGone(db *store.DB, t int64, res *scrapeResult) {
	var gone []store.SeriesSamples
	for k, s := range st.series {
		if s.seen == st.n {
			continue
		}
		delete(st.series, k)
		gone = append(gone, store.SeriesSamples{Labels: s.ls, Samples: []store.Sample{{T: t, V: staleNaN}}})
	}
	if len(gone) == 0 {
		return
	}
	if err := db.AppendAll(gone); err != nil {
		res.refused += len(gone) - 1
		res.refuse(err)
		return
	}
	res.markers += len(gone)
}

// parsedLabels returns the labels of the parser's current series.
func parsedLabels(p textparse.Parser) store.Labels {
	var lset labels.Labels
	p.Labels(&lset)
	ls := make(store.Labels, 0, lset.Len())
	lset.Range(func(l labels.Label) { ls = append(ls, store.Label{Name: l.Name, Value: l.Value}) })
	return ls
}
