package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// A text input is parsed in pieces: runs of whole lines, each handed to
// Prometheus' textparse on its own, so memory holds a few pieces however
// long the input is, and pieces parse in parallel. A piece parses as it
// would inside the whole text because the parsers carry one thing from line
// to line, the metric type of the last # TYPE line (it decides whether an
// le or quantile label value is normalised, "1" to "1.0"): that line is put
// before the piece. An OpenMetrics piece that is not the last gets the
// "# EOF" the format ends with. A line feed inside a quoted string, which
// both formats require written as \n but the lexers let through, could be
// cut apart, so the pieces refuse it wherever it is; so with a NUL byte,
// at which the lexers stop as if the text ended.
const (
	// pieceBytes is the size a piece is cut at, on a line end.
	pieceBytes = 2 << 20
	// maxLineBytes bounds one line; a longer one is a syntax error.
	maxLineBytes = 4 << 20
)

// textFormat is the format of an input: the content type textparse knows it by.
type textFormat struct {
	contentType string
	openMetrics bool
}

var (
	formatProm        = textFormat{contentType: "text/plain"}
	formatOpenMetrics = textFormat{contentType: "application/openmetrics-text", openMetrics: true}
	omEOF             = []byte("# EOF\n")
)

// detectFormat returns OpenMetrics when forced or when the input's last
// non-blank line is "# EOF", and the Prometheus text format otherwise.
func detectFormat(r io.ReaderAt, size int64, forceOM bool) (textFormat, error) {
	if forceOM {
		return formatOpenMetrics, nil
	}
	tail := make([]byte, min(size, 256))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil && !errors.Is(err, io.EOF) {
		return textFormat{}, fmt.Errorf("read: %w", err)
	}
	if bytes.HasSuffix(bytes.TrimRight(tail, " \t\r\n"), []byte("# EOF")) {
		return formatOpenMetrics, nil
	}
	return formatProm, nil
}

// Metric type classes of a series key: the types whose labels textparse
// normalises, and all others.
const (
	classOther = iota
	classHistogram
	classSummary
	numClasses
)

func typeClass(t model.MetricType) uint8 {
	switch t {
	case model.MetricTypeHistogram:
		return classHistogram
	case model.MetricTypeSummary:
		return classSummary
	}
	return classOther
}

// piece is a run of whole lines of the input and what a worker parsed of it.
type piece struct {
	buf     []byte // the carried # TYPE line, the piece's lines, then "# EOF\n" if added
	ctxLen  int    // bytes of the carried line at the start of buf
	dataLen int    // bytes of the piece's own lines after it
	line    int64  // number of the piece's first line, from 1
	final   bool   // the piece ends the input

	// series are the distinct series of the piece in order of first
	// appearance, each as written (aliasing buf) with its type class.
	series []pieceSeries
	// Per sample: index into series, time, value, and where the series
	// text begins in the piece's lines (to name a refused sample's line).
	ref []uint32
	t   []int64
	v   []float64
	off []uint32

	err  error // the first syntax error, its line named
	done chan struct{}
	idx  [numClasses]map[string]uint32
}

type pieceSeries struct {
	raw   []byte
	class uint8
}

func (p *piece) data() []byte { return p.buf[p.ctxLen : p.ctxLen+p.dataLen] }

func (p *piece) reset() {
	p.buf, p.series = p.buf[:0], p.series[:0]
	p.ref, p.t, p.v, p.off = p.ref[:0], p.t[:0], p.v[:0], p.off[:0]
	p.err, p.final, p.ctxLen, p.dataLen = nil, false, 0, 0
	p.done = make(chan struct{})
	for i := range p.idx {
		if p.idx[i] == nil {
			p.idx[i] = map[string]uint32{}
		}
		clear(p.idx[i])
	}
}

// lineOf returns the number of the line at offset off of the piece's lines.
func (p *piece) lineOf(off uint32) int64 {
	data := p.data()
	return p.line + int64(bytes.Count(data[:min(int(off), len(data))], []byte{'\n'}))
}

// parse parses the piece; samples without a timestamp get defTime.
func (p *piece) parse(f textFormat, defTime int64) {
	defer close(p.done)
	if i := bytes.IndexByte(p.data(), 0); i >= 0 {
		// textparse's lexers take a NUL for the end of the input and would
		// drop the rest of the text without a word.
		p.err = fmt.Errorf("parse line %d: a NUL byte", p.lineOf(uint32(i))) // #nosec G115 -- a piece is under 4 GiB
		return
	}
	err := p.parseAll(f, defTime)
	var at rawLineFeedError
	switch {
	case errors.As(err, &at):
		p.err = fmt.Errorf("parse line %d: %w", p.lineOf(uint32(at)), errRawLineFeed)
	case err != nil:
		p.err = p.locate(f, err)
	}
}

