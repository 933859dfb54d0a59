package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	berrors "go.etcd.io/bbolt/errors"

	"atroz/store"
)

// DBCommand dispatches the subcommands that import into, inspect, check and
// compact the store file.
type DBCommand struct {
	Env
}

// Run runs the db subcommand named by args[0].
func (c *DBCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.Stderr, "atroz db: missing subcommand")
		c.Usage()
		return errUsage
	}
	switch args[0] {
	case "import":
		return (&DBImportCommand{c.Env}).Run(ctx, args[1:])
	case "stats":
		return (&DBStatsCommand{c.Env}).Run(ctx, args[1:])
	case "check":
		return (&DBCheckCommand{c.Env}).Run(ctx, args[1:])
	case "compact":
		return (&DBCompactCommand{c.Env}).Run(ctx, args[1:])
	case "purge":
		return (&DBPurgeCommand{c.Env}).Run(ctx, args[1:])
	}
	if isHelpFlag(args[0]) {
		return c.help(c.Usage)
	}
	fmt.Fprintf(c.Stderr, "atroz db: unknown subcommand %q\n\n", args[0])
	c.Usage()
	return errUsage
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBCommand) Usage() {
	fmt.Fprint(c.Stderr, `Import into, inspect, check and compact the store file DATA_DIR/atroz.db.

Usage:

	atroz db <command> [flags] [arguments]

Commands:

	import FILE   load samples in the Prometheus text format
	stats         print series, samples and bytes per tier
	check         verify the file's consistency
	compact       rewrite the file to give freed pages back to the disk

Flags come before arguments. Run "atroz db <command> -h" for a command's flags.
`)
}

// openStore creates the data directory if needed and opens the store in it.
func openStore(cfg *Config) (*store.DB, error) {
	return openStoreWith(cfg, cfg.StoreOptions())
}

// openStoreWith is openStore with options of the caller's.
func openStoreWith(cfg *Config, o *store.Options) (*store.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil { // #nosec G703 -- DATA_DIR is the operator's own setting
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := store.Open(cfg.StorePath(), o)
	if err != nil {
		return nil, storeError(cfg, "open store", err)
	}
	return db, nil
}

// openExistingStore opens the store, refusing to create one that is not there.
func openExistingStore(cfg *Config) (*store.DB, error) {
	if err := requireStore(cfg); err != nil {
		return nil, err
	}
	return openStore(cfg)
}

// requireStore fails unless the store file exists.
func requireStore(cfg *Config) error {
	_, err := os.Stat(cfg.StorePath()) // #nosec G703 -- DATA_DIR is the operator's own setting
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no store at %s (is DATA_DIR right?)", cfg.StorePath())
	}
	if err != nil {
		return fmt.Errorf("stat store: %w", err)
	}
	return nil
}

// storeError explains a lock held by another process in words an operator
// can act on, and wraps any other error with op.
func storeError(cfg *Config, op string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("data directory %s is in use by another atroz process (lock not acquired within %s)",
			cfg.DataDir, cfg.LockTimeout)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// closeStore closes db, which writes its last flush.
func closeStore(db *store.DB) error {
	if err := db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// formatBytes writes n in binary units, as 1.5 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// withExistingStore parses the settings from args, which must hold no
// argument besides flags, opens the existing store, runs fn on it and closes it.
func (e *Env) withExistingStore(fs *flag.FlagSet, args []string, fn func(cfg *Config, db *store.DB) error) (err error) {
	cfg, err := e.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := e.wantArgs(fs, 0); err != nil {
		return err
	}
	db, err := openExistingStore(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	return fn(cfg, db)
}
