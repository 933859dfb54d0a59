package alert

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"atroz/alert/notify"
)

// queue writes queue_length: 150 from t0 for 5 minutes, 50 otherwise.
func queue(r *rig, ts time.Time) {
	v := 50.0
	if !ts.Before(t0) && ts.Before(t0.Add(5*time.Minute)) {
		v = 150
	}
	r.add(ts, v, "queue_length", "queue", "mail")
}

func TestForAndKeepFiringFor(t *testing.T) {
	r := newRig(t, "", "testdata/rules.yml")
	r.run(t0.Add(-time.Minute), t0.Add(15*time.Minute), func(ts time.Time) { queue(r, ts) })
	// pending at t0, firing 1m later, still firing 2m past the condition's end (keep_firing_for).
	want := "[pending@0s firing@1m0s resolved@7m0s]"
	if got := fmt.Sprint(r.history("QueueTooLong")); got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
	ns := r.notified(2)
	if ns[0].Annotations["summary"] != "queue mail holds 150" || ns[0].Labels["severity"] != "critical" {
		t.Fatalf("templates and labels: %+v", ns[0])
	}
}

func TestRulesFileReplacesDefaultByName(t *testing.T) {
	groups, err := LoadRules("testdata/rules.yml", []string{"StaleData"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		for _, rule := range g.Rules {
			names = append(names, g.Name+"/"+rule.Name())
		}
	}
	want := "[atroz-defaults/HighLatency atroz-defaults/HighErrorRate atroz-defaults/LowFrameRate atroz-defaults/PoorLCP atroz-defaults/PoorINP atroz-defaults/WebSocketChurn atroz-defaults/AtroZSlowAPI atroz-defaults/AtroZErrors atroz-defaults/AtroZFlushFailing atroz-defaults/AtroZDiskFull atroz-defaults/AtroZDiskFilling custom/QueueTooLong custom/HighMemory]"
	if fmt.Sprint(names) != want {
		t.Fatalf("rules %v, want %s", names, want)
	}
}

func TestSilenceMutesButRecords(t *testing.T) {
	r := newRig(t, "", "testdata/rules.yml")
	if _, err := r.m.AddSilence(Silence{Matchers: []Matcher{{Name: "queue", Value: "ma.*", IsRegex: true}}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour), Comment: "maintenance", CreatedBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	r.run(t0.Add(-time.Minute), t0.Add(15*time.Minute), func(ts time.Time) { queue(r, ts) })
	events := r.events("QueueTooLong")
	if len(events) != 3 || !events[1].Silenced {
		t.Fatalf("silenced alert's history: %+v", events)
	}
	r.disp.Close() // delivers anything queued
	if len(r.rec.got) != 0 {
		t.Fatalf("a silenced alert was notified: %+v", r.rec.got)
	}
	if len(r.m.Silences()) != 1 {
		t.Fatal("silence not listed")
	}
	bad := []Silence{
		{EndsAt: t0},
		{Matchers: []Matcher{{Name: "a", Value: "("}}, EndsAt: t0.Add(time.Hour)},
		{Matchers: []Matcher{{Name: "a", Value: "("}}, EndsAt: t0.Add(time.Hour), StartsAt: t0.Add(2 * time.Hour)},
		{Matchers: []Matcher{{Name: "a", Value: "b"}}},
	}
	bad[1].Matchers[0].IsRegex = true
	for _, s := range bad {
		if _, err := r.m.AddSilence(s); err == nil {
			t.Errorf("silence %+v accepted", s)
		}
	}
}

// TestRestartKeepsFiringAlert closes the store while an alert fires and
// opens a new manager on it: the alert fires on without a new notification,
// reminders keep their schedule, and it resolves with a notification.
func TestRestartKeepsFiringAlert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	r := newRig(t, path, "testdata/rules.yml")
	r.run(t0.Add(-time.Minute), t0.Add(2*time.Minute), func(ts time.Time) { queue(r, ts) })
	if ns := r.notified(1); ns[0].Status != notify.StatusFiring {
		t.Fatalf("before restart: %+v", ns)
	}
	r.close()

	r2 := newRig(t, path, "testdata/rules.yml")
	r2.now = t0.Add(2*time.Minute + 15*time.Second)
	r2.run(r2.now, t0.Add(15*time.Minute), func(ts time.Time) { queue(r2, ts) })
	want := "[pending@0s firing@1m0s resolved@7m0s]"
	if got := fmt.Sprint(r2.history("QueueTooLong")); got != want {
		t.Fatalf("transitions across the restart %s, want %s", got, want)
	}
	ns := r2.notified(1)
	if len(ns) != 1 || ns[0].Status != notify.StatusResolved || !ns[0].StartsAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after restart, notifications %+v; want only the resolution, of the alert fired at 1m", ns)
	}
}

func TestReminders(t *testing.T) {
	r := newRig(t, "", "")
	r.run(t0, t0.Add(2*time.Hour+10*time.Minute), func(ts time.Time) { r.add(ts, 0.9, "system_memory_usage_ratio") })
	ns := r.notified(3) // firing at 5m, reminders at 1h5m and 2h5m (RepeatInterval 1h in the rig)
	if !ns[1].Reminder || !ns[2].Reminder || ns[0].Reminder {
		t.Fatalf("reminder flags %v %v %v", ns[0].Reminder, ns[1].Reminder, ns[2].Reminder)
	}
	if got := len(r.m.Alerts()); got != 1 {
		t.Fatalf("%d active alerts, want 1", got)
	}
	r.m.EvalAt(context.Background(), r.now)
}