func (p *piece) parseAll(f textFormat, defTime int64) error {
	tp, err := textparse.New(p.buf, f.contentType, nil, textparse.ParserOptions{})
	if tp == nil {
		return fmt.Errorf("parser for %s: %w", f.contentType, err)
	}
	class := uint8(classOther)
	for {
		et, err := tp.Next()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		switch et {
		case textparse.EntryType:
			name, t := tp.Type()
			if bytes.IndexByte(name, '\n') >= 0 {
				return rawLineFeedError(p.offset(name))
			}
			class = typeClass(t)
		case textparse.EntrySeries:
			raw, ts, v := tp.Series()
			if err := p.add(raw, class, ts, v, defTime); err != nil {
				return err
			}
		case textparse.EntryHistogram:
			return errors.New("native histograms are not supported")
		}
	}
}

var errRawLineFeed = errors.New("a quoted name or label value holds a raw line feed; write it as \\n")

// rawLineFeedError is errRawLineFeed where the piece's lines hold it, at
// an offset; a line-by-line parse would misplace it.
type rawLineFeedError uint32

func (e rawLineFeedError) Error() string { return errRawLineFeed.Error() }

// offset returns where b, a slice of the piece's buffer, begins in its
// lines: how much of the buffer's capacity b lacks.
func (p *piece) offset(b []byte) uint32 {
	return uint32(cap(p.buf) - cap(b) - p.ctxLen) // #nosec G115 -- a piece is under 4 GiB
}

// add records one sample of series raw.
func (p *piece) add(raw []byte, class uint8, ts *int64, v float64, defTime int64) error {
	id, ok := p.idx[class][string(raw)]
	if !ok {
		if bytes.IndexByte(raw, '\n') >= 0 {
			return rawLineFeedError(p.offset(raw))
		}
		id = uint32(len(p.series)) // #nosec G115 -- a piece holds far fewer than 2^32 series
		p.series = append(p.series, pieceSeries{raw, class})
		p.idx[class][string(raw)] = id
	}
	t := defTime
	if ts != nil {
		t = *ts
	}
	p.ref, p.t, p.v = append(p.ref, id), append(p.t, t), append(p.v, v)
	p.off = append(p.off, p.offset(raw))
	return nil
}

// locate names the line of a syntax error: each line parsed alone, with
// the type line in force before it, until one fails. An error no single
// line shows (a missing "# EOF") is returned as it is.
func (p *piece) locate(f textFormat, err error) error {
	data := p.data()
	ctx := p.buf[:p.ctxLen]
	var one []byte
	for line := p.line; len(data) > 0; line++ {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		l := data[:n]
		data = data[n:]
		one = append(append(one[:0], ctx...), l...)
		last := len(data) == 0 && p.final
		if f.openMetrics && !(last && bytes.Equal(bytes.TrimSpace(l), omEOF[:5])) {
			one = append(one, omEOF...)
		}
		if lerr := parseOne(one, f); lerr != nil {
			return fmt.Errorf("parse line %d: %w", line, lerr)
		}
		if isTypeLine(l) {
			ctx = l
		}
	}
	return fmt.Errorf("parse lines %d to %d: %w", p.line, p.line+int64(bytes.Count(p.data(), []byte{'\n'})), err)
}

// parseOne parses b whole and returns its first error.
func parseOne(b []byte, f textFormat) error {
	var one piece
	one.reset()
	one.buf = b
	one.dataLen = len(b)
	return one.parseAll(f, 0)
}

// isTypeLine reports whether line is a # TYPE line, as the lexers see one:
// "#", blanks, "TYPE", a blank.
func isTypeLine(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	if len(line) < 2 || line[0] != '#' || (line[1] != ' ' && line[1] != '\t') {
		return false
	}
	line = bytes.TrimLeft(line[1:], " \t")
	return len(line) > 4 && bytes.HasPrefix(line, []byte("TYPE")) && (line[4] == ' ' || line[4] == '\t')
}

// lastTypeLine returns the last # TYPE line of data, or nil. It looks for
// the word and then at its line, so a piece without one costs one scan
// (forwards: bytes.Index has a vectorised search, LastIndex has not).
func lastTypeLine(data []byte) []byte {
	var last []byte
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("TYPE"))
		if i < 0 {
			return last
		}
		i += off
		start := bytes.LastIndexByte(data[:i], '\n') + 1
		stop := i + bytes.IndexByte(data[i:], '\n') + 1
		if stop == i {
			stop = len(data)
		}
		if isTypeLine(data[start:stop]) {
			last = data[start:stop]
		}
		off = stop
	}
}

