// Package ui holds the files that AtroZ serves to browsers: the dashboard's
// static files and beacon.js, the script that web frontends include to report
// their frame rate. Everything is embedded in the binary, so serving it needs
// no files on disk and no build step.
package ui

import "embed"

// Static holds the dashboard's files. Their paths start with "static/", as in
// "static/beacon.js".
//
//go:embed static
var Static embed.FS

// beaconJS is read once, at init. ReadFile cannot fail on an embedded file
// that exists, and embed_test.go checks that it does.
var beaconJS, _ = Static.ReadFile("static/beacon.js")

// BeaconJS returns the bytes of static/beacon.js. It cannot fail: the file is
// embedded at build time and read once at init. The slice is shared between
// callers, who must not modify it.
func BeaconJS() []byte { return beaconJS }
