package main

import (
	"context"
	"fmt"

	"atroz/alert"
)

// RulesCommand works with alert rule files.
type RulesCommand struct {
	Env
}

// Run runs `rules check FILE...`.
func (c *RulesCommand) Run(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		c.Usage()
		return errUsage
	}
	fs := c.flagSet("rules check", c.Usage)
	if err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		c.Usage()
		return errUsage
	}
	failed := 0
	for _, file := range fs.Args() {
		n, errs := alert.CheckRules(file)
		if len(errs) == 0 {
			fmt.Fprintf(c.Stdout, "%s: %d rules OK\n", file, n)
			continue
		}
		failed++
		for _, err := range errs {
			fmt.Fprintln(c.Stderr, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("rules check: %d of %d files have errors", failed, fs.NArg())
	}
	return nil
}

// Usage prints the command's help on Stderr.
func (c *RulesCommand) Usage() {
	fmt.Fprint(c.Stderr, `Validate Prometheus rule files as atroz loads them: every error with its line.

Usage:

	atroz rules check FILE...
`)
}
