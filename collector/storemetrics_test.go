package collector

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"atroz/store"
)

func TestStoreMetrics(t *testing.T) {
	c, db := newTest(t, nil)
	if err := db.Append(store.Labels{{Name: store.MetricName, Value: "up"}}, testNow.UnixMilli(), 1); err != nil {
		t.Fatal(err)
	}
	wantLines(t, c, "store_series 1", "store_samples_appended_total 1", "store_disk_full 0", `store_samples_refused_total{reason="disk_full"} 0`)
}

// TestScrapeErrorsLogged logs a failed scrape, but not one a full volume
// refused: the store logs that once, not every scrape interval.
func TestScrapeErrorsLogged(t *testing.T) {
	var logs bytes.Buffer
	c, _ := newTest(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	c.logScrapeError(nil)
	c.logScrapeError(fmt.Errorf("scrape: %w", store.ErrDiskFull))
	if logs.Len() != 0 {
		t.Fatalf("logged %s", logs.String())
	}
	c.logScrapeError(errors.New("scrape: store refused 1 of 9 samples"))
	if !strings.Contains(logs.String(), `"msg":"self-scrape failed"`) {
		t.Fatalf("a failed scrape was not logged: %q", logs.String())
	}
}
