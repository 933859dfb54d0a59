package slo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestDecodeJSON: an SLO sent as JSON is checked as the file's are, and
// every fault is a *FieldError naming its field.
func TestDecodeJSON(t *testing.T) {
	ok := func(in string, want SLO) {
		t.Helper()
		got, err := DecodeJSON([]byte(in), buckets)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.Name != want.Name || got.Service != want.Service || strings.Join(got.Routes, ",") != strings.Join(want.Routes, ",") ||
			got.Objective != want.Objective || got.Window != want.Window || got.Indicator != want.Indicator || got.Threshold != want.Threshold {
			t.Fatalf("%s: %+v, want %+v", in, got, want)
		}
		if got.Origin() != OriginDashboard {
			t.Fatalf("%s: origin %s", in, got.Origin())
		}
	}
	ok(`{"name":"pay","service":"checkout","routes":["/api/pay"],"objective":99.9,"window":"7d","indicator":"availability"}`,
		SLO{Name: "pay", Service: "checkout", Routes: []string{"/api/pay"}, Objective: 99.9, Window: model.Duration(7 * 24 * time.Hour), Indicator: Availability})
	ok(`{"name":"fast","service":"checkout","objective":99,"indicator":"latency","threshold":"250ms","routes":null}`,
		SLO{Name: "fast", Service: "checkout", Objective: 99, Window: DefaultWindow, Indicator: Latency, Threshold: model.Duration(250 * time.Millisecond)})

	bad := func(in, field, reason string) {
		t.Helper()
		_, err := DecodeJSON([]byte(in), buckets)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Reason, reason) {
			t.Fatalf("%s: %v, want a fault of %s saying %q", in, err, field, reason)
		}
	}
	const base = `"name":"x","service":"s","indicator":"availability"`
	bad(`[1]`, "slo", "JSON object")
	bad(`null`, "slo", "JSON object")
	bad(`{"service":"s","objective":99,"indicator":"availability"}`, "name", "is required")
	bad(`{"name":"a b","service":"s","objective":99,"indicator":"availability"}`, "name", "letters, digits")
	bad(`{"name":7}`, "name", "must be a string")
	bad(`{"name":"x","objective":99,"indicator":"availability"}`, "service", "is required")
	bad(`{`+base+`,"routes":"/pay","objective":99}`, "routes", "list of strings")
	bad(`{`+base+`,"objective":"high"}`, "objective", "must be a number")
	bad(`{`+base+`,"objective":100}`, "objective", "above 0 and below 100")
	bad(`{`+base+`}`, "objective", "above 0")
	bad(`{`+base+`,"objective":99,"window":"a month"}`, "window", `a duration such as "30d"`)
	bad(`{`+base+`,"objective":99,"window":"1h"}`, "window", "shorter than a day")
	bad(`{`+base+`,"objective":99,"window":30}`, "window", "must be a duration")
	bad(`{"name":"x","service":"s","objective":99,"indicator":"speed"}`, "indicator", `"speed" is unknown`)
	bad(`{"name":"x","service":"s","objective":99}`, "indicator", "is required")
	bad(`{`+base+`,"objective":99,"threshold":"500ms"}`, "threshold", "latency indicator only")
	bad(`{"name":"x","service":"s","objective":99,"indicator":"latency"}`, "threshold", "is required for the latency indicator")
	bad(`{"name":"x","service":"s","objective":99,"indicator":"latency","threshold":"300ms"}`, "threshold", "the nearest are 250ms and 500ms")
	bad(`{"name":"x","service":"s","objective":99,"indicator":"frame_rate","routes":["/"]}`, "routes", "request indicators")
	bad(`{`+base+`,"objective":99,"owner":"me"}`, "owner", "is unknown")
}

// TestRecord: a record reads back as the SLO it keeps, and one of another
// version is refused.
func TestRecord(t *testing.T) {
	s, err := DecodeJSON([]byte(`{"name":"fast","service":"shop","objective":95,"indicator":"latency","threshold":"1s"}`), buckets)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeRecord(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":1,"slo":{"name":"fast","service":"shop","objective":95,"window":"30d","indicator":"latency","threshold":"1s"}}`; string(b) != want {
		t.Fatalf("record %s, want %s", b, want)
	}
	back, err := DecodeRecord(b, buckets)
	if err != nil || back.Name != "fast" || back.Threshold != s.Threshold || back.Origin() != OriginDashboard {
		t.Fatalf("read back %+v, %v", back, err)
	}
	if _, err := DecodeRecord([]byte(`{"version":2,"slo":{}}`), buckets); !errors.Is(err, ErrRecordVersion) {
		t.Fatalf("version 2: %v, want ErrRecordVersion", err)
	}
}

// FuzzDecodeJSON: any input decodes to a valid SLO or a field's fault, and
// a decoded SLO's record decodes to the same SLO.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"pay","service":"checkout","objective":99.9,"window":"7d","indicator":"availability"}`)
	f.Add(`{"name":"fast","service":"s","objective":99,"indicator":"latency","threshold":"250ms"}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := DecodeJSON([]byte(in), buckets)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: %v is not a field's fault", in, err)
			}
			return
		}
		b, err := EncodeRecord(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRecord(b, buckets)
		if err != nil || back.Name != s.Name || back.Window != s.Window || back.Objective != s.Objective {
			t.Fatalf("%q: record %s reads back as %+v, %v", in, b, back, err)
		}
	})
}
