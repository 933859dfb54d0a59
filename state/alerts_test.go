package state

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"atroz/alert"
	"atroz/alert/notify"
	"atroz/internal/extserver"
	"atroz/query"
	"atroz/store"
)

// counting is a receiver that counts what it is sent, by status.
type counting struct {
	mu   sync.Mutex
	sent map[string]int
}

func (c *counting) Name() string { return "counting" }

func (c *counting) Send(_ context.Context, ns []*notify.Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range ns {
		c.sent[n.Status]++
	}
	return nil
}

func (c *counting) count(status string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[status]
}

// alertInstance is one AtroZ's alerting over the shared records, with
// its own lease and receiver, evaluating the same data.
type alertInstance struct {
	m     *alert.Manager
	lease *Lease
	rec   *counting
	disp  *notify.Dispatcher
}

func newAlertInstance(t *testing.T, url string, db *store.DB, rules string) *alertInstance {
	t.Helper()
	r := openRedis(t, url)
	groups, err := alert.ParseRules([]byte(rules), "rules.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &alertInstance{lease: r.Lease("alerts", 300*time.Millisecond, slog.New(slog.DiscardHandler)), rec: &counting{sent: map[string]int{}}}
	t.Cleanup(func() { _ = in.lease.Close() })
	in.disp = notify.NewDispatcher([]notify.Receiver{in.rec}, nil)
	t.Cleanup(in.disp.Close)
	in.m, err = alert.NewManager(db, query.New(db, nil), groups, in.disp, &alert.Options{Records: r, Leading: in.lease.Held})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOneInstanceNotifies: two instances evaluate the same firing rule;
// only the lease holder notifies, once. When it hands the lease over, the
// other takes it, reads the alert state the first left and notifies
// nothing again; a silence made on either is seen by both, and one made
// on an instance that has not read the other's latest loses neither.
func TestOneInstanceNotifies(t *testing.T) {
	url, _ := extserver.Redis(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	const rules = "groups:\n- name: t\n  rules:\n  - alert: Always\n    expr: vector(1)\n    labels: {severity: page}\n"
	a := newAlertInstance(t, url, db, rules)
	b := newAlertInstance(t, url, db, rules)
	if !a.lease.Held() || b.lease.Held() {
		t.Fatalf("lease held by a: %v, by b: %v; want a alone", a.lease.Held(), b.lease.Held())
	}
	ctx := context.Background()
	now := time.Now()
	a.m.EvalAt(ctx, now)
	b.m.EvalAt(ctx, now)
	extserver.Eventually(t, 5*time.Second, "the leader's notification", func() bool { return a.rec.count("firing") == 1 })
	if len(b.m.Alerts()) != 1 {
		t.Errorf("the other instance shows %d alerts, want the firing one", len(b.m.Alerts()))
	}

	if err := a.lease.Close(); err != nil {
		t.Fatal(err)
	}
	extserver.Eventually(t, 5*time.Second, "the other instance to take the lease", b.lease.Held)
	for i := 1; i <= 3; i++ {
		a.m.EvalAt(ctx, now.Add(time.Duration(i)*time.Second))
		b.m.EvalAt(ctx, now.Add(time.Duration(i)*time.Second))
	}
	if _, err := b.m.AddSilence(alert.Silence{Matchers: []alert.Matcher{{Name: "alertname", Value: "Always"}}, EndsAt: now.Add(time.Hour), CreatedBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	if got := len(a.m.Silences()); got != 1 {
		t.Errorf("the first instance sees %d silences, want the one made on the other", got)
	}
	// Each adds one more without reading the other's first: the write
	// behind the revision reloads and goes through, losing neither.
	for _, in := range []*alertInstance{b, a} {
		if _, err := in.m.AddSilence(alert.Silence{Matchers: []alert.Matcher{{Name: "alertname", Value: "Other"}}, EndsAt: now.Add(time.Hour), CreatedBy: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	for name, in := range map[string]*alertInstance{"first": a, "second": b} {
		if got := len(in.m.Silences()); got != 3 {
			t.Errorf("the %s instance sees %d silences, want 3", name, got)
		}
	}
	b.disp.Close() // delivers what is queued
	a.disp.Close()
	if n := a.rec.count("firing") + b.rec.count("firing"); n != 1 {
		t.Errorf("%d firing notifications from both instances, want 1", n)
	}
}

// TestNewLeaderNotifiesWhatNoOneDid: an alert fires on the follower while
// the leader has not evaluated it yet, then the leader hands over: the new
// leader reads the state the last one left, in which nothing was
// notified, and notifies.
func TestNewLeaderNotifiesWhatNoOneDid(t *testing.T) {
	url, _ := extserver.Redis(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	const rules = "groups:\n- name: t\n  rules:\n  - alert: Always\n    expr: vector(1)\n"
	a := newAlertInstance(t, url, db, rules)
	b := newAlertInstance(t, url, db, rules)
	ctx, now := context.Background(), time.Now()
	b.m.EvalAt(ctx, now) // the follower sees it fire, and notifies no one
	if err := a.lease.Close(); err != nil {
		t.Fatal(err)
	}
	extserver.Eventually(t, 5*time.Second, "the follower to take the lease", b.lease.Held)
	b.m.EvalAt(ctx, now.Add(time.Second))
	extserver.Eventually(t, 5*time.Second, "the new leader's notification", func() bool { return b.rec.count("firing") == 1 })
}
