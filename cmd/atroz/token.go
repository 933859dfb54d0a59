package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"atroz/auth"
	"atroz/store"
)

// TokenCommand dispatches the subcommands that create, list and revoke the
// API tokens that services, Grafana and promtool send as
// "Authorization: Bearer <token>" or as the basic-auth password.
type TokenCommand struct {
	Env
}

// Run runs the token subcommand named by args[0].
func (c *TokenCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.Stderr, "atroz token: missing subcommand")
		c.Usage()
		return errUsage
	}
	switch args[0] {
	case "create":
		return (&TokenCreateCommand{c.Env}).Run(ctx, args[1:])
	case "list":
		return (&TokenListCommand{c.Env}).Run(ctx, args[1:])
	case "revoke":
		return (&TokenRevokeCommand{c.Env}).Run(ctx, args[1:])
	}
	if isHelpFlag(args[0]) {
		return c.help(c.Usage)
	}
	fmt.Fprintf(c.Stderr, "atroz token: unknown subcommand %q\n\n", args[0])
	c.Usage()
	return errUsage
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *TokenCommand) Usage() {
	fmt.Fprint(c.Stderr, `Create, list and revoke API tokens. A token is sent as
"Authorization: Bearer <token>", or as the password of HTTP basic auth with
any user name. Its scopes say what it may do: read (queries, rules, alerts,
metadata, federation, remote read), ingest (request events, Prometheus text,
remote write, /metrics), admin (tokens, silences, security status; implies read).

Usage:

	atroz token <command> [flags] [arguments]

Commands:

	create NAME   create a token and print its secret, once
	list          print each token's name, scopes, creation, last use and expiry
	revoke NAME   delete a token; its secret is refused from then on

Flags come before arguments. Run "atroz token <command> -h" for a command's flags.
`)
}

// TokenCreateCommand creates an API token.
type TokenCreateCommand struct {
	Env
}

// Run creates the token named by the one argument, creating the store if
// needed, and prints its secret alone on Stdout.
func (c *TokenCreateCommand) Run(_ context.Context, args []string) error {
	fs := c.flagSet("token create", c.Usage)
	var scopes scopeFlag
	fs.Var(&scopes, "scope", "what the token may do: read, ingest or admin; repeat or separate by commas (default ingest)")
	expires := fs.String("expires", "", "how long the token is accepted, as 90d or 2160h (default: no expiry)")
	return c.withTokenName(fs, args, openStore, func(a *auth.Service, name string) error {
		scope, until, err := createOptions(scopes, *expires, time.Now())
		if err != nil {
			return err
		}
		secret, err := a.CreateToken(name, scope, until)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.Stdout, secret)
		fmt.Fprintf(c.Stderr, "created token %s (%s%s); keep its secret now: it is stored only as a hash and will not be shown again\n", name, scope, expiryNote(until))
		return nil
	})
}

// createOptions reads -scope (ingest when not given, as tokens were before
// they had scopes) and -expires, a duration from now.
func createOptions(scopes scopeFlag, expires string, now time.Time) (auth.Scope, time.Time, error) {
	scope := auth.ScopeIngest
	if len(scopes) > 0 {
		var err error
		if scope, err = auth.ParseScopes(scopes...); err != nil {
			return 0, time.Time{}, fmt.Errorf("-scope: %w", err)
		}
	}
	if expires == "" {
		return scope, time.Time{}, nil
	}
	d, err := parseLifetime(expires)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("-expires: %w", err)
	}
	return scope, now.Add(d), nil
}

// parseLifetime reads a positive duration: Go's (2160h) or whole days (90d).
func parseLifetime(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 90d or 2160h", s)
	}
	return d, nil
}

func expiryNote(until time.Time) string {
	if until.IsZero() {
		return ", no expiry"
	}
	return ", expires " + until.UTC().Format(time.RFC3339)
}

// scopeFlag collects -scope, which may be repeated.
type scopeFlag []string

