package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"atroz/alert"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// DBPurgeCommand erases everything stored about one service: an erasure
// request under GDPR or Colombia's Law 1581 of 2012.
type DBPurgeCommand struct {
	Env
}

// Run deletes the series labelled service=NAME, and the freshness series of
// its sources, from every tier, then what alerting keeps about the service
// (alert.PurgeService): the state and history of its alerts and the
// silences of its alerts alone. The freed pages go back to the file system
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
		p, err := alert.PurgeService(db, *service)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "purged %d series, %d alert states, %d alert history events and %d silences of service %q from %s; run atroz db compact to shrink the file\n",
			n+m, p.States, p.Events, p.Silences, *service, cfg.StorePath())
		return nil
	})
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBPurgeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Erase every series of one service (labelled service=NAME) from every tier,
and the state and history of its alerts (labelled service=NAME, or StaleData
with source=KIND:NAME) and the silences with the matcher service="NAME".
Run atroz db compact afterwards to drop the freed pages from the file.

Usage:

	atroz db purge -service NAME
`)
	printSettings(c.Stderr, storeSettings...)
}
