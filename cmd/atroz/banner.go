package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"atroz/web"
)

// startupBanner tells the operator where the dashboard is and, on a first
// start, how the admin was created (firstUser, as ensureAdmin wrote it,
// with the password it invented). It comes after the listen line, so the
// JSON lines of the start-up cannot bury it, and it is written once: on a
// terminal as plain text set apart by blank lines; otherwise (a service
// manager's journal, a container's log) as one INFO line, event_type
// "ready", unless the log level hides INFO and there is a password to
// show, which then goes to the console as plain text.
func startupBanner(console io.Writer, terminal bool, log *slog.Logger, url, firstUser string) {
	lines := nonEmptyLines(firstUser)
	if terminal || (len(lines) > 0 && !log.Enabled(context.Background(), slog.LevelInfo)) {
		var b strings.Builder
		b.WriteString("\n  AtroZ is ready: " + url + "\n")
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
		b.WriteString("\n")
		_, _ = io.WriteString(console, b.String())
		return
	}
	attrs := []slog.Attr{slog.String("event_type", "ready"), slog.String("url", url)}
	if len(lines) > 0 {
		attrs = append(attrs, slog.String("first_user", strings.Join(lines, ". ")))
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "AtroZ is ready", attrs...)
}

// nonEmptyLines returns the lines of s, trimmed, without the empty ones.
func nonEmptyLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) // #nosec G115 -- a file descriptor fits an int
}

// dashboardURL is the address of the dashboard served on addr: a
// wildcard listen address is reached as localhost.
func dashboardURL(addr net.Addr, tls bool) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// runAccessSummary logs the server's summary of ingest requests every
// web.DefaultAccessSummaryInterval until ctx is done.
func runAccessSummary(ctx context.Context, srv *web.Server) {
	t := time.NewTicker(web.DefaultAccessSummaryInterval)
	defer t.Stop()
	srv.RunAccessSummary(ctx, t.C)
}
