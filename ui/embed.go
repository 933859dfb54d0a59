// Package ui holds the files that AtroZ serves to browsers: the dashboard's
// static files and beacon.js, the script that web frontends include to report
// their frame rate and Core Web Vitals. Everything is embedded in the binary,
// so serving it needs no files on disk and no build step.
package ui

import (
	"bytes"
	"embed"
)

// Static holds the dashboard's files. Their paths start with "static/", as in
// "static/beacon.js".
//
//go:embed static
var Static embed.FS

// WebVitalsVersion is the version of Google's web-vitals library vendored in
// static/vendor (make ui-vendor, pinned in package.json).
const WebVitalsVersion = "6.2.3"

// beaconJS is built once, at init. ReadFile cannot fail on an embedded file
// that exists, and embed_test.go checks that both do.
var beaconJS = func() []byte {
	vitals, _ := Static.ReadFile("static/vendor/web-vitals.iife.js")
	own, _ := Static.ReadFile("static/beacon.js")
	// The map the library names is not served.
	if i := bytes.LastIndex(vitals, []byte("\n//# sourceMappingURL=")); i >= 0 {
		vitals = vitals[:i]
	}
	var b bytes.Buffer
	b.WriteString("/*! AtroZ beacon.js, with web-vitals " + WebVitalsVersion +
		" (c) Google LLC, Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0 */\n")
	// One function scope keeps web-vitals' var webVitals out of the page's globals.
	b.WriteString("(() => {\n")
	b.Write(vitals)
	b.WriteString("\n")
	b.Write(own)
	b.WriteString("})();\n")
	return b.Bytes()
}()

// BeaconJS returns the script frontends include: web-vitals, then
// static/beacon.js, in one function scope. It cannot fail: the files are
// embedded at build time and joined once at init. The slice is shared
// between callers, who must not modify it.
func BeaconJS() []byte { return beaconJS }
