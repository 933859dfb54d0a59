package ui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// Size budgets of the script every page of a frontend downloads: gzipped,
// as it travels, and AtroZ's own part before web-vitals is added.
const (
	maxBeaconGzipBytes = 6 << 10
	maxOwnBeaconBytes  = 4 << 10
)

func TestBeaconJSSize(t *testing.T) {
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = w.Write(BeaconJS())
	_ = w.Close()
	if z.Len() >= maxBeaconGzipBytes {
		t.Fatalf("beacon.js is %d bytes gzipped, want < %d", z.Len(), maxBeaconGzipBytes)
	}
	own, err := fs.ReadFile(Static, "static/beacon.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(own) >= maxOwnBeaconBytes {
		t.Fatalf("static/beacon.js is %d bytes, want < %d", len(own), maxOwnBeaconBytes)
	}
	t.Logf("beacon.js: %d bytes, %d gzipped", len(BeaconJS()), z.Len())
}

// TestBeaconJSHoldsWebVitals checks the served script: the licence notice
// first, then web-vitals and beacon.js whole, without the source map
// reference of a file that is not served.
func TestBeaconJSHoldsWebVitals(t *testing.T) {
	b := BeaconJS()
	vitals, err := fs.ReadFile(Static, "static/vendor/web-vitals.iife.js")
	if err != nil {
		t.Fatal(err)
	}
	own, err := fs.ReadFile(Static, "static/beacon.js")
	if err != nil {
		t.Fatal(err)
	}
	lib, _, _ := strings.Cut(string(vitals), "\n//# sourceMappingURL=")
	switch {
	case !bytes.HasPrefix(b, []byte("/*! AtroZ beacon.js, with web-vitals "+WebVitalsVersion+" (c) Google LLC, Apache License 2.0")):
		t.Fatalf("beacon.js does not open with the licence notice: %.120s", b)
	case !bytes.Contains(b, []byte(lib)) || !bytes.Contains(b, own):
		t.Fatal("beacon.js lacks web-vitals or static/beacon.js")
	case bytes.Contains(b, []byte("sourceMappingURL")):
		t.Fatal("beacon.js names a source map that is not served")
	}
	if _, err := fs.Stat(Static, "static/vendor/LICENSE.web-vitals"); err != nil {
		t.Fatalf("web-vitals' licence is not kept: %v", err)
	}
}

// TestWebVitalsVersionPinned checks that the version the notice names is
// the one package.json pins, from which make ui-vendor copies.
func TestWebVitalsVersionPinned(t *testing.T) {
	raw, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Dependencies map[string]string }
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if got := p.Dependencies["web-vitals"]; got != WebVitalsVersion {
		t.Fatalf("package.json pins web-vitals %q, WebVitalsVersion is %q", got, WebVitalsVersion)
	}
}
