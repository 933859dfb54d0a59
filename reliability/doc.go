// Package reliability holds AtroZ's reliability suite: tests that build the
// atroz binary and drive it as users and operators would, under sustained
// load, SIGKILL, a full disk, a locked or damaged data directory, slow
// clients, SIGTERM with WebSocket clients connected, and wall-clock steps.
//
// The tests carry the build tag reliability, so "go test ./..." skips them;
// "make reliability" runs them (Linux, as root for the tmpfs of the disk
// full test). Each test logs the figures it measured. ATROZ_BIN names a
// binary to test instead of building one.
package reliability
