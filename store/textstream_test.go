package store

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// streamSample is a sample as a stream or a whole parse gives it.
type streamSample struct {
	ls string
	t  int64
	v  float64
}

// parseStream parses text in pieces of about pieceSz bytes with workers.
func parseStream(text string, pieceSz, workers int) ([]streamSample, error) {
	r := strings.NewReader(text)
	f, err := detectFormat(r, r.Size(), false)
	if err != nil {
		return nil, err
	}
	s := newTextStream(r, r.Size(), f, 42, workers)
	s.pieceSz = pieceSz
	var out []streamSample
	err = s.run(func(p *piece) error {
		for j, ref := range p.ref {
			ls, err := seriesLabels(p.series[ref], f)
			if err != nil {
				return err
			}
			out = append(out, streamSample{ls.String(), p.t[j], p.v[j]})
		}
		return nil
	})
	return out, err
}

// parseWhole parses text in one go, as AppendText does.
func parseWhole(text string) ([]streamSample, error) {
	ct := "text/plain"
	if strings.HasSuffix(strings.TrimRight(text, " \t\r\n"), "# EOF") {
		ct = "application/openmetrics-text"
	}
	var out []streamSample
	err := eachSample([]byte(text), ct, func(ls Labels, ts *int64, v float64) error {
		t := int64(42)
		if ts != nil {
			t = *ts
		}
		out = append(out, streamSample{ls.normalize().String(), t, v})
		return nil
	})
	return out, err
}

func sameSamples(a, b []streamSample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ls != b[i].ls || a[i].t != b[i].t || math.Float64bits(a[i].v) != math.Float64bits(b[i].v) {
			return false
		}
	}
	return true
}

// checkStream asserts that text parses in pieces as it does whole.
func checkStream(t *testing.T, text string, pieceSz, workers int) {
	t.Helper()
	whole, werr := parseWhole(text)
	got, serr := parseStream(text, pieceSz, workers)
	if strings.IndexByte(text, 0) >= 0 {
		if serr == nil {
			t.Fatalf("pieces of %d: a NUL byte let through\n%q", pieceSz, text)
		}
		return
	}
	switch {
	case werr != nil && serr == nil:
		t.Fatalf("pieces of %d: no error, whole parse: %v\n%q", pieceSz, werr, text)
	case werr == nil && serr != nil:
		for _, s := range whole {
			if strings.Contains(s.ls, `\n`) {
				return // a raw line feed in a quoted string, refused by design
			}
		}
		t.Fatalf("pieces of %d: %v, whole parse fine\n%q", pieceSz, serr, text)
	case werr == nil && !sameSamples(whole, got):
		t.Fatalf("pieces of %d: %d samples %v\nwhole: %d samples %v", pieceSz, len(got), got, len(whole), whole)
	}
}

func TestTextStreamPiecesParseAsWhole(t *testing.T) {
	var prom, om strings.Builder
	prom.WriteString("# HELP h Latency.\n# TYPE h histogram\n")
	om.WriteString("# HELP h Latency.\n# TYPE h histogram\n")
	for i := range 40 {
		// le="1" is "1.0" under a histogram's # TYPE: only a carried type line keeps it so.
		fmt.Fprintf(&prom, "h_bucket{le=\"1\",i=\"%d\"} %d %d\n", i%3, i, 1000+i)
		fmt.Fprintf(&om, "h_bucket{le=\"1\",i=\"%d\"} %d %d.5\n", i%3, i, 1000+i)
		if i == 20 {
			prom.WriteString("# TYPE s summary\n")
			om.WriteString("# TYPE s summary\n")
		}
		fmt.Fprintf(&prom, "s{quantile=\"0.5\"} %d\n\n", i)
		fmt.Fprintf(&om, "s{quantile=\"0.5\"} %d\n", i)
	}
	om.WriteString("# EOF\n")
	for _, text := range []string{prom.String(), om.String(), "a 1\nb{c=\"d\"} 2 3", "", "  # TYPE x counter\nx 1\n"} {
		for _, sz := range []int{1, 7, 64, 500, 1 << 20} {
			for _, workers := range []int{1, 3} {
				checkStream(t, text, sz, workers)
			}
		}
	}
}

func TestTextStreamErrors(t *testing.T) {
	f := func(text string, pieceSz int, want string) {
		t.Helper()
		_, err := parseStream(text, pieceSz, 2)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q in pieces of %d: %v, want %q", text, pieceSz, err, want)
		}
	}
	lines := strings.Repeat("ok 1\n", 30)
	f(lines+"bad{ 1\n"+lines, 16, "parse line 31: ")
	f(lines+"bad{ 1\n"+lines, 1<<20, "parse line 31: ")
	f("# TYPE a counter\na 1\n"+lines+"# EOF\nb 2\n# EOF\n", 32, "parse line 33: unexpected data after # EOF")
	f("a{b=\"x\ny\"} 1\n", 1<<20, "raw line feed")
	f("a{b=\"x\ny\"} 1\n", 8, "parse line")
	f("a 1\n"+strings.Repeat("x", maxLineBytes+1)+"\nb 1\n", 16, "longer than")
}

func TestTextStreamEmptyOpenMetrics(t *testing.T) {
	s := newTextStream(strings.NewReader(""), 0, formatOpenMetrics, 0, 1)
	if err := s.run(func(*piece) error { return nil }); err == nil || !strings.Contains(err.Error(), "# EOF") {
		t.Fatalf("empty OpenMetrics: %v, want the missing # EOF", err)
	}
}

// The stream holds a few pieces whatever the input's length: the buffers
// it makes stay near the piece size.
func TestTextStreamBoundedBuffers(t *testing.T) {
	r := &linesReader{lines: 200_000}
	s := newTextStream(r, r.Size(), formatProm, 0, 2)
	s.pieceSz = 4096
	n := 0
	if err := s.run(func(p *piece) error { n += len(p.ref); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != r.lines {
		t.Fatalf("read %d samples, want %d", n, r.lines)
	}
	if s.maxBuf > 2*4096+len(omEOF)+64 {
		t.Fatalf("a piece buffer of %d bytes for pieces of 4096", s.maxBuf)
	}
}

// linesReader is an input of fixed-width lines made as they are read, so
// a test can stream a large text without holding it.
type linesReader struct{ lines int }

const lineWidth = 32

func (r *linesReader) Size() int64 { return int64(r.lines) * lineWidth }

func (r *linesReader) line(i int) []byte {
	l := fmt.Appendf(nil, "m{s=\"%03d\"} %d %d", i%100, i, int64(i/100)*1000+1_700_000_000_000)
	return append(append(l, bytes.Repeat([]byte{' '}, lineWidth-1-len(l))...), '\n')
}

func (r *linesReader) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) && off+int64(n) < r.Size() {
		at := off + int64(n)
		l := r.line(int(at / lineWidth))
		n += copy(b[n:], l[at%lineWidth:])
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// FuzzTextStream holds the pieces to the whole: any text, cut anywhere,
// parses in pieces as it parses whole, or fails both ways.
func FuzzTextStream(f *testing.F) {
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 1 2\nh_count 3\n", uint16(7))
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 1 2.5\n# EOF\n", uint16(3))
	f.Add("a{b=\"c\\nd\"} 1\n\n# HELP a x\nb 2\n", uint16(1))
	f.Fuzz(func(t *testing.T, text string, pieceSz uint16) {
		checkStream(t, text, int(pieceSz)+1, 2)
	})
}
