package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"atroz/store"
)

// DBImportCommand loads a file in the Prometheus text format into the store.
type DBImportCommand struct {
	Env
}

// Run imports the file named by the one argument. SIGINT or SIGTERM stops
// the import early: while it checks, nothing is stored; while it writes,
// what it has written is kept.
func (c *DBImportCommand) Run(ctx context.Context, args []string) (err error) {
	fs := c.flagSet("db import", c.Usage)
	cfg, err := c.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(fs, 1); err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	db, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	return c.importFrom(ctx, db, f, fi.Size())
}

// importFrom imports the size bytes of r into db, printing progress on
// Stderr and the result on Stdout.
func (c *DBImportCommand) importFrom(ctx context.Context, db *store.DB, r io.ReaderAt, size int64) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &progress{w: c.Stderr, every: time.Second, last: time.Now()}
	res, err := db.ImportFrom(ctxReaderAt{ctx, r}, size, store.ImportOptions{Progress: p.report})
	c.printResult(res)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// printResult writes the import's summary on Stdout and its first rejections
// on Stderr.
func (c *DBImportCommand) printResult(r store.ImportResult) {
	fmt.Fprintf(c.Stdout, "imported %d samples into %d series in %.2fs (%.0f samples/s): raw %d, 1m %d, 1h %d; skipped %d older than every tier, rejected %d%s\n",
		r.Samples, r.Series, r.Duration.Seconds(), r.Rate(), r.Tiers.Raw, r.Tiers.Minute, r.Tiers.Hour, r.Tiers.TooOld, r.Rejected, byReason(r.RejectedBy))
	for _, e := range r.FirstErrors {
		fmt.Fprintf(c.Stderr, "rejected: %s\n", e)
	}
}

// byReason formats counts by reason as " (out_of_order 3, too_old 1)".
func byReason(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for reason, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", reason, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBImportCommand) Usage() {
	fmt.Fprint(c.Stderr, `Load samples in the Prometheus text format or OpenMetrics into the store,
creating it if needed. The file is read twice, as a stream: first checked
(a syntax error stores nothing), then written. Samples older than the raw
retention go into the rollup tiers that still keep their time (1m, 1h);
older than every tier they are skipped; samples the store refuses (out of
order, series limit, ...) are rejected. The summary counts each.

Usage:

	atroz db import [flags] FILE
`)
	printSettings(c.Stderr, writeSettings...)
}

// progress prints an import's running count at most once per interval.
type progress struct {
	w     io.Writer
	every time.Duration

	mu   sync.Mutex
	last time.Time
}

// report prints r unless a line was printed less than an interval ago:
// the samples checked while the import checks, then those stored.
func (p *progress) report(r store.ImportResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	if r.Samples == 0 && r.Checked > 0 {
		fmt.Fprintf(p.w, "checked %d samples so far (%.0f samples/s)\n", r.Checked, float64(r.Checked)/r.Duration.Seconds())
		return
	}
	fmt.Fprintf(p.w, "imported %d samples so far (%.0f samples/s)\n", r.Samples, r.Rate())
}

// ctxReaderAt is a file that fails with the context's error once it is
// done, so a long import stops on a signal.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

// ReadAt reads from the underlying file unless the context is done.
func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}
