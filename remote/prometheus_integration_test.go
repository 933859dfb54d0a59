package remote

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
)

// TestForwardToRealPrometheus stores samples in a store whose flushes feed
// a Writer, pointed at Debian's Prometheus with its remote-write receiver
// on: every sample the store holds is then in Prometheus, with the same
// value at the same time.
func TestForwardToRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	prom := extserver.PrometheusReceiver(t)

	c := &http.Client{Timeout: 5 * time.Second}
	w, err := New(Config{URL: prom + "/api/v1/write", BatchSamples: 100}, c, metrics.NewSet(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1, OnFlush: w.Enqueue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Now().Add(-time.Minute).Truncate(time.Second).UnixMilli()
	routes := []string{"/cart", "/pay", "/search"}
	for i := range 60 {
		for j, r := range routes {
			ls := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "route", Value: r}, {Name: "service", Value: "shop"}}
			if err := db.Append(ls, now+int64(i)*1000, float64(i*(j+1))); err != nil {
				t.Fatal(err)
			}
		}
		if i%20 == 19 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	for j, r := range routes {
		got, err := db.Select(store.Query{MinT: now, MaxT: now + 60_000, Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "route", r)}})
		if err != nil || len(got) != 1 || len(got[0].Samples) != 60 {
			t.Fatalf("%s in the store: %v, %d series", r, err, len(got))
		}
		inProm := promRange(t, c, prom, `http_requests_total{service="shop",route="`+r+`"}`, now, now+59_000)
		if len(inProm) != 60 {
			t.Fatalf("%s: Prometheus has %d samples, the store 60", r, len(inProm))
		}
		for i, s := range got[0].Samples {
			if inProm[i] != [2]float64{float64(s.T) / 1000, s.V} || s.V != float64(i*(j+1)) {
				t.Fatalf("%s sample %d: Prometheus %v, store %v", r, i, inProm[i], s)
			}
		}
	}
}

// promRange returns the raw samples of sel between from and to (unix ms),
// read with a range selector at to.
func promRange(t *testing.T, c *http.Client, base, sel string, from, to int64) [][2]float64 {
	t.Helper()
	q := sel + "[" + strconv.FormatInt((to-from)/1000+1, 10) + "s]"
	resp, err := c.Get(base + "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatFloat(float64(to)/1000, 'f', 3, 64))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data.Result) != 1 {
		t.Fatalf("query %s: %v, %+v", q, err, body)
	}
	out := make([][2]float64, 0, len(body.Data.Result[0].Values))
	for _, v := range body.Data.Result[0].Values {
		ts, _ := v[0].(float64)
		s, _ := v[1].(string)
		f, _ := strconv.ParseFloat(s, 64)
		out = append(out, [2]float64{ts, f})
	}
	return out
}
