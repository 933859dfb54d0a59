package main

import (
	"net/url"
	"testing"
)

func TestDemoEndpointsSendTheToken(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:8080")
	requests, beacons := demoEndpoints(&demoOptions{target: target, token: "atz_demo"})
	for _, e := range []demoEndpoint{requests, beacons} {
		if got := e.header.Get("Authorization"); got != "Bearer atz_demo" {
			t.Errorf("%s: Authorization = %q, want the ingest token", e.url, got)
		}
	}
	if got := beacons.header.Get("Origin"); got != "http://127.0.0.1:8080" {
		t.Errorf("beacons: Origin = %q, want the server's own", got)
	}
}
