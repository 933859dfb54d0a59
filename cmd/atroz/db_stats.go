package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"atroz/store"
)

// DBStatsCommand prints what the store file holds, tier by tier.
type DBStatsCommand struct {
	Env
}

// Run prints the store's series, samples and bytes per tier on Stdout.
func (c *DBStatsCommand) Run(_ context.Context, args []string) error {
	return c.withExistingStore(c.flagSet("db stats", c.Usage), args, func(cfg *Config, db *store.DB) error {
		ds, err := db.DiskStats()
		if err != nil {
			return fmt.Errorf("disk stats: %w", err)
		}
		return printDiskStats(c.Stdout, cfg.StorePath(), ds)
	})
}

// printDiskStats writes ds as a summary followed by an aligned table of tiers.
func printDiskStats(w io.Writer, path string, ds store.DiskStats) error {
	fmt.Fprintf(w, "file    %s\nsize    %s (%d bytes)\nseries  %d\nwal     %d records, %d bytes\n\n",
		path, formatBytes(ds.FileBytes), ds.FileBytes, ds.Series, ds.WALRecords, ds.WALBytes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tier\tblocks\tsamples\tbytes\tbytes/sample\t")
	for _, t := range ds.Tiers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t\n", t.Name, t.Blocks, t.Samples, t.Bytes, t.BytesPerSample())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	return nil
}

// Usage prints the command's help on Stderr.
func (c *DBStatsCommand) Usage() {
	fmt.Fprint(c.Stderr, `Print the store's size, series, and the blocks, samples and bytes of each tier
(raw, 1m and 1h rollups). The store must not be in use by a running server.

Usage:

	atroz db stats [flags]
`)
	printSettings(c.Stderr)
}
