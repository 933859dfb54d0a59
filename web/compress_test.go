package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/zstd"
)

// queryRangeAnswer is a query_range answer the size of the one the issue
// measured (168 KB): 24 series of 240 points of request rates (counts in
// 15 s windows per second), so it compresses as real answers do (about
// 5:1), not as repeated text.
func queryRangeAnswer() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for s := range 24 {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"route":"/api/v1/items/:id%d","service":"shop"},"values":[`, s)
		for p := range 240 {
			if p > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%d,"%s"]`, 1764643200+p*15, strconv.FormatFloat(float64(r.IntN(900))/15, 'f', -1, 64))
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

// compressEngine is a gin engine with the compressor in front of routes
// that answer body with status code.
func compressEngine(t testing.TB, code int, body []byte) *gin.Engine {
	t.Helper()
	mw, err := newCompressor()
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(mw)
	h := func(c *gin.Context) { c.Data(code, "application/json", body) }
	for _, p := range []string{"/api/v1/query_range", "/api/v1/auth/login", "/api/v1/admin/tokens", "/api/v1/read", "/ws"} {
		e.GET(p, h)
		e.HEAD(p, h)
	}
	e.GET("/api/v1/cors", func(c *gin.Context) {
		c.Header("Vary", "Origin") // as gin-contrib/cors does
		c.Data(code, "application/json", body)
	})
	e.GET("/snappy", func(c *gin.Context) {
		c.Header("Content-Encoding", "snappy")
		c.Data(code, "application/x-protobuf", body)
	})
	e.NoRoute(h)
	return e
}

