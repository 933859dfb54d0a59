// Command atroz measures a web product from both ends, keeps the samples in an
// embedded time-series store, and serves them over HTTP.
//
// Usage:
//
//	atroz [serve] [flags]
//	atroz db import|stats|check|compact [flags]
//	atroz token create|list|revoke [flags] [NAME]
//	atroz demo -target URL -token TOKEN [flags]
//	atroz load -target URL -kind beacons|requests|import|query -rate N -duration D
//	atroz version
//	atroz help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version and commit are stamped at build time with
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "0.0.0-dev" // a semantic version, as Prometheus clients expect of buildinfo
	commit  = "unknown"
)

// errUsage is returned for a malformed command line once its usage has been
// printed; atroz then exits with status 2.
var errUsage = errors.New("usage")

func main() {
	m := NewMain()
	os.Exit(m.exitCode(m.Run(context.Background(), os.Args[1:])))
}

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads an environment variable, as os.LookupEnv does.
	LookupEnv func(key string) (string, bool)
}

// Main dispatches the command line to a subcommand.
type Main struct {
	Env
}

// NewMain returns a Main on the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Env{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}}
}

// Run runs the subcommand named by args[0]; without one, or when args[0] is a
// flag, it runs serve.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		m.Usage()
		return flag.ErrHelp
	}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	switch name {
	case "serve":
		return (&ServeCommand{m.Env}).Run(ctx, args)
	case "db":
		return (&DBCommand{m.Env}).Run(ctx, args)
	case "token":
		return (&TokenCommand{m.Env}).Run(ctx, args)
	case "load":
		return (&LoadCommand{Env: m.Env}).Run(ctx, args)
	case "version":
		return (&VersionCommand{m.Env}).Run(ctx, args)
	case "rules":
		return (&RulesCommand{m.Env}).Run(ctx, args)
	case "user":
		return (&UserCommand{Env: m.Env}).Run(ctx, args)
	case "demo":
		return (&DemoCommand{m.Env}).Run(ctx, args)
	case "help":
		return m.help(ctx, args)
	}
	fmt.Fprintf(m.Stderr, "atroz: unknown subcommand %q\n\n", name)
	m.Usage()
	return errUsage
}

// help prints the usage of atroz, or of the subcommand named in args.
func (m *Main) help(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printMainUsage(m.Stdout)
		return nil
	}
	return m.Run(ctx, []string{args[0], "-h"})
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// Usage prints the subcommands on Stderr.
func (m *Main) Usage() {
	printMainUsage(m.Stderr)
}

func printMainUsage(w io.Writer) {
	fmt.Fprint(w, `atroz watches a web product from both ends and keeps what it measures.

Usage:

	atroz <command> [flags] [arguments]

Commands:

	serve      run the HTTP server over the store (the default)
	db         import into, inspect, check and compact the store file
	token      create, list and revoke API tokens (scopes read, ingest, admin)
	rules      check alert rule files ("atroz rules check FILE")
	user       add, list, change the password of, or remove dashboard users
	demo       send realistic traffic to a running server, so charts move and alerts fire
	load       send constant-rate load to a server and check what it stored
	version    print the version, commit and Go version
	help       print this help, or "atroz help <command>" for one command

Flags may also be set by environment variables; a flag wins over its variable.
`)
}

// exitCode reports err on Stderr unless it was already reported, and returns
// the process's exit status: 0 on success or help, 2 for a malformed command
// line, 1 otherwise.
func (m *Main) exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(m.Stderr, "atroz: %v\n", err)
	return 1
}

// flagSet returns a FlagSet for the subcommand name that reports errors and
// usage on Stderr instead of exiting.
func (e Env) flagSet(name string, usage func()) *flag.FlagSet {
	fs := flag.NewFlagSet("atroz "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = usage
	return fs
}

// parseConfig reads the settings shared by every subcommand from the
// environment and then from args, whose other flags fs already holds, and
// validates them.
func (e Env) parseConfig(fs *flag.FlagSet, args []string) (*Config, error) {
	cfg, envErr := newConfig(fs, e.LookupEnv)
	if err := parseArgs(fs, args); err != nil {
		return nil, err
	}
	if envErr != nil {
		return nil, envErr
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseArgs parses args into fs. A malformed command line, which fs has
// already reported with its usage, becomes errUsage.
func parseArgs(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}

// wantArgs reports a usage error unless fs was given exactly n arguments
// besides its flags.
func (e Env) wantArgs(fs *flag.FlagSet, n int) error {
	if fs.NArg() == n {
		return nil
	}
	fmt.Fprintf(e.Stderr, "%s: want %d argument(s), got %d\n\n", fs.Name(), n, fs.NArg())
	fs.Usage()
	return errUsage
}

// printSettings writes the flags that every subcommand reading the store
// accepts, with their variables and built-in defaults.
func printSettings(w io.Writer) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(w)
	_, _ = newConfig(fs, func(string) (string, bool) { return "", false })
	fmt.Fprintln(w, "\nSettings (flag, then $VARIABLE; a flag wins over its variable):")
	fs.PrintDefaults()
}
