package alert

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"atroz/store"
)

// TestPurgeService removes the state, history and silences about one
// service, its sources' StaleData included, and keeps other services'.
func TestPurgeService(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	put := func(kind store.RecordKind, key string, v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutRecord(kind, key, b); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alerts := map[string]map[string]string{
		"shop":       {"alertname": "HighErrorRate", "service": "shop", "owner": "jane@example.com"},
		"shop-stale": {"alertname": "StaleData", "source": "beacons:shop"},
		"shopping":   {"alertname": "HighErrorRate", "service": "shopping"},
		"billing":    {"alertname": "StaleData", "source": "requests:billing"},
	}
	var events [][]byte
	for key, ls := range alerts {
		put(store.RecordAlertState, key, known{Rule: ls["alertname"], State: StateFiring, Labels: ls, ActiveAt: now})
		b, _ := json.Marshal(Event{Time: now, AlertName: ls["alertname"], State: StateFiring, Labels: ls})
		events = append(events, b)
	}
	if err := db.AppendAlertEvents(now, events); err != nil {
		t.Fatal(err)
	}
	f := false
	put(store.RecordSilence, "only-shop", Silence{ID: "only-shop", Matchers: []Matcher{{Name: "alertname", Value: "HighErrorRate"}, {Name: "service", Value: "shop"}}, CreatedBy: "jane@example.com"})
	put(store.RecordSilence, "regex", Silence{ID: "regex", Matchers: []Matcher{{Name: "service", Value: "shop", IsRegex: true}}})
	put(store.RecordSilence, "not-shop", Silence{ID: "not-shop", Matchers: []Matcher{{Name: "service", Value: "shop", IsEqual: &f}}})

	p, err := PurgeService(db, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if p != (Purged{States: 2, Events: 2, Silences: 1}) {
		t.Errorf("PurgeService = %+v, want 2 states, 2 events, 1 silence", p)
	}
	var left []string
	_ = db.Records(store.RecordAlertState, func(k string, _ []byte) bool { left = append(left, k); return true })
	_ = db.AlertEvents(now, now, func(_ time.Time, v []byte) bool {
		var e Event
		_ = json.Unmarshal(v, &e)
		left = append(left, "event "+e.Labels["service"]+e.Labels["source"])
		return true
	})
	_ = db.Records(store.RecordSilence, func(k string, _ []byte) bool { left = append(left, "silence "+k); return true })
	slices.Sort(left)
	if got := fmt.Sprint(left); got != "[billing event requests:billing event shopping shopping silence not-shop silence regex]" {
		t.Errorf("left: %s", got)
	}
}
