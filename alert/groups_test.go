package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"atroz/alert/notify"
)

// twoGroups is two groups with an alerting rule of the same name, as two
// SLOs' burn-rate alerts are.
const twoGroups = `groups:
- name: shop
  rules:
  - alert: DeepQueue
    expr: queue_length{queue="shop"} > 100
    annotations: {summary: "queue {{ $labels.queue }} holds {{ $value }}"}
- name: mail
  rules:
  - alert: DeepQueue
    expr: queue_length{queue="mail"} > 100
`

func parseGroups(t *testing.T, yml string) []RuleGroup {
	t.Helper()
	gs, err := ParseRules([]byte(yml), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// groupNames returns the names of the groups in force with rules of source.
func groupNames(m *Manager, source string) []string {
	var out []string
	for _, g := range m.Groups() {
		if g.File == source {
			out = append(out, g.Name)
		}
	}
	return out
}

// TestSetGroups adds two groups to a running set on the injected clock:
// their alerts fire once each (the same alert name in two groups does not
// make each forget the other's), the rules list shows them at once, an
// unchanged group set again keeps its firing alert, and removing a group
// resolves its alert, recorded and notified, and stops evaluating it.
func TestSetGroups(t *testing.T) {
	r := newRig(t, "", "")
	write := func(ts time.Time) {
		r.add(ts, 150, "queue_length", "queue", "shop")
		r.add(ts, 150, "queue_length", "queue", "mail")
	}
	r.run(t0.Add(-time.Minute), t0.Add(-time.Minute), write)
	r.m.SetGroups("dashboard", parseGroups(t, twoGroups))
	if got := fmt.Sprint(groupNames(r.m, "dashboard")); got != "[shop mail]" {
		t.Fatalf("groups of the source %s, want [shop mail]", got)
	}
	r.run(t0, t0.Add(2*time.Minute), write)
	if got := fmt.Sprint(r.history("DeepQueue")); got != "[firing@0s firing@0s]" {
		t.Fatalf("transitions %s, want each group's alert firing once", got)
	}
	ns := r.notified(2)
	if ns[0].Status != notify.StatusFiring || ns[1].Status != notify.StatusFiring {
		t.Fatalf("notifications %+v, want two firing", ns)
	}
	// Set again with the mail group unchanged and the shop group gone.
	r.m.SetGroups("dashboard", parseGroups(t, twoGroups)[1:])
	if got := fmt.Sprint(groupNames(r.m, "dashboard")); got != "[mail]" {
		t.Fatalf("groups after removing shop %s, want [mail]", got)
	}
	ns = r.notified(1)
	if last := ns[2]; last.Status != notify.StatusResolved || last.Labels["queue"] != "shop" || last.Annotations["summary"] != "queue shop holds 150" {
		t.Fatalf("after removing its group: %+v, want shop's alert resolved with its summary", last)
	}
	r.run(t0.Add(3*time.Minute), t0.Add(4*time.Minute), write)
	if got := fmt.Sprint(r.history("DeepQueue")); got != "[firing@0s firing@0s resolved@2m0s]" {
		t.Fatalf("transitions %s, want shop's resolved at its removal and mail's firing on", got)
	}
	alerts := r.m.Alerts()
	if len(alerts) != 1 || alerts[0].Labels["queue"] != "mail" || alerts[0].State != StateFiring {
		t.Fatalf("alerts %+v, want mail's firing on", alerts)
	}
	r.m.SetGroups("dashboard", nil)
	if got := r.m.Alerts(); len(got) != 0 {
		t.Fatalf("alerts after removing every group: %+v", got)
	}
	if n := r.notified(1); n[3].Status != notify.StatusResolved || n[3].Labels["queue"] != "mail" {
		t.Fatalf("after removing mail's group: %+v", n[3])
	}
}

// TestSetGroupsChangedKeepsState replaces a group by one of the same name
// with another threshold: its alert, still firing under the new rule,
// keeps its start and is not notified again; one the new rule no longer
// reports resolves at its first evaluation.
func TestSetGroupsChangedKeepsState(t *testing.T) {
	r := newRig(t, "", "")
	write := func(ts time.Time) { r.add(ts, 150, "queue_length", "queue", "shop") }
	r.m.SetGroups("dashboard", parseGroups(t, twoGroups)[:1])
	r.run(t0, t0.Add(time.Minute), write)
	r.notified(1)
	r.m.SetGroups("dashboard", parseGroups(t, `groups:
- name: shop
  rules:
  - alert: DeepQueue
    expr: queue_length{queue="shop"} > 120
`))
	r.run(t0.Add(2*time.Minute), t0.Add(3*time.Minute), write)
	if got := fmt.Sprint(r.history("DeepQueue")); got != "[firing@0s]" {
		t.Fatalf("transitions %s after a change it still fires under", got)
	}
	if a := r.m.Alerts(); len(a) != 1 || !a[0].ActiveAt.Equal(t0) {
		t.Fatalf("alerts %+v, want the one active since t0", a)
	}
	r.m.SetGroups("dashboard", parseGroups(t, `groups:
- name: shop
  rules:
  - alert: DeepQueue
    expr: queue_length{queue="shop"} > 200
`))
	r.run(t0.Add(4*time.Minute), t0.Add(4*time.Minute), write)
	if got := fmt.Sprint(r.history("DeepQueue")); got != "[firing@0s resolved@4m0s]" {
		t.Fatalf("transitions %s, want resolved at the changed rule's first evaluation", got)
	}
	if n := r.notified(1); n[1].Status != notify.StatusResolved {
		t.Fatalf("notification %+v, want resolved", n[1])
	}
}

// TestSetGroupsWhileRunning swaps groups into a running manager while
// others read its rules: a new group's loop starts at once, a removed
// group's loop has ended when SetGroups returns, and Run ends them all.
func TestSetGroupsWhileRunning(t *testing.T) {
	r := newRig(t, "", "")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); r.m.Run(ctx) }()
	fast := parseGroups(t, twoGroups)
	for i := range fast {
		fast[i].Interval = 5 * time.Millisecond
	}
	stopReading := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			select {
			case <-stopReading:
				return
			default:
				_ = r.m.Groups()
				_ = r.m.Alerts()
			}
		}
	}()
	r.m.SetGroups("dashboard", fast)
	evals := func(name string) float64 {
		for _, g := range r.m.Groups() {
			if g.Name == name {
				return g.EvaluationTime + float64(g.LastEvaluation.UnixNano())
			}
		}
		return -1
	}
	deadline := time.Now().Add(10 * time.Second)
	for evals("shop") <= 0 || evals("mail") <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("the added groups were not evaluated within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var shop *group
	for _, g := range r.m.groupList() {
		if g.Name == "shop" {
			shop = g
		}
	}
	r.m.SetGroups("dashboard", fast[1:])
	if evals("shop") != -1 {
		t.Fatal("shop is still listed after its removal")
	}
	select {
	case <-shop.done:
	default:
		t.Fatal("shop's loop runs on after SetGroups removed it")
	}
	for _, g := range r.m.groupList() {
		if g.Name == "mail" {
			select {
			case <-g.done:
				t.Fatal("mail's loop ended, though its group was kept")
			default:
			}
		}
	}
	close(stopReading)
	<-read
	cancel()
	<-ran
}
