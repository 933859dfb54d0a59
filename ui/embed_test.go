package ui

import (
	"bytes"
	"io/fs"
	"testing"
)

// maxBeaconBytes is the size budget of beacon.js, which every page of a
// frontend downloads.
const maxBeaconBytes = 3072

func TestBeaconJS(t *testing.T) {
	b := BeaconJS()
	if len(b) == 0 {
		t.Fatal("BeaconJS is empty")
	}
	if len(b) >= maxBeaconBytes {
		t.Fatalf("beacon.js is %d bytes, want < %d", len(b), maxBeaconBytes)
	}
}

func TestStaticHoldsBeacon(t *testing.T) {
	b, err := fs.ReadFile(Static, "static/beacon.js")
	if err != nil {
		t.Fatalf("read static/beacon.js: %v", err)
	}
	if !bytes.Equal(b, BeaconJS()) {
		t.Fatal("Static and BeaconJS differ")
	}
}
