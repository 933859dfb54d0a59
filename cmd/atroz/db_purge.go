package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// DBPurgeCommand erases everything stored about one service: an erasure
// request under GDPR or Colombia's Law 1581 of 2012.
type DBPurgeCommand struct {
	Env
}

// Run deletes the series labelled service=NAME, and the freshness series of
// its sources, from every tier. The freed pages go back to the file system
// with `atroz db compact`.
func (c *DBPurgeCommand) Run(_ context.Context, args []string) error {
	fs := c.flagSet("db purge", c.Usage)
	service := fs.String("service", "", "the service whose data is erased")
	return c.withExistingStore(fs, args, func(cfg *Config, db *store.DB) error {
		if *service == "" {
			return errors.New("db purge: -service NAME is required")
		}
		n, err := db.DeleteSeries(labels.MustNewMatcher(labels.MatchEqual, "service", *service))
		if err != nil {
			return err
		}
		src, err := labels.NewMatcher(labels.MatchRegexp, "source", ".*:"+regexpQuote(*service))
		if err != nil {
			return err
		}
		m, err := db.DeleteSeries(labels.MustNewMatcher(labels.MatchEqual, "__name__", "data_last_sample_timestamp_seconds"), src)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "purged %d series of service %q from %s; run atroz db compact to shrink the file\n", n+m, *service, cfg.StorePath())
		return nil
	})
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// Usage prints the command's help on Stderr.
func (c *DBPurgeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Erase every series of one service (labelled service=NAME) from every tier.

Usage:

	atroz db purge -service NAME
`)
	printSettings(c.Stderr)
}
