package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"atroz/store"
)

// DBImportCommand loads a file in the Prometheus text format into the store.
type DBImportCommand struct {
	Env
}

// Run imports the file named by the one argument. SIGINT or SIGTERM stops the
// import early; what was read by then is kept.
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
	db, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	return c.importFrom(ctx, db, f)
}

// importFrom imports r into db, printing progress on Stderr and the result on
// Stdout.
func (c *DBImportCommand) importFrom(ctx context.Context, db *store.DB, r io.Reader) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &progress{w: c.Stderr, every: time.Second, last: time.Now()}
	res, err := db.Import(ctxReader{ctx, r}, store.ImportOptions{Progress: p.report})
	c.printResult(res)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// printResult writes the import's summary on Stdout and its first rejections
// on Stderr.
func (c *DBImportCommand) printResult(r store.ImportResult) {
	fmt.Fprintf(c.Stdout, "imported %d samples into %d series in %.2fs (%.0f samples/s); skipped %d older than retention, rejected %d\n",
		r.Samples, r.Series, r.Duration.Seconds(), r.Rate(), r.SkippedOld, r.Rejected)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(c.Stderr, "rejected: %s\n", e)
	}
}

// Usage prints the command's help on Stderr.
func (c *DBImportCommand) Usage() {
	fmt.Fprint(c.Stderr, `Load samples in the Prometheus text format into the store, creating it if needed.
Samples older than the retention are skipped, invalid ones rejected; both are counted.

Usage:

	atroz db import [flags] FILE
`)
	printSettings(c.Stderr)
}

// progress prints an import's running count at most once per interval.
type progress struct {
	w     io.Writer
	every time.Duration

	mu   sync.Mutex
	last time.Time
}

// report prints r unless a line was printed less than an interval ago.
func (p *progress) report(r store.ImportResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		fmt.Fprintf(p.w, "imported %d samples so far (%.0f samples/s)\n", r.Samples, r.Rate())
	}
}

// ctxReader is a reader that fails with the context's error once it is done,
// so a long import stops on a signal.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from the underlying reader unless the context is done.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
