package main

import (
	"context"
	"fmt"

	"atroz/collector"
	"atroz/slo"
)

// SLOConfig holds the settings of service-level objectives.
type SLOConfig struct {
	// File declares SLOs (SLO_FILE, -slo-file); see package slo.
	File string
	// Defaults keeps the built-in SLOs per service (SLO_DEFAULTS, -slo-defaults).
	// Default true; a file's defaults: false drops them too.
	Defaults bool
}

func (s *SLOConfig) settings() []setting {
	return []setting{
		{"slo-file", "YAML file of service-level objectives (atroz slo check FILE)", &s.File},
		{"slo-defaults", "keep the built-in SLOs per service: 99% of requests not 5xx, 95% within 500ms, half of beacon seconds over 50 fps (default true)", &s.Defaults},
	}
}

// load reads the SLO file, or only the built-in SLOs when there is none;
// SLO_DEFAULTS=false drops those, whatever the file says.
func (s *SLOConfig) load() (*slo.File, error) {
	f := &slo.File{Defaults: true}
	if s.File != "" {
		var err error
		if f, err = slo.Load(s.File, collector.DurationBuckets()); err != nil {
			return nil, err
		}
	}
	f.Defaults = f.Defaults && s.Defaults
	return f, nil
}

// SLOCommand checks SLO files and prints the rules they make.
type SLOCommand struct {
	Env
}

// Run runs `slo check FILE` or `slo rules [FILE]`.
func (c *SLOCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		return c.help(c.Usage)
	}
	if len(args) == 0 || args[0] != "check" && args[0] != "rules" {
		c.Usage()
		return errUsage
	}
	sub := args[0]
	fs := c.flagSet("slo "+sub, c.Usage)
	cfg, err := c.parseConfig(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "check" && fs.NArg() != 1, sub == "rules" && fs.NArg() > 1:
		c.Usage()
		return errUsage
	case fs.NArg() == 1:
		cfg.SLO.File = fs.Arg(0)
	}
	f, err := cfg.SLO.load()
	if err != nil {
		return err
	}
	if sub == "check" {
		fmt.Fprintf(c.Stdout, "%s: SUCCESS: %d SLOs, the built-in ones %s\n", cfg.SLO.File, len(f.SLOs), map[bool]string{true: "kept", false: "dropped"}[f.Defaults])
		return nil
	}
	b, err := slo.Rules(f)
	if err != nil {
		return err
	}
	_, err = c.Stdout.Write(b)
	return err
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *SLOCommand) Usage() {
	fmt.Fprint(c.Stderr, `Check a file of service-level objectives, each error once as FILE:LINE:
message, or print the Prometheus rules the SLOs make (the file's, or SLO_FILE's,
and the built-in ones unless dropped): per SLO, the error ratio recorded over
5m, 30m, 1h, 2h, 6h, 1d, 3d and its window, and the multiwindow, multi-burn-rate
alerts SLOErrorBudgetBurnPage and SLOErrorBudgetBurnTicket.

Usage:

	atroz slo check [flags] FILE
	atroz slo rules [flags] [FILE]
`)
	printSettings(c.Stderr, "slo-file", "slo-defaults")
}
