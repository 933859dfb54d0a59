package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

func Example() {
	dir, _ := os.MkdirTemp("", "atroz-example")
	defer os.RemoveAll(dir)

	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Now().UnixMilli()
	route := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "route", Value: "/api/v1/items/:id"}}
	for i := range 3 {
		if err := db.Append(route, now-int64(2-i)*1000, float64(10*i)); err != nil {
			log.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil { // durable from here on
		log.Fatal(err)
	}

	series, err := db.Select(store.Query{
		MinT:     now - 60_000,
		MaxT:     now,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "route", "/api/.*")},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range series {
		fmt.Println(s.Labels, s.Tier, len(s.Samples), "samples, last", s.Samples[len(s.Samples)-1].V)
	}
	// Output: http_requests_total{route="/api/v1/items/:id"} raw 3 samples, last 20
}
