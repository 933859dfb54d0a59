package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// TestLoadRemoteWriteClosed drives three senders of remote-write requests at
// a receiver that decodes them, and checks what a receiver that refuses
// out-of-order samples needs: every series of -series is sent, each with
// increasing timestamps and values however the senders interleave, every request
// holds -batch samples with the labels sorted, and the report counts the
// samples the receiver acknowledged.
func TestLoadRemoteWriteClosed(t *testing.T) {
	var mu sync.Mutex
	last := map[string]prompb.Sample{}
	var requests, samples int64
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		var wr prompb.WriteRequest
		if err == nil {
			err = wr.Unmarshal(raw)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path != "/api/v1/write" || r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Authorization") != "Bearer tok":
			bad = append(bad, "path or headers: "+r.URL.Path)
		case err != nil:
			bad = append(bad, "decode: "+err.Error())
		case len(wr.Timeseries) != 4:
			bad = append(bad, "batch of "+strconv.Itoa(len(wr.Timeseries)))
		}
		requests++
		for _, ts := range wr.Timeseries {
			ls := ts.Labels
			for i := 1; i < len(ls); i++ {
				if ls[i-1].Name >= ls[i].Name {
					bad = append(bad, "labels out of order")
				}
			}
			key := ls[3].Value
			for _, s := range ts.Samples {
				if p, ok := last[key]; ok && (s.Timestamp <= p.Timestamp || s.Value <= p.Value) {
					bad = append(bad, "series "+key+" went back")
				}
				last[key] = s
				samples++
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	out, _, err := run(t, map[string]string{"ATROZ_TOKEN": "tok"}, "load", "-target", srv.URL, "-kind", "remote-write",
		"-senders", "3", "-series", "10", "-batch", "4", "-duration", "300ms", "-verify=false", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("the receiver found %d faults, the first: %s", len(bad), bad[0])
	}
	if len(last) != 10 || requests < 6 {
		t.Errorf("%d series in %d requests, want all 10 in at least 6", len(last), requests)
	}
	if rep.Sent != requests || rep.AcceptedItems != samples || rep.AcceptedItems != 4*rep.Accepted {
		t.Errorf("report: sent %d, accepted %d holding %d samples; receiver: %d requests, %d samples", rep.Sent, rep.Accepted, rep.AcceptedItems, requests, samples)
	}
}
