package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"atroz/store"
)

// TokenCommand dispatches the subcommands that create, list and revoke the
// ingest tokens services send as "Authorization: Bearer <token>".
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
		c.Usage()
		return flag.ErrHelp
	}
	fmt.Fprintf(c.Stderr, "atroz token: unknown subcommand %q\n\n", args[0])
	c.Usage()
	return errUsage
}

// Usage prints the command's help on Stderr.
func (c *TokenCommand) Usage() {
	fmt.Fprint(c.Stderr, `Create, list and revoke the ingest tokens that services send as
"Authorization: Bearer <token>" to push request events and Prometheus text.

Usage:

	atroz token <command> [flags] [arguments]

Commands:

	create NAME   create a token and print its secret, once
	list          print each token's name and creation time
	revoke NAME   delete a token; its secret is refused from then on

The store must not be in use by a running server. Flags come before arguments.
Run "atroz token <command> -h" for a command's flags.
`)
}

// TokenCreateCommand creates an ingest token.
type TokenCreateCommand struct {
	Env
}

// Run creates the token named by the one argument, creating the store if
// needed, and prints its secret alone on Stdout.
func (c *TokenCreateCommand) Run(_ context.Context, args []string) error {
	return c.withStoreName(c.flagSet("token create", c.Usage), args, openStore, func(db *store.DB, name string) error {
		secret, err := db.CreateToken(name)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.Stdout, secret)
		fmt.Fprintf(c.Stderr, "created token %s; keep its secret now: it is stored only as a hash and will not be shown again\n", name)
		return nil
	})
}

// Usage prints the command's help on Stderr.
func (c *TokenCreateCommand) Usage() {
	fmt.Fprint(c.Stderr, `Create the ingest token NAME and print its secret alone on stdout, so a script
can capture it. The secret is shown once: the store keeps only its hash.
NAME is 1 to 64 ASCII letters, digits, '_', '.' or '-', starting with a letter
or digit. Creates the store if it does not exist yet.

Usage:

	atroz token create [flags] NAME
`)
	printSettings(c.Stderr)
}

// TokenListCommand prints the ingest tokens.
type TokenListCommand struct {
	Env
}

// Run prints an aligned table of the tokens' names and creation times.
func (c *TokenListCommand) Run(_ context.Context, args []string) error {
	return c.withExistingStore(c.flagSet("token list", c.Usage), args, func(_ *Config, db *store.DB) error {
		tokens, err := db.ListTokens()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Created.UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write tokens: %w", err)
		}
		return nil
	})
}

// Usage prints the command's help on Stderr.
func (c *TokenListCommand) Usage() {
	fmt.Fprint(c.Stderr, `Print the name and creation time (RFC 3339, UTC) of each ingest token, sorted
by name. Secrets cannot be listed: the store keeps only their hashes.

Usage:

	atroz token list [flags]
`)
	printSettings(c.Stderr)
}

// TokenRevokeCommand deletes an ingest token.
type TokenRevokeCommand struct {
	Env
}

// Run deletes the token named by the one argument.
func (c *TokenRevokeCommand) Run(_ context.Context, args []string) error {
	return c.withStoreName(c.flagSet("token revoke", c.Usage), args, openExistingStore, func(db *store.DB, name string) error {
		if err := db.RevokeToken(name); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "revoked %s\n", name)
		return nil
	})
}

// Usage prints the command's help on Stderr.
func (c *TokenRevokeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Delete the ingest token NAME. A server started afterwards refuses its secret.

Usage:

	atroz token revoke [flags] NAME
`)
	printSettings(c.Stderr)
}

// withStoreName parses the settings from args, which must hold one argument
// besides flags, the token's name; opens the store with open, runs fn on it
// and closes it.
func (e Env) withStoreName(fs *flag.FlagSet, args []string, open func(*Config) (*store.DB, error), fn func(db *store.DB, name string) error) (err error) {
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
	return fn(db, fs.Arg(0))
}
