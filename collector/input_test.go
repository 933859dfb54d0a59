package collector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var testWindow = Window{Now: 1_793_534_400_000, MinT: 1_793_534_400_000 - 15*24*3600_000, MaxT: 1_793_534_400_000 + 600_000}

func TestDecodeBeaconRefuses(t *testing.T) {
	f := func(body, wantField, wantReason string) {
		t.Helper()
		_, err := DecodeBeacon([]byte(body), testWindow)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: got %v, want an InputError", body, err)
		}
		if ie.Field != wantField || !strings.Contains(ie.Reason, wantReason) {
			t.Fatalf("%s:\n got field %q reason %q\nwant field %q reason containing %q", body, ie.Field, ie.Reason, wantField, wantReason)
		}
	}
	ok := `"service":"shop","page":"/a","fps":[60]`
	f(`{"service":"shop","page":"/a","fps":[60`, "", "truncated")
	f(`{"service":"shop",}`, "", "malformed JSON")
	f(``, "", "empty")
	f(`{`+ok+`} {}`, "", "data after the JSON value")
	f(`{`+ok+`}garbage`, "", "data after the JSON value")
	f(`{`+ok+`,"user":"me"}`, "", `unknown field "user"`)
	f(`{"service":1,"page":"/a","fps":[60]}`, "service", "must be a string, got number")
	f(`{"service":"shop","page":"/a","fps":"60"}`, "fps", "must be an array")
	f(`{"service":"shop","page":"/a","fps":["60"]}`, "fps", "must be a number")
	f(`{`+ok+`,"long_frames":2.5}`, "long_frames", "must be a whole number")
	f(`{"service":"shop","page":"/a","fps":[NaN]}`, "", "malformed JSON")
	f(`{"service":"shop","page":"/a","fps":[Infinity]}`, "", "malformed JSON")
	f(`{"service":"shop","page":"/a","fps":[1e309]}`, "fps", "must be a number")
	f(`{"service":"shop","page":"/a","fps":[60,-3]}`, "fps[1]", "between 0 and 1000, got -3")
	f(`{"service":"shop","page":"/a","fps":[1000.5]}`, "fps[0]", "between 0 and 1000, got 1000.5")
	f(`{"service":"shop","page":"/a","fps":[]}`, "fps", "at least one")
	f(`{"service":"shop","page":"/a"}`, "fps", "at least one")
	f(`{"service":"shop","page":"/a","fps":[`+strings.Repeat("60,", 600)+`60]}`, "fps", "601 frame rates, at most 600")
	f(`{`+ok+`,"duration_ms":-1}`, "duration_ms", "between 0 and")
	f(`{`+ok+`,"long_frames":-1}`, "long_frames", "between 0 and")
	f(`{"page":"/a","fps":[60]}`, "service", "is required")
	f(`{"service":"","page":"/a","fps":[60]}`, "service", "is required")
	f(`{"service":"shop","fps":[60]}`, "page", "is required")
	f(`{"service":"`+strings.Repeat("s", 257)+`","page":"/a","fps":[60]}`, "service", "257 bytes, at most 256")
	f(`{"service":"shop","page":"/`+strings.Repeat("p", 256)+`","fps":[60]}`, "page", "257 bytes")
	f(`{"service":"shop","page":"checkout","fps":[60]}`, "page", "must be a path")
	f(`{"service":"sh\nop","page":"/a","fps":[60]}`, "service", "control character")
	f("{\"service\":\"sh\xffop\",\"page\":\"/a\",\"fps\":[60]}", "", "not valid UTF-8")
	f(fmt.Sprintf(`{%s,"ts":%d}`, ok, testWindow.MaxT+1), "ts", "ahead of the server's clock")
	f(fmt.Sprintf(`{%s,"ts":%d}`, ok, testWindow.MinT-1), "ts", "older than the retention")
	f(`[]`, "", "must be an object")
}

