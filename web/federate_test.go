package web

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"atroz/store"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/value"
)

// seedFederation appends, relative to now: fed_a's samples ending at
// 3 a minute ago, fed_b ended by a staleness marker, fed_old last seen
// ten minutes ago, fed_c with an instance label of its own.
func seedFederation(t testing.TB, db *store.DB, now time.Time) {
	t.Helper()
	app := func(name string, extra []store.Label, age time.Duration, v float64) {
		t.Helper()
		ls := append(store.Labels{{Name: "__name__", Value: name}}, extra...)
		if err := db.Append(ls, now.Add(-age).UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
	}
	k := func(v string) []store.Label { return []store.Label{{Name: "k", Value: v}} }
	app("fed_old", k("0"), 10*time.Minute, 9)
	for i, age := range []time.Duration{4 * time.Minute, 2 * time.Minute, time.Minute} {
		app("fed_a", k("1"), age, float64(i+1))
		app("fed_b", k("2"), age, float64(i+1))
	}
	app("fed_b", k("2"), 30*time.Second, math.Float64frombits(value.StaleNaN))
	app("fed_c", []store.Label{{Name: "instance", Value: "x:1"}}, 20*time.Second, 0.5)
}

// federateGet asks /federate with form and accept, as Prometheus' scraper
// would with a bearer credential.
func federateGet(t testing.TB, ls *liveServer, c *http.Client, form url.Values, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", ls.url+"/federate?"+form.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ls.session)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestFederate(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	now := ls.col.Now()
	seedFederation(t, ls.db, now)
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }

	resp := federateGet(t, ls, c, url.Values{"match[]": {`{__name__=~"fed_.*"}`}}, "text/plain")
	body, _ := io.ReadAll(resp.Body)
	want := fmt.Sprintf("# TYPE fed_a untyped\nfed_a{k=\"1\",instance=\"\"} 3 %d\n# TYPE fed_c untyped\nfed_c{instance=\"x:1\"} 0.5 %d\n", ms(time.Minute), ms(20*time.Second))
	if resp.StatusCode != http.StatusOK || string(body) != want {
		t.Fatalf("text federation: %d %s\n%s\nwant\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}

	// Prometheus' scraper asks for delimited protobuf first; two selectors
	// that overlap give each series once.
	resp = federateGet(t, ls, c, url.Values{"match[]": {`fed_a`, `{k="1"}`, `fed_old`}}, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
	format := expfmt.ResponseFormat(resp.Header)
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("negotiated %s", format)
	}
	dec := expfmt.NewDecoder(resp.Body, format)
	var fams []*dto.MetricFamily
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		fams = append(fams, &mf)
	}
	if len(fams) != 1 || fams[0].GetName() != "fed_a" || len(fams[0].Metric) != 1 {
		t.Fatalf("protobuf federation: %v", fams)
	}
	if m := fams[0].Metric[0]; m.GetUntyped().GetValue() != 3 || m.GetTimestampMs() != ms(time.Minute) {
		t.Errorf("fed_a: %v", m)
	}

	for _, form := range []url.Values{nil, {"match[]": {`{`}}} {
		resp := federateGet(t, ls, c, form, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "match[]") {
			t.Errorf("%v: %d %s", form, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("GET", ls.url+"/federate?match[]=fed_a", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %v %v", resp, err)
	} else {
		_ = resp.Body.Close()
	}
}

func BenchmarkFederate(b *testing.B) {
	ls := startLive(b, slog.New(slog.DiscardHandler))
	now := ls.col.Now()
	for i := range 1000 {
		series := store.Labels{{Name: "__name__", Value: fmt.Sprintf("bench_metric_%d", i%50)}, {Name: "i", Value: fmt.Sprint(i)}}
		for j := range 20 {
			if err := ls.db.Append(series, now.Add(-time.Duration(20-j)*10*time.Second).UnixMilli(), float64(j)); err != nil {
				b.Fatal(err)
			}
		}
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	b.Cleanup(c.CloseIdleConnections)
	b.ReportAllocs()
	for b.Loop() {
		resp := federateGet(b, ls, c, url.Values{"match[]": {`{__name__=~"bench_.*"}`}}, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		_ = resp.Body.Close()
	}
}
