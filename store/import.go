package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Progress, when set, is called every ProgressEvery samples with the figures so far.
	Progress func(ImportResult)
	// ProgressEvery is the number of samples between Progress calls. Default 100,000.
	ProgressEvery int64
	// OpenMetrics forces the OpenMetrics parser. By default a text ending in
	// "# EOF" is OpenMetrics (timestamps in seconds) and any other is the
	// Prometheus text format (timestamps in milliseconds).
	OpenMetrics bool
}

// ImportResult counts what an Import did.
type ImportResult struct {
	Samples     int64         // appended
	Series      int64         // distinct series among them
	SkippedOld  int64         // older than the raw retention, not appended
	Rejected    int64         // refused by Append (out of order, limits, ...)
	Duration    time.Duration // time spent so far
	FirstErrors []string      // the first few rejections, for the report
}

// Rate returns samples appended per second.
func (r ImportResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Samples) / r.Duration.Seconds()
}

const maxReportedErrors = 10

// Import bulk-loads Prometheus text exposition or OpenMetrics from r,
// parsed by Prometheus' own parsers. The whole input is parsed before the
// first sample is appended, so a syntax error changes nothing. Samples
// without a timestamp get the current time. Finally it flushes.
func (db *DB) Import(r io.Reader, o ImportOptions) (ImportResult, error) {
	start := time.Now()
	b, err := io.ReadAll(r)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: read: %w", err)
	}
	contentType := "text/plain"
	if o.OpenMetrics || bytes.HasSuffix(bytes.TrimRight(b, " \t\r\n"), []byte("# EOF")) {
		contentType = "application/openmetrics-text"
	}
	if err := eachSample(b, contentType, func(Labels, *int64, float64) {}); err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	imp := importer{db: db, o: o, start: start, seen: map[uint64]struct{}{}, now: db.opts.Now().UnixMilli()}
	_ = eachSample(b, contentType, imp.add)
	imp.res.Duration = time.Since(start)
	if err := db.Flush(); err != nil {
		return imp.res, fmt.Errorf("import: %w", err)
	}
	imp.res.Duration = time.Since(start)
	return imp.res, nil
}

type importer struct {
	db    *DB
	o     ImportOptions
	res   ImportResult
	start time.Time
	now   int64
	seen  map[uint64]struct{}
}

func (imp *importer) add(ls Labels, ts *int64, v float64) {
	t := imp.now
	if ts != nil {
		t = *ts
	}
	if t < imp.now-imp.db.opts.RawRetention.Milliseconds() {
		imp.res.SkippedOld++
		return
	}
	if err := imp.db.Append(ls, t, v); err != nil {
		imp.res.Rejected++
		if len(imp.res.FirstErrors) < maxReportedErrors {
			imp.res.FirstErrors = append(imp.res.FirstErrors, err.Error())
		}
		return
	}
	imp.res.Samples++
	imp.seen[ls.normalize().hash()] = struct{}{}
	imp.res.Series = int64(len(imp.seen))
	every := imp.o.ProgressEvery
	if every <= 0 {
		every = 100_000
	}
	if imp.o.Progress != nil && imp.res.Samples%every == 0 {
		imp.res.Duration = time.Since(imp.start)
		imp.o.Progress(imp.res)
	}
}

// eachSample parses b and calls fn for every float sample. Native
// histograms have no place in the store and are a parse error.
func eachSample(b []byte, contentType string, fn func(Labels, *int64, float64)) error {
	p, err := textparse.New(b, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if p == nil {
		return fmt.Errorf("parser for %s: %w", contentType, err)
	}
	var lset labels.Labels
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		switch et {
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			p.Labels(&lset)
			fn(fromPromLabels(lset), ts, v)
		case textparse.EntryHistogram:
			return errors.New("parse: native histograms are not supported")
		}
	}
}

// fromPromLabels converts Prometheus labels, which are sorted, to Labels.
func fromPromLabels(l labels.Labels) Labels {
	ls := make(Labels, 0, l.Len())
	l.Range(func(lb labels.Label) { ls = append(ls, Label{lb.Name, lb.Value}) })
	return ls
}
