package alert

import (
	"encoding/json"
	"fmt"
	"strings"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// Purged counts what PurgeService removed.
type Purged struct {
	// States are alerts' last known states.
	States int
	// Events are alert history events.
	Events int
	// Silences are silences that could only silence the service's alerts.
	Silences int
}

// PurgeService removes from db what alerting keeps about service, for an
// erasure request (atroz db purge): the state and history of every alert
// labelled service=NAME, or whose source label is "KIND:NAME" (StaleData
// on the freshness series of the service's sources), and every silence
// with the matcher service="NAME", which only ever silences that service's
// alerts. A silence that merely may match it (a regular expression, or no
// service matcher) is kept: it is about other alerts too. Run it with no
// Manager open on db, as a running one writes its state back.
func PurgeService(db *store.DB, service string) (Purged, error) {
	var p Purged
	var err error
	about := func(ls map[string]string) bool {
		return ls["service"] == service || strings.HasSuffix(ls["source"], ":"+service)
	}
	if p.States, err = db.DeleteRecords(store.RecordAlertState, func(_ string, v []byte) bool {
		var k known
		return json.Unmarshal(v, &k) == nil && about(k.Labels)
	}); err != nil {
		return p, fmt.Errorf("purge alert state: %w", err)
	}
	if p.Events, err = db.DeleteAlertEvents(func(v []byte) bool {
		var e Event
		return json.Unmarshal(v, &e) == nil && about(e.Labels)
	}); err != nil {
		return p, fmt.Errorf("purge alert history: %w", err)
	}
	if p.Silences, err = db.DeleteRecords(store.RecordSilence, func(_ string, v []byte) bool {
		var s Silence
		return json.Unmarshal(v, &s) == nil && silencesOnly(s, service)
	}); err != nil {
		return p, fmt.Errorf("purge silences: %w", err)
	}
	return p, nil
}

// silencesOnly reports whether s has the matcher service="service", so
// that it silences that service's alerts alone.
func silencesOnly(s Silence, service string) bool {
	for _, m := range s.Matchers {
		if m.Name == "service" && m.Value == service && m.matchType() == labels.MatchEqual {
			return true
		}
	}
	return false
}
