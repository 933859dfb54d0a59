package main

import (
	"context"
	"fmt"
	"runtime"
)

// VersionCommand prints the version, the commit and the Go version the binary
// was built from.
type VersionCommand struct {
	Env
}

// Run prints the build information on Stdout.
func (c *VersionCommand) Run(_ context.Context, args []string) error {
	fs := c.flagSet("version", c.Usage)
	if err := c.parseArgs(fs, args); err != nil {
		return err
	}
	if err := c.wantArgs(fs, 0); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "atroz %s\ncommit %s\n%s %s/%s\n",
		version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *VersionCommand) Usage() {
	fmt.Fprint(c.Stderr, `Print the version, commit and Go version of this binary.

Usage:

	atroz version
`)
}
