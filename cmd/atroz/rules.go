package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"atroz/alert"
	"atroz/collector"
	"atroz/store"
	"atroz/web"

	"github.com/VictoriaMetrics/metrics"
)

// RulesCommand checks Prometheus rule files.
type RulesCommand struct {
	Env
}

// Run runs `rules check [flags] FILE...`: each file is judged as promtool
// check rules judges it, each error printed once at its line and column,
// and notes (which change no exit status) name a rule that replaces a
// built-in one, a rule that repeats another, and a metric no series has.
func (c *RulesCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		return c.help(c.Usage)
	}
	if len(args) == 0 || args[0] != "check" {
		c.Usage()
		return errUsage
	}
	fs := c.flagSet("rules check", c.Usage)
	cfg, err := c.parseConfig(fs, args[1:])
	if err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		c.Usage()
		return errUsage
	}
	checks := make([]alert.FileCheck, len(files))
	for i, f := range files {
		checks[i] = alert.CheckFile(f)
	}
	known, source := c.knownMetrics(cfg, checks)
	failed := 0
	for _, fc := range checks {
		if len(fc.Problems) > 0 {
			failed++
			for _, p := range fc.Problems {
				fmt.Fprintln(c.Stderr, p.Error())
			}
			fmt.Fprintf(c.Stderr, "%s: FAILED: %d error(s)\n", fc.File, len(fc.Problems))
			continue
		}
		fmt.Fprintf(c.Stdout, "%s: SUCCESS: %d rules found\n", fc.File, len(fc.Rules))
		for _, n := range notes(fc, known, source) {
			fmt.Fprintln(c.Stderr, n)
		}
	}
	if failed > 0 {
		return fmt.Errorf("rules check: %d of %d files have errors", failed, len(files))
	}
	return nil
}

// knownMetrics returns the metric names some series has: those AtroZ
// writes itself, those the checked files record, and those stored in the
// data directory's file when there is one; source says where they came from.
func (c *RulesCommand) knownMetrics(cfg *Config, checks []alert.FileCheck) (map[string]bool, string) {
	known := map[string]bool{}
	for _, n := range ownMetrics() {
		known[n] = true
	}
	for _, fc := range checks {
		for _, r := range fc.Rules {
			if !r.Alerting {
				known[r.Name] = true
			}
		}
	}
	source := "AtroZ writes none such and no rule records it"
	names, err := storedMetrics(cfg)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		source += "; no data file at " + cfg.StorePath()
	case err != nil:
		fmt.Fprintf(c.Stderr, "note: stored metric names not read: %v\n", err)
	default:
		source += ", nor is it stored in " + cfg.StorePath()
		for _, n := range names {
			known[n] = true
		}
	}
	return known, source
}

// ownMetrics returns the names of the series AtroZ writes into its own
// store: the collector's metrics, the process and Go runtime metrics,
// alerting's, the security events' and the rate limiter's figures.
func ownMetrics() []string {
	var names []string
	for _, d := range collector.Defs {
		if d.Type == "histogram" {
			names = append(names, d.Name+"_bucket", d.Name+"_sum", d.Name+"_count")
			continue
		}
		names = append(names, d.Name)
	}
	var b bytes.Buffer
	metrics.WriteProcessMetrics(&b)
	web.NewSecurityEvents(slog.New(slog.DiscardHandler), false).WriteMetrics(&b)
	new(web.RateLimiter).WriteMetrics(&b)
	for line := range strings.Lines(b.String()) {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			names = append(names, name)
		}
	}
	return append(names, alert.MetricNames()...)
}

// storedMetrics returns the metric names stored in the data directory's
// file, which must exist: it is not created, and its samples are left as
// they are (no flusher or pruner runs while it is open).
func storedMetrics(cfg *Config) ([]string, error) {
	if _, err := os.Stat(cfg.StorePath()); err != nil { // #nosec G703 -- DATA_DIR is the operator's own setting
		return nil, err
	}
	o := cfg.StoreOptions()
	o.FlushInterval, o.PruneInterval, o.LockTimeout = -1, -1, min(cfg.LockTimeout, time.Second)
	db, err := store.Open(cfg.StorePath(), o)
	if err != nil {
		return nil, storeError(cfg, "open store", err)
	}
	names := db.LabelValues("__name__")
	return names, closeStore(db)
}

// notes returns what is worth knowing about a valid file.
func notes(fc alert.FileCheck, known map[string]bool, source string) []string {
	var out []string
	at := func(r alert.CheckedRule) string { return fmt.Sprintf("%s:%d:%d: note: ", fc.File, r.Line, r.Column) }
	builtin := alert.DefaultRuleNames()
	first := map[string]alert.CheckedRule{}
	for _, r := range fc.Rules {
		if r.Alerting && slices.Contains(builtin, r.Name) {
			out = append(out, at(r)+fmt.Sprintf("alert %q replaces the built-in rule of that name", r.Name))
		}
		key := r.Name + "\x00" + strings.Join(r.Labels, "\x00")
		if f, ok := first[key]; ok {
			out = append(out, at(r)+fmt.Sprintf("rule %q has the name and labels of the rule at line %d (promtool's duplicate-rules lint)", r.Name, f.Line))
		} else {
			first[key] = r
		}
		for _, m := range r.Metrics {
			if !known[m] {
				out = append(out, at(r)+fmt.Sprintf("rule %q selects metric %q, which no series has (%s)", r.Name, m, source))
			}
		}
	}
	return out
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *RulesCommand) Usage() {
	fmt.Fprint(c.Stderr, `Check Prometheus rule files as atroz and promtool check rules read them: each
error once as FILE:LINE:COL: message, and "FILE: SUCCESS: N rules found" for a
valid file. Notes, which leave the exit status alone, name a rule replacing a
built-in alert, a rule repeating another's name and labels, and a metric no
series has: none AtroZ writes itself, none the files record, none stored in
DATA_DIR/atroz.db when that file exists (it must not be in use).

Usage:

	atroz rules check [flags] FILE...
`)
	printSettings(c.Stderr, storeSettings...)
}
