package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"atroz/auth"
	"atroz/store"
)

// DBCheckCommand verifies the consistency of the store file.
type DBCheckCommand struct {
	Env
}

// Run prints "ok" when the store is consistent, and otherwise each problem
// found, failing.
func (c *DBCheckCommand) Run(_ context.Context, args []string) error {
	return c.withExistingStore(c.flagSet("db check", c.Usage), args, func(cfg *Config, db *store.DB) error {
		if err := errors.Join(db.Check(), auth.Check(db)); err != nil {
			n := printProblems(c.Stdout, err)
			return fmt.Errorf("check %s: %d problem(s) found", cfg.StorePath(), n)
		}
		fmt.Fprintln(c.Stdout, "ok")
		return nil
	})
}

// printProblems writes each problem joined in err on its own line and returns
// how many there were.
func printProblems(w io.Writer, err error) int {
	problems := strings.Split(err.Error(), "\n")
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	return len(problems)
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBCheckCommand) Usage() {
	fmt.Fprint(c.Stderr, `Verify that every series, chunk, rollup, log, user and token record of the
store decodes and agrees with the others. Prints "ok", or each problem and exits 1.

Usage:

	atroz db check [flags]
`)
	printSettings(c.Stderr, storeSettings...)
}
