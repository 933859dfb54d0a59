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
	"slices"
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
		printMainUsage(m.Stdout)
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
	case "slo":
		return (&SLOCommand{m.Env}).Run(ctx, args)
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

// help prints the usage of atroz, or of the (sub)command named in args,
// on Stdout: "atroz help db stats" is "atroz db stats -h".
func (m *Main) help(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printMainUsage(m.Stdout)
		return nil
	}
	return m.Run(ctx, append(args, "-h"))
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// Usage prints the subcommands on Stderr, after a malformed command line.
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
	slo        check SLO files and print the rules they make ("atroz slo check FILE")
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

// flagSet returns a FlagSet for the subcommand name whose errors and help
// parseArgs reports, and whose usage is usage.
func (e *Env) flagSet(name string, usage func()) *flag.FlagSet {
	fs := flag.NewFlagSet("atroz "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = usage
	return fs
}

// help prints a command's usage on Stdout, as asked for, and returns
// flag.ErrHelp, for which atroz exits 0. usage writes on e.Stderr, which
// points to Stdout meanwhile.
func (e *Env) help(usage func()) error {
	stderr := e.Stderr
	e.Stderr = e.Stdout
	defer func() { e.Stderr = stderr }()
	if usage != nil {
		usage()
	}
	return flag.ErrHelp
}

// parseConfig reads the settings shared by every subcommand from the
// environment and then from args, whose other flags fs already holds, and
// validates them.
func (e *Env) parseConfig(fs *flag.FlagSet, args []string) (*Config, error) {
	cfg, envErr := newConfig(fs, e.LookupEnv)
	if err := e.parseArgs(fs, args); err != nil {
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

// parseArgs parses args into fs. Asked for help, it prints fs's usage on
// Stdout and returns flag.ErrHelp. A malformed command line is reported on
// Stderr, an unknown flag with the nearest one fs defines, followed by the
// usage, and becomes errUsage.
func (e *Env) parseArgs(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return e.help(usage)
	}
	fmt.Fprintf(e.Stderr, "%s: %s\n\n", fs.Name(), explainFlagError(fs, err))
	if usage != nil {
		usage()
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}

// wantArgs reports a usage error unless fs was given exactly n arguments
// besides its flags.
func (e *Env) wantArgs(fs *flag.FlagSet, n int) error {
	if fs.NArg() == n {
		return nil
	}
	fmt.Fprintf(e.Stderr, "%s: want %d argument(s), got %d\n\n", fs.Name(), n, fs.NArg())
	fs.Usage()
	return errUsage
}

// The settings each kind of subcommand reads, for its help; serve reads them all.
var (
	// storeSettings are read by the commands that open the store to read
	// it or to change its users or tokens.
	storeSettings = []string{"data-dir", "lock-timeout", "state-redis-url"}
	// writeSettings are read by the commands that write samples or rewrite the file.
	writeSettings = append(slices.Clip(storeSettings), "flush-interval", "max-series", "data-retention-days")
)

// printSettings writes the settings named, or every setting when none is,
// with their variables and built-in defaults. A subcommand accepts every
// setting, as they may all be set in its environment, but lists only those
// it reads.
func printSettings(w io.Writer, names ...string) {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	_, _ = newConfig(all, func(string) (string, bool) { return "", false })
	fs := all
	if len(names) > 0 {
		fs = flag.NewFlagSet("", flag.ContinueOnError)
		for _, n := range names {
			if f := all.Lookup(n); f != nil {
				fs.Var(f.Value, f.Name, f.Usage)
			}
		}
	}
	fs.SetOutput(w)
	fmt.Fprintln(w, "\nSettings (flag, then $VARIABLE; a flag wins over its variable):")
	fs.PrintDefaults()
}
