package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func newEngine(c *Collector) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if c != nil {
		r.Use(c.Middleware())
	}
	r.GET("/api/v1/items/:id", func(ctx *gin.Context) { ctx.String(http.StatusOK, "ok") })
	r.POST("/api/v1/items", func(ctx *gin.Context) { ctx.Status(http.StatusCreated) })
	return r
}

func serve(r http.Handler, method, path string) {
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
}

func TestMiddlewareCountsByRouteTemplate(t *testing.T) {
	c, _ := newTest(t, func(o *Options) { o.Service = "api" })
	r := newEngine(c)
	for _, id := range []string{"1", "2", "3"} {
		serve(r, "GET", "/api/v1/items/"+id)
	}
	serve(r, "POST", "/api/v1/items")
	serve(r, "GET", "/wp-admin/setup.php")
	serve(r, "GET", "/.env")
	serve(r, "BREW", "/api/v1/items/4")
	wantLines(t, c,
		`http_requests_total{service="api",route="/api/v1/items/:id",method="GET",code="200"} 3`,
		`http_requests_total{service="api",route="/api/v1/items",method="POST",code="201"} 1`,
		`http_requests_total{service="api",route="<unmatched>",method="GET",code="404"} 2`,
		`http_requests_total{service="api",route="<unmatched>",method="OTHER",code="404"} 1`,
		`http_request_duration_seconds_count{service="api",route="/api/v1/items/:id",method="GET"} 3`,
		`http_requests_in_flight 0`,
	)
}

// The middleware's cost is the difference between these two, run together:
// go test ./collector -run '^$' -bench 'Gin' -count 6 | benchstat
func BenchmarkGinBare(b *testing.B) { benchGin(b, nil) }

func BenchmarkGinWithMiddleware(b *testing.B) {
	c, _ := newTest(b, nil)
	benchGin(b, c)
}

// benchGin serves a matched route through a reused writer, so the figure is
// the router's and the middleware's, not the recorder's.
func benchGin(b *testing.B, c *Collector) {
	r := newEngine(c)
	req := httptest.NewRequest("GET", "/api/v1/items/42", nil)
	req.Header.Set("Connection", "Keep-Alive") // as many clients send it
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkRecordBeacon decodes and records a typical ten-second beacon.
func BenchmarkRecordBeacon(b *testing.B) {
	c, _ := newTest(b, nil)
	body := []byte(`{"service":"shop","page":"/checkout/42","fps":[58.9,60,41.2,60,60,59.5,60,60,12.5,60],"long_frames":2,"duration_ms":10000,"ts":1793534399000}`)
	w := c.Window()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bc, err := DecodeBeacon(body, w)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.RecordBeacon(bc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMiddlewareClientClosed counts a request whose client went away
// before the answer under code 499, whatever the handler answered, and
// leaves it out of the latency histogram; a request the handler itself
// times out still counts as its 503.
func TestMiddlewareClientClosed(t *testing.T) {
	c, _ := newTest(t, func(o *Options) { o.Service = "api" })
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(c.Middleware())
	r.GET("/api/v1/query", func(ctx *gin.Context) {
		qctx, cancel := context.WithTimeout(ctx.Request.Context(), time.Hour)
		defer cancel()
		if ctx.Query("client") == "gone" {
			<-qctx.Done() // the engine gives up when the client does
		}
		ctx.Status(http.StatusServiceUnavailable)
	})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/query?client=gone", nil).WithContext(gone))
	serve(r, "GET", "/api/v1/query?client=here")
	wantLines(t, c,
		`http_requests_total{service="api",route="/api/v1/query",method="GET",code="499"} 1`,
		`http_requests_total{service="api",route="/api/v1/query",method="GET",code="503"} 1`,
		`http_request_duration_seconds_count{service="api",route="/api/v1/query",method="GET"} 1`,
	)
}
