package collector

import (
	"bytes"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/textparse"
)

// reserve sets aside room in the store for the series of the metrics
// register creates, before the real ones are created: the payload that
// creates them is acknowledged now and its samples appended at the next
// scrape, which must not find the series limit reached by then. The
// series are found by registering the metrics in a scratch Set and
// parsing what it writes, so they are exactly those the scrape appends.
func (c *Collector) reserve(register func(set *metrics.Set)) error {
	scratch := metrics.NewSet()
	register(scratch)
	var b bytes.Buffer
	scratch.WritePrometheus(&b)
	lsets, err := exposedSeries(b.Bytes())
	if err != nil {
		return err
	}
	return c.db.ReserveSeries(lsets)
}

// exposedSeries returns the labels of every series in Prometheus text exposition.
func exposedSeries(text []byte) ([]store.Labels, error) {
	var out []store.Labels
	err := eachSeries(text, func(p textparse.Parser) { out = append(out, parsedLabels(p)) })
	return out, err
}