func (s *scopeFlag) String() string { return strings.Join(*s, ",") }

func (s *scopeFlag) Set(v string) error {
	if _, err := auth.ParseScopes(v); err != nil {
		return err
	}
	*s = append(*s, v)
	return nil
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *TokenCreateCommand) Usage() {
	fmt.Fprint(c.Stderr, `Create the API token NAME and print its secret alone on stdout, so a script
can capture it. The secret is shown once: the store keeps only its hash.
NAME is 1 to 64 ASCII letters, digits, '_', '.' or '-', starting with a letter
or digit. Creates the store if it does not exist yet.

Usage:

	atroz token create [-scope read|ingest|admin]... [-expires 90d] NAME

	-scope    what the token may do; repeat it or separate by commas
	          (-scope read,admin). Default ingest.
	-expires  how long it is accepted, as 90d or 2160h. Default: no expiry.

For Grafana and promtool: atroz token create -scope read grafana
`)
	printSettings(c.Stderr, storeSettings...)
}

// TokenListCommand prints the API tokens.
type TokenListCommand struct {
	Env
}

// Run prints an aligned table of the tokens.
func (c *TokenListCommand) Run(_ context.Context, args []string) error {
	return c.withExistingStore(c.flagSet("token list", c.Usage), args, func(cfg *Config, db *store.DB) error {
		return withAuth(cfg, db, func(a *auth.Service) error {
			tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES")
			for _, t := range a.Tokens() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scopes, listTime(t.Created, ""), listTime(t.LastUsed, "never"), listTime(t.Expires, "never"))
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write tokens: %w", err)
			}
			return nil
		})
	})
}

// listTime is t in RFC 3339, UTC, or zero when t is zero.
func listTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *TokenListCommand) Usage() {
	fmt.Fprint(c.Stderr, `Print each API token's name, scopes, creation, last use and expiry (RFC 3339,
UTC), sorted by name. The last use is written by a running server at most
once a minute and when it stops. Secrets cannot be listed: the store keeps
only their hashes.

Usage:

	atroz token list [flags]
`)
	printSettings(c.Stderr, storeSettings...)
}

// TokenRevokeCommand deletes an API token.
type TokenRevokeCommand struct {
	Env
}

// Run deletes the token named by the one argument.
func (c *TokenRevokeCommand) Run(_ context.Context, args []string) error {
	return c.withTokenName(c.flagSet("token revoke", c.Usage), args, openExistingStore, func(a *auth.Service, name string) error {
		if err := a.RevokeToken(name); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "revoked %s\n", name)
		return nil
	})
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *TokenRevokeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Delete the API token NAME. A server started afterwards refuses its secret;
a running server revokes at once with DELETE /api/v1/admin/tokens/NAME or
from the dashboard's admin page.

Usage:

	atroz token revoke [flags] NAME
`)
	printSettings(c.Stderr, storeSettings...)
}

// withTokenName parses the settings from args, which must hold one
// argument besides flags, the token's name; opens the store with open and
// the auth service over it, runs fn and closes both.
func (e *Env) withTokenName(fs *flag.FlagSet, args []string, open func(*Config) (*store.DB, error), fn func(a *auth.Service, name string) error) (err error) {
	cfg, err := e.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := e.wantArgs(fs, 1); err != nil {
		return err
	}
	db, err := open(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	return withAuth(cfg, db, func(a *auth.Service) error { return fn(a, fs.Arg(0)) })
}

// withAuth opens the users and tokens of db, or of STATE_REDIS_URL, runs
// fn and closes them.
func withAuth(cfg *Config, db *store.DB, fn func(a *auth.Service) error) (err error) {
	sh, err := openShared(cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sh.close()) }()
	a, err := auth.Open(sh.records, &auth.Options{LastUsedInterval: -1}) // a command verifies no token: nothing to write
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	return fn(a)
}