// seriesLabels returns the labels of a series as a piece recorded it,
// parsed from a line of its own under its type class.
func seriesLabels(ps pieceSeries, f textFormat) (Labels, error) {
	var b []byte
	switch ps.class {
	case classHistogram:
		b = append(b, "# TYPE x histogram\n"...)
	case classSummary:
		b = append(b, "# TYPE x summary\n"...)
	}
	b = append(append(b, ps.raw...), " 0\n"...)
	if f.openMetrics {
		b = append(b, omEOF...)
	}
	tp, err := textparse.New(b, f.contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if tp == nil {
		return nil, err
	}
	for {
		et, err := tp.Next()
		if err != nil {
			return nil, fmt.Errorf("labels of %q: %w", ps.raw, err)
		}
		if et == textparse.EntrySeries {
			var l labels.Labels
			tp.Labels(&l)
			return FromPrometheus(l).normalize(), nil
		}
	}
}

// textStream cuts an input into pieces, has workers parse them and hands
// them to a consumer in order. At most len(free) pieces exist at a time.
type textStream struct {
	r       io.ReaderAt
	size    int64
	f       textFormat
	defTime int64
	workers int
	pieceSz int // pieceBytes, smaller in tests

	free  chan *piece
	work  chan *piece
	order chan *piece
	quit  chan struct{}
	err   error // the splitter's read error
	// maxBuf is the largest piece buffer made, for tests of the memory bound.
	maxBuf int
}

func newTextStream(r io.ReaderAt, size int64, f textFormat, defTime int64, workers int) *textStream {
	return &textStream{r: r, size: size, f: f, defTime: defTime, workers: max(workers, 1), pieceSz: pieceBytes}
}

// run calls fn with every piece, in order, until fn or a piece fails; the
// piece is valid only during the call.
func (s *textStream) run(fn func(*piece) error) error {
	n := s.workers + 2
	s.free, s.work, s.order, s.quit = make(chan *piece, n), make(chan *piece, n), make(chan *piece, n), make(chan struct{})
	for range n {
		s.free <- &piece{}
	}
	var wg sync.WaitGroup
	wg.Go(s.split)
	for range s.workers {
		wg.Go(func() {
			for p := range s.work {
				p.parse(s.f, s.defTime)
			}
		})
	}
	err := s.consume(fn)
	close(s.quit)
	for range s.order { // let the splitter finish
	}
	wg.Wait()
	if err == nil {
		err = s.err
	}
	return err
}

func (s *textStream) consume(fn func(*piece) error) error {
	for p := range s.order {
		<-p.done
		if p.err != nil {
			return p.err
		}
		if err := fn(p); err != nil {
			return err
		}
		s.free <- p
	}
	return nil
}

// split reads the input piece by piece until its end, a read error or quit.
func (s *textStream) split() {
	defer close(s.order)
	defer close(s.work)
	off, line := int64(0), int64(1)
	var ctx []byte
	for first := true; first || off < s.size; first = false {
		var p *piece
		select {
		case p = <-s.free:
		case <-s.quit:
			return
		}
		p.reset()
		end, err := s.fill(p, ctx, off)
		if err != nil {
			s.err = err
			return
		}
		p.line = line
		line += int64(bytes.Count(p.data(), []byte{'\n'}))
		if l := lastTypeLine(p.data()); l != nil {
			ctx = append(ctx[:0], l...)
		}
		off = end
		select {
		case s.order <- p:
			s.work <- p
		case <-s.quit:
			return
		}
	}
}

// fill reads the piece starting at off into p after the carried line ctx,
// cut at the last line end, and returns where the next piece starts.
func (s *textStream) fill(p *piece, ctx []byte, off int64) (int64, error) {
	p.buf = append(p.buf, ctx...)
	p.ctxLen = len(ctx)
	want := s.pieceSz
	for {
		n := int(min(int64(want), s.size-off))
		p.buf = growTo(p.buf, p.ctxLen+n+len(omEOF))
		s.maxBuf = max(s.maxBuf, cap(p.buf))
		data := p.buf[p.ctxLen : p.ctxLen+n]
		if _, err := s.r.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read at %d: %w", off, err)
		}
		end := off + int64(n)
		if end == s.size {
			p.dataLen, p.final = n, true
			p.buf = p.buf[:p.ctxLen+n]
			return end, nil
		}
		if cut := bytes.LastIndexByte(data, '\n'); cut >= 0 {
			p.dataLen = cut + 1
			p.buf = p.buf[:p.ctxLen+p.dataLen]
			if s.f.openMetrics {
				p.buf = append(p.buf, omEOF...)
			}
			return off + int64(cut) + 1, nil
		}
		if want >= maxLineBytes {
			return 0, fmt.Errorf("a line at byte %d is longer than %d bytes", off, maxLineBytes)
		}
		want *= 2
	}
}

// growTo returns b with length n, keeping its contents.
func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, n+n/4)
		copy(nb, b)
		return nb
	}
	return b[:n]
}