func TestDecodeBeaconAccepts(t *testing.T) {
	b, err := DecodeBeacon([]byte(`{"service":"shop","page":"/checkout","fps":[58.9,60,41.2,0,1000],"long_frames":2,"duration_ms":10000,"ts":1793534399000}`), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if b.Service != "shop" || len(b.FPS) != 5 || b.LongFrames != 2 || b.TS != 1793534399000 {
		t.Fatalf("decoded %+v", b)
	}
	b, err = DecodeBeacon([]byte(`{"service":"shop","page":"/","fps":[60]}`), testWindow)
	if err != nil || b.TS != testWindow.Now {
		t.Fatalf("beacon without ts: %+v, %v; want ts = now", b, err)
	}
}

func TestDecodeRequestEventsRefuses(t *testing.T) {
	f := func(body, wantField, wantReason string) {
		t.Helper()
		_, err := DecodeRequestEvents([]byte(body), testWindow)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: got %v, want an InputError", body, err)
		}
		if ie.Field != wantField || !strings.Contains(ie.Reason, wantReason) {
			t.Fatalf("%.80s:\n got field %q reason %q\nwant field %q reason containing %q", body, ie.Field, ie.Reason, wantField, wantReason)
		}
	}
	ev := `{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":3}`
	f(`[`+ev, "body", "truncated")
	f(`[`+ev+`] x`, "body", "data after")
	f(`{}`, "body", "must be an array")
	f(`[]`, "body", "at least one event")
	f(`[`+strings.Repeat(ev+",", 10_000)+ev+`]`, "body", "10001 events, at most 10000")
	f(`[`+ev+`,{"service":"billing","route":"/x","method":"GET","status":200,"extra":1}]`, "events[1]", `unknown field "extra"`)
	f(`[{"service":"billing","route":"/x","method":"GET","status":"200"}]`, "events[0].status", "must be a whole number, got string")
	f(`[{"service":"billing","route":"/x","method":"GET","status":99}]`, "events[0].status", "between 100 and 599, got 99")
	f(`[{"service":"billing","route":"/x","method":"GET","status":600}]`, "events[0].status", "between 100 and 599, got 600")
	f(`[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":-5}]`, "events[0].duration_ms", "between 0 and")
	f(`[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":1e309}]`, "events[0].duration_ms", "must be a number")
	f(`[{"service":"billing","route":"/x","method":"BREW","status":200}]`, "events[0].method", `got "BREW"`)
	f(`[{"service":"billing","method":"GET","status":200}]`, "events[0].route", "is required")
	f(`[{"service":"`+strings.Repeat("b", 300)+`","route":"/x","method":"GET","status":200}]`, "events[0].service", "300 bytes")
	f(fmt.Sprintf(`[{"service":"b","route":"/x","method":"GET","status":200,"timestamp":%d}]`, testWindow.MaxT+1), "events[0].timestamp", "ahead")
	f(fmt.Sprintf(`[{"service":"b","route":"/x","method":"GET","status":200,"timestamp":%d}]`, testWindow.MinT-1), "events[0].timestamp", "older than the retention")
	f("[{\"service\":\"b\xc3\",\"route\":\"/x\",\"method\":\"GET\",\"status\":200}]", "body", "not valid UTF-8")
}

func TestDecodeRequestEventsAccepts(t *testing.T) {
	evs, err := DecodeRequestEvents([]byte(`[{"service":"billing","route":"/invoices/:id","method":"GET","status":200,"duration_ms":12.5,"timestamp":1793534399000},{"service":"b","route":"/","method":"DELETE","status":599}]`), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].DurationMs != 12.5 || evs[1].Timestamp != testWindow.Now {
		t.Fatalf("decoded %+v", evs)
	}
}

func FuzzDecodeBeacon(f *testing.F) {
	f.Add([]byte(`{"service":"shop","page":"/checkout","fps":[58.9,60,41.2],"long_frames":2,"duration_ms":10000,"ts":1793534399000}`))
	f.Add([]byte(`{"service":"shop","page":"/a","fps":[1e309]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeBeacon(body, testWindow)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		// What decodes is within every limit.
		if b.Service == "" || len(b.Service) > MaxLabelBytes || len(b.FPS) == 0 || len(b.FPS) > MaxBeaconSamples || b.TS < testWindow.MinT || b.TS > testWindow.MaxT {
			t.Fatalf("accepted an invalid beacon: %+v", b)
		}
		for _, v := range b.FPS {
			if !(v >= 0 && v <= MaxFPS) {
				t.Fatalf("accepted fps %g", v)
			}
		}
	})
}

func FuzzDecodeRequestEvents(f *testing.F) {
	f.Add([]byte(`[{"service":"billing","route":"/invoices/:id","method":"GET","status":200,"duration_ms":12.5,"timestamp":1793534399000}]`))
	f.Add([]byte(`[{}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeRequestEvents(body, testWindow)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		for _, e := range evs {
			if e.Status < 100 || e.Status > 599 || !(e.DurationMs >= 0) || e.Service == "" || e.Route == "" {
				t.Fatalf("accepted an invalid event: %+v", e)
			}
		}
	})
}
