package main

import (
	"context"
	"fmt"

	"atroz/store"
)

// DBCompactCommand re-encodes the store's closed data into blocks and
// rewrites the file so that it shrinks to the data it holds; bbolt never
// gives freed pages back to the disk by itself.
type DBCompactCommand struct {
	Env
}

// Run compacts the store and prints its size before and after.
func (c *DBCompactCommand) Run(_ context.Context, args []string) error {
	fs := c.flagSet("db compact", c.Usage)
	cfg, err := c.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(fs, 0); err != nil {
		return err
	}
	if err := requireStore(cfg); err != nil {
		return err
	}
	before, after, err := store.Compact(cfg.StorePath(), cfg.StoreOptions())
	if err != nil {
		return storeError(cfg, "compact", err)
	}
	fmt.Fprintf(c.Stdout, "compacted %s: %s -> %s (%d -> %d bytes)\n",
		cfg.StorePath(), formatBytes(before), formatBytes(after), before, after)
	return nil
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBCompactCommand) Usage() {
	fmt.Fprint(c.Stderr, `Re-encode every closed chunk and rollup block of the store into blocks, then
rewrite the file without its free pages. Stop the server first: the file
must not be open elsewhere.

Usage:

	atroz db compact [flags]
`)
	printSettings(c.Stderr, writeSettings...)
}
