package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// ImportOptions configure Import, ImportFrom and AppendText.
type ImportOptions struct {
	// Progress, when set, is called every ProgressEvery samples with the figures so far.
	Progress func(ImportResult)
	// ProgressEvery is the number of samples between Progress calls. Default 100,000.
	ProgressEvery int64
	// OpenMetrics forces the OpenMetrics parser. By default a text ending in
	// "# EOF" is OpenMetrics (timestamps in seconds) and any other is the
	// Prometheus text format (timestamps in milliseconds).
	OpenMetrics bool
	// Strict refuses the whole input, storing nothing, when any sample is
	// refused: a non-finite value, a timestamp too far ahead or older than
	// every tier, labels the store would refuse, a new series past
	// MaxSeries, or a sample out of order. The error is a *RefusedError
	// counting the refused samples by reason and naming the first one's
	// line. Without it such samples are skipped (too old) or rejected one by
	// one and counted.
	Strict bool
	// Time is the timestamp (unix ms) of samples that carry none. Default: now.
	Time int64
	// SkipNonFinite skips NaN and infinite values (Prometheus' staleness
	// markers among them) and counts them, instead of refusing or rejecting
	// them.
	SkipNonFinite bool
	// TempDir is where Import spools an input it cannot read twice (a pipe,
	// a request body) once it passes spoolMemBytes. Default os.TempDir().
	TempDir string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Samples    int64            `json:"samples"`               // stored, in every tier
	Series     int64            `json:"series"`                // distinct series among them
	Tiers      TierCounts       `json:"tiers"`                 // where the samples went
	Rejected   int64            `json:"rejected"`              // refused (out of order, limits, ...)
	RejectedBy map[string]int64 `json:"rejected_by,omitempty"` // the refused by reason, as Stats.Refused names them
	SkippedNaN int64            `json:"skipped_nan"`           // NaN or infinite, skipped under SkipNonFinite
	// Checked is how many samples the check pass has read, while it runs.
	Checked     int64         `json:"-"`
	Duration    time.Duration `json:"-"` // time spent so far
	FirstErrors []string      `json:"errors,omitempty"`
}

// TierCounts say where an import put its samples: each sample counts once,
// in the finest tier that still keeps its time.
type TierCounts struct {
	// Raw samples are within the raw retention: kept as they are, and folded
	// into the rollups as every raw sample is.
	Raw int64 `json:"raw"`
	// Minute samples are older than the raw retention: folded into the
	// 1-minute and 1-hour points.
	Minute int64 `json:"1m"`
	// Hour samples are older than the 1-minute retention: folded into the
	// 1-hour points.
	Hour int64 `json:"1h"`
	// TooOld samples are older than every tier's retention: skipped.
	TooOld int64 `json:"too_old"`
}

// Rate returns samples stored per second.
func (r ImportResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Samples) / r.Duration.Seconds()
}

const maxReportedErrors = 10

// spoolMemBytes is how much of an input Import keeps in memory before it
// spools the input to a temporary file.
const spoolMemBytes = 1 << 20

// Import bulk-loads Prometheus text exposition or OpenMetrics from r, as
// ImportFrom does. An r that ImportFrom can read twice (a file, a
// bytes.Reader) is read in place; any other is spooled first: in memory
// up to 1 MiB, past that to a file in ImportOptions.TempDir, removed at
// the end.
func (db *DB) Import(r io.Reader, o ImportOptions) (ImportResult, error) {
	ra, size, done, err := rereadable(r, o.TempDir)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	defer done()
	return db.ImportFrom(ra, size, o)
}

// ImportFrom bulk-loads Prometheus text exposition or OpenMetrics, the
// first size bytes of r.
//
// It reads the input twice, as a stream: memory holds a few pieces of it
// and some state per series, whatever its length. The first pass parses
// it with Prometheus' textparse and checks every sample against the store
// without changing anything, so a syntax error (or, with Strict, any
// refused sample) returns having stored nothing. The second pass parses
// it again and writes. A sample older than the raw retention is folded
// into the rollup tiers that still keep its time; see TierCounts.
//
// A series' samples must be in time order and, in the store, come after
// everything the series holds (an append) or before everything it holds in
// every tier (a backfill of its past); a sample in between is out of order.
// A series with few samples in the input (a chunk's worth or fewer) gets
// them appended to its head, as Append does, durable after the next
// flush; one with more gets whole chunks and rollup blocks written
// directly, in transactions of about 8 MiB, durable when ImportFrom
// returns (and not forwarded to Options.OnFlush). Writing holds off
// flushes and other imports; see the README's import section for how the
// two passes keep the promise of a refused import.
func (db *DB) ImportFrom(r io.ReaderAt, size int64, o ImportOptions) (ImportResult, error) {
	if err := db.Writable(); err != nil {
		return ImportResult{}, err
	}
	imp, err := db.newImporter(r, size, o)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	res, err := imp.run()
	db.encodeAll.Store(true) // its chunks may lie before a series' blocks
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	return res, nil
}

// rereadable returns r as an io.ReaderAt and its size, spooling it when it
// is not one, and a function that releases the spool.
func rereadable(r io.Reader, dir string) (io.ReaderAt, int64, func(), error) {
	nop := func() {}
	switch v := r.(type) {
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return v, fi.Size(), nop, nil
		}
	case interface {
		io.ReaderAt
		Size() int64
	}:
		return v, v.Size(), nop, nil
	}
	head, err := io.ReadAll(io.LimitReader(r, spoolMemBytes+1))
	if err != nil {
		return nil, 0, nop, fmt.Errorf("read: %w", err)
	}
	if len(head) <= spoolMemBytes {
		return bytes.NewReader(head), int64(len(head)), nop, nil
	}
	return spool(head, r, dir)
}

