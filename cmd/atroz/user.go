package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"atroz/auth"
	"atroz/store"

	"golang.org/x/term"
)

// UserCommand manages dashboard users.
type UserCommand struct {
	Env
	// Stdin supplies passwords; nil means the process's standard input.
	Stdin io.Reader
}

// Run runs `user add|list|passwd|role|remove`.
func (c *UserCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		c.Usage()
		return errUsage
	}
	switch args[0] {
	case "add":
		return c.add(args[1:])
	case "list":
		return c.list(args[1:])
	case "passwd":
		return c.passwd(args[1:])
	case "role":
		return c.role(args[1:])
	case "remove":
		return c.remove(args[1:])
	}
	if isHelpFlag(args[0]) {
		return c.help(c.Usage)
	}
	c.Usage()
	return errUsage
}

func (c *UserCommand) add(args []string) error {
	if len(args) > 1 && !strings.HasPrefix(args[0], "-") {
		args = append(args[1:], args[0]) // `user add NAME -role admin` reads as well as `user add -role admin NAME`
	}
	fs := c.flagSet("user add", c.Usage)
	role := fs.String("role", auth.RoleViewer, "viewer or admin")
	return c.withUser(fs, args, func(name string, a *auth.Service) error {
		pw, err := c.password("Password for " + name + ": ")
		if err != nil {
			return err
		}
		if err := a.AddUser(name, *role, pw); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "added %s (%s)\n", name, *role)
		return nil
	})
}

func (c *UserCommand) passwd(args []string) error {
	return c.withUser(c.flagSet("user passwd", c.Usage), args, func(name string, a *auth.Service) error {
		pw, err := c.password("New password for " + name + ": ")
		if err != nil {
			return err
		}
		if err := a.SetPassword(name, pw); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "password of %s changed\n", name)
		return nil
	})
}

// role changes a user's role; like a password change it ends the user's
// sessions, which a server started afterwards refuses.
func (c *UserCommand) role(args []string) error {
	if len(args) > 1 && !strings.HasPrefix(args[0], "-") {
		args = append(args[1:], args[0]) // `user role NAME -role viewer` as in user add
	}
	fs := c.flagSet("user role", c.Usage)
	role := fs.String("role", "", "viewer or admin")
	return c.withUser(fs, args, func(name string, a *auth.Service) error {
		if err := a.SetRole(name, *role); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "role of %s is %s; its sessions ended\n", name, *role)
		return nil
	})
}

func (c *UserCommand) remove(args []string) error {
	return c.withUser(c.flagSet("user remove", c.Usage), args, func(name string, a *auth.Service) error {
		if err := a.RemoveUser(name); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "removed %s\n", name)
		return nil
	})
}

func (c *UserCommand) list(args []string) error {
	return c.withExistingStore(c.flagSet("user list", c.Usage), args, func(cfg *Config, db *store.DB) error {
		return withAuth(cfg, db, func(a *auth.Service) error {
			users, err := a.Users()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.Created.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		})
	})
}

// withUser parses settings and the one NAME argument, opens the store
// (creating it) and its users, runs fn and closes them.
func (c *UserCommand) withUser(fs *flag.FlagSet, args []string, fn func(name string, a *auth.Service) error) (err error) {
	cfg, err := c.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(fs, 1); err != nil {
		return err
	}
	db, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	return withAuth(cfg, db, func(a *auth.Service) error { return fn(fs.Arg(0), a) })
}

// password reads a password: without echo from a terminal, else one line of Stdin.
func (c *UserCommand) password(prompt string) (string, error) {
	if c.Stdin == nil {
		if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) { // #nosec G115 -- a file descriptor fits an int
			fmt.Fprint(c.Stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(c.Stderr)
			return string(b), err
		}
		c.Stdin = os.Stdin
	}
	line, err := bufio.NewReader(c.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *UserCommand) Usage() {
	fmt.Fprint(c.Stderr, `Manage dashboard users. Passwords are read without echo from a terminal,
or as one line of standard input; they must be 12 to 72 bytes. A role or
password change and a removal end the user's login sessions.

Usage:

	atroz user add [-role viewer|admin] NAME
	atroz user list
	atroz user passwd NAME
	atroz user role -role viewer|admin NAME
	atroz user remove NAME
`)
	printSettings(c.Stderr, storeSettings...)
}

// errNoAdmin is returned by ensureAdmin when production starts on a store
// without users and without ADMIN_PASSWORD_FILE: it never invents a
// password, which would end up in the log stream.
var errNoAdmin = errors.New("production will not invent an admin password: set ADMIN_PASSWORD_FILE to a file holding one, or create a user first with: atroz user add -role admin NAME")

// ensureAdmin creates the user admin when the store has no user: with the
// password in passwordFile (its first line) when one is given; otherwise
// in production it returns errNoAdmin, and in development it invents a
// password and prints it once, to the console, never to the log.
func ensureAdmin(a *auth.Service, production bool, passwordFile string, console io.Writer) error {
	users, err := a.Users()
	if err != nil || len(users) > 0 {
		return err
	}
	switch {
	case passwordFile != "":
		pw, err := readPasswordFile(passwordFile)
		if err == nil {
			err = a.AddUser("admin", auth.RoleAdmin, pw)
		}
		if err != nil {
			return fmt.Errorf("ADMIN_PASSWORD_FILE: %w", err)
		}
		fmt.Fprintf(console, "\n  AtroZ created the user admin with the password of ADMIN_PASSWORD_FILE\n\n")
		return nil
	case production:
		return errNoAdmin
	}
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	pw := base64.RawURLEncoding.EncodeToString(b[:])
	if err := a.AddUser("admin", auth.RoleAdmin, pw); err != nil {
		return err
	}
	fmt.Fprintf(console, "\n  AtroZ created the user admin with password %s\n  It is shown this once; change it with: atroz user passwd admin\n\n", pw)
	return nil
}

// readPasswordFile returns the first line of path, which must not be empty.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path) // #nosec G304 -- ADMIN_PASSWORD_FILE is the operator's own setting
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s: empty, want the password on its first line", path)
	}
	return pw, nil
}