// decode returns the body of w as sent with encoding, decoded.
func decode(t testing.TB, encoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch encoding {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

// TestCompressNegotiates sends a large answer to each Accept-Encoding and
// checks the encoding chosen, its q-values honoured, Vary, the status, and
// that the body decodes to the answer.
func TestCompressNegotiates(t *testing.T) {
	answer := queryRangeAnswer()
	e := compressEngine(t, http.StatusUnprocessableEntity, answer)
	f := func(method, path, accept, want string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if got := w.Header().Get("Content-Encoding"); got != want {
			t.Errorf("%s %s with Accept-Encoding %q: Content-Encoding %q, want %q", method, path, accept, got, want)
		}
		if w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s %s with %q: status %d, want 422", method, path, accept, w.Code)
		}
		if method == http.MethodHead {
			return
		}
		if want == "gzip" || want == "zstd" {
			if vary := strings.Join(w.Header().Values("Vary"), ", "); strings.Count(vary, "Accept-Encoding") != 1 {
				t.Errorf("%s with %q: Vary %q, want Accept-Encoding once", path, accept, vary)
			}
			if w.Body.Len() >= len(answer)/3 {
				t.Errorf("%s with %q: %d bytes for %d", path, accept, w.Body.Len(), len(answer))
			}
		}
		if got := decode(t, want, w.Body.Bytes()); !bytes.Equal(got, answer) {
			t.Errorf("%s with %q: the body does not decode to the answer (%d bytes, want %d)", path, accept, len(got), len(answer))
		}
	}
	q := "/api/v1/query_range"
	f("GET", q, "", "")
	f("GET", q, "gzip", "gzip")
	f("GET", q, "gzip, deflate, br, zstd", "zstd") // Chromium's
	f("GET", q, "zstd;q=0.5, gzip", "gzip")
	f("GET", q, "gzip;q=0.2, zstd;q=0.9", "zstd")
	f("GET", q, "gzip;q=0", "")
	f("GET", q, "zstd;q=0, gzip;q=0", "")
	f("GET", q, "br", "")
	f("HEAD", q, "gzip", "")
	f("GET", "/api/v1/cors", "gzip", "gzip")
	// Secrets beside reflected input (BREACH), the WebSocket, remote read.
	f("GET", "/api/v1/auth/login", "gzip, zstd", "")
	f("GET", "/api/v1/admin/tokens", "gzip, zstd", "")
	f("GET", "/api/v1/read", "gzip, zstd", "")
	f("GET", "/ws", "gzip, zstd", "")
	// The dashboard's files are gzipped at start by staticFiles.
	f("GET", "/index.html", "gzip, zstd", "")
	f("GET", "/snappy", "gzip, zstd", "snappy")
}

// TestCompressSkipsSmallBodies leaves a body under compressMinSize, such
// as an error, plain.
func TestCompressSkipsSmallBodies(t *testing.T) {
	body := []byte(`{"status":"error","errorType":"bad_data","error":"step must be positive"}`)
	e := compressEngine(t, http.StatusBadRequest, body)
	req := httptest.NewRequest("GET", "/api/v1/query_range", nil)
	req.Header.Set("Accept-Encoding", "gzip, zstd")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Header().Get("Content-Encoding") != "" || w.Code != http.StatusBadRequest || w.Body.String() != string(body) {
		t.Errorf("small answer: %d %q %q", w.Code, w.Header().Get("Content-Encoding"), w.Body)
	}
}

// TestServerCompresses goes through the whole server: a query answer is
// compressed and the access log counts its bytes on the wire; the login
// answer, carrying a token, is not; a body past the route's limit is
// still 413 and a panic still a JSON 500.
func TestServerCompresses(t *testing.T) {
	s, logs := newTestServer(t)
	h := s.Handler()
	f := func(method, path, body, token string, wantCode int, wantEnc string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != wantCode || w.Header().Get("Content-Encoding") != wantEnc {
			t.Errorf("%s %s: %d %q, want %d %q: %s", method, path, w.Code, w.Header().Get("Content-Encoding"), wantCode, wantEnc, w.Body)
		}
		return w
	}
	if err := s.access.AddUser("ann", "admin", "a test password"); err != nil {
		t.Fatal(err)
	}
	w := f("POST", "/api/v1/auth/login", `{"username":"ann","password":"a test password"}`, "", http.StatusOK, "")
	if !strings.Contains(w.Body.String(), `"token"`) {
		t.Fatalf("login answer: %s", w.Body)
	}
	token := login(t, s, "bob", "viewer")
	// A query whose answer is over compressMinSize: 300 points of vector(1).
	w = f("GET", "/api/v1/query_range?query=vector(1)&start=0&end=299&step=1", "", token, http.StatusOK, "zstd")
	if got := decode(t, "zstd", w.Body.Bytes()); !bytes.Contains(got, []byte(`"resultType":"matrix"`)) {
		t.Errorf("query_range answer decodes to %.200s", got)
	}
	if want := `"route":"/api/v1/query_range","status":200,`; !strings.Contains(logs.String(), want) ||
		!strings.Contains(logs.String(), fmt.Sprintf(`"bytes":%d,`, w.Body.Len())) {
		t.Errorf("the access log lacks the query with its %d compressed bytes:\n%s", w.Body.Len(), logs)
	}
	f("POST", "/api/v1/auth/login", strings.Repeat("x", 5000), "", http.StatusRequestEntityTooLarge, "")
	f("GET", "/api/v1/query_range?query=vector(1)&start=0&end=299&step=0", "", token, http.StatusBadRequest, "")
}

// BenchmarkCompressQueryRange sends a 168 KB query_range answer through
// the compressor plain, gzipped and in zstd, reporting the bytes sent.
func BenchmarkCompressQueryRange(b *testing.B) {
	answer := queryRangeAnswer()
	e := compressEngine(b, http.StatusOK, answer)
	for _, accept := range []string{"identity", "gzip", "zstd"} {
		b.Run(accept, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/api/v1/query_range", nil)
			req.Header.Set("Accept-Encoding", accept)
			var sent int
			for b.Loop() {
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				sent = w.Body.Len()
			}
			b.ReportMetric(float64(sent), "B/answer")
			b.ReportMetric(float64(len(answer)), "B/plain")
		})
	}
}