// spool writes head and the rest of r to a temporary file in dir.
func spool(head []byte, r io.Reader, dir string) (io.ReaderAt, int64, func(), error) {
	f, err := os.CreateTemp(dir, "atroz-import-*")
	if err != nil {
		return nil, 0, func() {}, fmt.Errorf("spool: %w", err)
	}
	done := func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	n, err := io.Copy(f, io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		done()
		return nil, 0, func() {}, fmt.Errorf("spool: %w", err)
	}
	return f, n, done, nil
}

// importer is one Import under way.
type importer struct {
	db    *DB
	o     ImportOptions
	src   io.ReaderAt
	size  int64
	f     textFormat
	start time.Time
	now   int64 // the clock when the import began: every sample is judged by it
	cuts  tierCuts

	byKey  [numClasses]map[string]*impSeries // by the series as written
	byHash map[uint64][]*impSeries           // by labels
	list   []*impSeries                      // in order of first appearance
	fresh  int                               // series new to the store

	// headBuffered counts the samples kept for appending to heads.
	headBuffered int

	pass int          // 1 checks, 2 writes
	res  ImportResult // of the pass under way
	ref  refusals
	w    writer
	// resolved is scratch: a piece's series, resolved.
	resolved []*impSeries
	// maxBuf is the largest piece buffer the passes made, for tests.
	maxBuf int
}

func (db *DB) newImporter(r io.ReaderAt, size int64, o ImportOptions) (*importer, error) {
	f, err := detectFormat(r, size, o.OpenMetrics)
	if err != nil {
		return nil, err
	}
	imp := &importer{db: db, o: o, src: r, size: size, f: f, start: time.Now(), now: db.opts.Now().UnixMilli(), byHash: map[uint64][]*impSeries{}}
	if imp.o.Time == 0 {
		imp.o.Time = imp.now
	}
	imp.cuts = db.tierCuts(imp.now)
	for i := range imp.byKey {
		imp.byKey[i] = map[string]*impSeries{}
	}
	imp.w.init(imp)
	return imp, nil
}

// run checks, then writes.
func (imp *importer) run() (ImportResult, error) {
	if err := imp.passOver(1, imp.check); err != nil {
		return ImportResult{}, err
	}
	checked := imp.res
	if imp.o.Strict && imp.ref.total > 0 {
		return ImportResult{}, imp.refusedError(checked)
	}
	return imp.write()
}

// passOver reads the whole input once, calling sample for every sample of
// every piece after resolving the piece's series.
func (imp *importer) passOver(pass int, sample func(sp *impSeries, p *piece, j int) error) error {
	imp.pass, imp.res, imp.ref = pass, ImportResult{}, refusals{}
	for _, sp := range imp.list {
		sp.seen = false
	}
	s := newTextStream(imp.src, imp.size, imp.f, imp.o.Time, runtime.GOMAXPROCS(0))
	err := s.run(func(p *piece) error {
		if err := imp.resolve(p); err != nil {
			return err
		}
		for j, ref := range p.ref {
			if err := sample(imp.resolved[ref], p, j); err != nil {
				return err
			}
		}
		return nil
	})
	imp.maxBuf = max(imp.maxBuf, s.maxBuf)
	return err
}

// progress calls the Progress option every ProgressEvery samples read.
func (imp *importer) progress(read int64) {
	every := imp.o.ProgressEvery
	if every <= 0 {
		every = 100_000
	}
	if imp.o.Progress != nil && read%every == 0 {
		r := imp.res
		if imp.pass == 1 {
			r = ImportResult{Checked: imp.res.Checked} // nothing is stored yet
		}
		r.Duration = time.Since(imp.start)
		imp.o.Progress(r)
	}
}

// refusedError is a strict import's refusal, from the check's counts.
func (imp *importer) refusedError(checked ImportResult) error {
	total := checked.Samples + checked.Rejected + checked.SkippedNaN + checked.Tiers.TooOld
	e := &RefusedError{Total: int(total), First: imp.ref.first}
	for i, n := range imp.ref.counts {
		if n > 0 {
			e.Reasons = append(e.Reasons, RefusedCount{refuseReasons[i].err, refuseReasons[i].name, int(n)})
			imp.db.stats.refusedN(refuseReasons[i].err, uint64(n)) // #nosec G115 -- a count is never negative
		}
	}
	return e
}

// refusals count the refused samples of a pass by reason.
type refusals struct {
	counts []int64 // by index in refuseReasons
	total  int64
	first  error
}

// refuse counts one sample refused with reason (one of the package's
// errors), describing it when it is among the first.
func (imp *importer) refuse(sp *impSeries, reason error, p *piece, j int) {
	i := reasonIndex(reason)
	if imp.ref.counts == nil {
		imp.ref.counts = make([]int64, len(refuseReasons))
	}
	imp.ref.counts[i]++
	imp.ref.total++
	imp.res.Rejected++
	if imp.res.RejectedBy == nil {
		imp.res.RejectedBy = map[string]int64{}
	}
	imp.res.RejectedBy[refuseReasons[i].name]++
	if imp.ref.first != nil && len(imp.res.FirstErrors) >= maxReportedErrors {
		return
	}
	err := fmt.Errorf("line %d: %w", p.lineOf(p.off[j]), sp.describe(reason, p.t[j], p.v[j], imp))
	if imp.ref.first == nil {
		imp.ref.first = err
	}
	if len(imp.res.FirstErrors) < maxReportedErrors {
		imp.res.FirstErrors = append(imp.res.FirstErrors, err.Error())
	}
}

func reasonIndex(err error) int {
	for i, r := range refuseReasons {
		if errors.Is(err, r.err) {
			return i
		}
	}
	return 0
}
