package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// AppendText appends the samples of Prometheus text exposition or
// OpenMetrics in b to the heads, as a live push: the collector's scrape of
// itself. Samples older than the raw retention are skipped and counted as
// too old; Import backfills them into the rollup tiers instead. The whole
// text is parsed (and, with Strict, checked) before the first sample is
// appended, so a syntax error changes nothing; nor does a full data
// volume, which refuses the whole text with an error wrapping ErrDiskFull.
func (db *DB) AppendText(b []byte, o ImportOptions) (ImportResult, error) {
	contentType := "text/plain"
	if o.OpenMetrics || bytes.HasSuffix(bytes.TrimRight(b, " \t\r\n"), []byte("# EOF")) {
		contentType = "application/openmetrics-text"
	}
	return db.AppendSamples(func(fn func(Labels, *int64, float64) error) error {
		return eachSample(b, contentType, fn)
	}, o)
}

// SampleSource calls fn for every sample of one input, in order, stopping
// at fn's first error and returning it; it must give the same samples each
// time it is called.
type SampleSource func(fn func(ls Labels, ts *int64, v float64) error) error

// AppendSamples appends every sample src gives, as AppendText does with a
// parsed text: under Strict, one bad sample or src's own error refuses the
// whole input and appends nothing. While the data volume is full (or after
// Close) it appends nothing and returns Writable's error; an input it has
// admitted is appended whole even if the volume fills meanwhile.
func (db *DB) AppendSamples(src SampleSource, o ImportOptions) (ImportResult, error) {
	start := time.Now()
	imp := pusher{db: db, o: o, start: start, seen: map[uint64]struct{}{}, now: db.opts.Now().UnixMilli()}
	if imp.o.Time == 0 {
		imp.o.Time = imp.now
	}
	if err := src(imp.check); err != nil {
		return ImportResult{}, err
	}
	if err := db.Writable(); err != nil {
		db.stats.refusedN(err, uint64(imp.n)) // #nosec G115 -- a count is never negative
		return ImportResult{}, err
	}
	_ = src(imp.add)
	imp.res.Duration = time.Since(start)
	return imp.res, nil
}

// pusher is AppendSamples under way.
type pusher struct {
	db    *DB
	o     ImportOptions
	res   ImportResult
	start time.Time
	now   int64
	n     int64 // samples seen by check
	seen  map[uint64]struct{}
}

// check vets one sample in the first pass; only Strict finds fault here.
func (imp *pusher) check(ls Labels, ts *int64, v float64) error {
	imp.n++
	if !imp.o.Strict || imp.skip(v) {
		return nil
	}
	err := imp.db.checkSample(ls, imp.time(ts), imp.now, v)
	if err != nil {
		return fmt.Errorf("sample %d (%s): %w", imp.n, ls, err)
	}
	return nil
}

func (imp *pusher) time(ts *int64) int64 {
	if ts != nil {
		return *ts
	}
	return imp.o.Time
}

// skip reports whether v is a non-finite value the options skip.
func (imp *pusher) skip(v float64) bool {
	return imp.o.SkipNonFinite && (math.IsNaN(v) || math.IsInf(v, 0))
}

func (imp *pusher) add(ls Labels, ts *int64, v float64) error {
	if imp.skip(v) {
		imp.res.SkippedNaN++
		return nil
	}
	t := imp.time(ts)
	if t < imp.now-imp.db.opts.RawRetention.Milliseconds() {
		imp.res.Tiers.TooOld++
		return nil
	}
	s, err := imp.db.insert(ls, t, v)
	if err != nil {
		imp.res.Rejected++
		if len(imp.res.FirstErrors) < maxReportedErrors {
			imp.res.FirstErrors = append(imp.res.FirstErrors, err.Error())
		}
		return nil
	}
	imp.res.Samples++
	imp.res.Tiers.Raw++
	imp.seen[s.hash] = struct{}{}
	imp.res.Series = int64(len(imp.seen))
	imp.progress()
	return nil
}

func (imp *pusher) progress() {
	every := imp.o.ProgressEvery
	if every <= 0 {
		every = 100_000
	}
	if imp.o.Progress != nil && imp.res.Samples%every == 0 {
		imp.res.Duration = time.Since(imp.start)
		imp.o.Progress(imp.res)
	}
}

// checkSample reports what Append would refuse in ls, t and v at the clock
// reading now, without appending, for inputs that must be taken whole or
// not at all. (An order conflict with what is stored is the one refusal it
// cannot foresee.)
func (db *DB) checkSample(ls Labels, t, now int64, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ErrNonFinite
	}
	if err := db.checkTime(t, now); err != nil {
		return err
	}
	return ls.normalize().validate(&db.opts)
}

// eachSample parses b and calls fn for every float sample, stopping at
// fn's first error. Native histograms have no place in the store and are
// a parse error.
func eachSample(b []byte, contentType string, fn func(Labels, *int64, float64) error) error {
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
			if err := fn(FromPrometheus(lset), ts, v); err != nil {
				return err
			}
		case textparse.EntryHistogram:
			return errors.New("parse: native histograms are not supported")
		}
	}
}

// FromPrometheus converts Prometheus labels, which are sorted, to Labels.
func FromPrometheus(l labels.Labels) Labels {
	ls := make(Labels, 0, l.Len())
	l.Range(func(lb labels.Label) { ls = append(ls, Label{lb.Name, lb.Value}) })
	return ls
}
