// Package alert evaluates Prometheus rule files over the store with the
// PromQL engine: recording rules append their results to the store as
// series; alerting rules keep each alert's state across restarts, record
// every transition, honour silences, and hand notifications to a
// notify.Dispatcher, which delivers them.
package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"atroz/alert/notify"
	"atroz/query"
	"atroz/store"

	"github.com/prometheus/prometheus/rules"
)

// Options configure a Manager. Zero fields take the documented defaults.
type Options struct {
	// EvalInterval is how often groups without their own interval are
	// evaluated. Default 15s.
	EvalInterval time.Duration
	// RepeatInterval is how often a firing alert is notified again. Default 4h.
	RepeatInterval time.Duration
	// ExternalURL is the dashboard's address, for links in notifications.
	ExternalURL string
	// Logger receives the alert log lines. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnEvent, when set, is told of every transition (the dashboard's live push).
	OnEvent func(Event)
	// Records keeps each alert's state and the silences. Default: the
	// store. A store several instances share (package state) shares them.
	Records store.RecordStore
	// Leading, when set, tells whether this instance is the one of
	// several that notifies and keeps the alert state (it holds a lease).
	// The others evaluate the rules too, so their dashboards, history
	// and live push show the alerts, but they notify no one, log no
	// alert line and write no state; one that takes the lead over reads
	// the state the last leader left first. Default: always leading.
	Leading func() bool
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.EvalInterval <= 0 {
		r.EvalInterval = 15 * time.Second
	}
	if r.RepeatInterval <= 0 {
		r.RepeatInterval = 4 * time.Hour
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Leading == nil {
		r.Leading = func() bool { return true }
	}
	return r
}

// Manager evaluates the rule groups and acts on their alerts' transitions.
type Manager struct {
	opts    Options
	db      *store.DB
	records store.RecordStore // alert state and silences
	query   rules.QueryFunc   // the rules' expressions over raw samples
	// led is whether the last evaluation found this instance leading.
	led    atomic.Bool
	disp   *notify.Dispatcher
	extURL *url.URL

	// gmu guards groups, which SetGroups replaces whole (so a reader may
	// range over the slice it got after unlocking), and the running loops.
	gmu    sync.Mutex
	groups []*group
	runCtx context.Context // Run's, while it runs; nil before and after
	loops  sync.WaitGroup  // the groups' evaluation loops

	mu       sync.Mutex
	known    map[string]*known            // by fingerprint
	byRule   map[string]map[string]*known // by rule name, then fingerprint
	restored map[*rules.AlertingRule]bool
	silences *silences
}

// group is a rule group with its evaluation figures.
type group struct {
	RuleGroup
	interval time.Duration
	batches  [][]int // indexes into Rules: each batch runs after the one before

	evalMu sync.Mutex                // one evaluation of the group at a time
	prev   []map[string]store.Labels // per rule, the series its last evaluation recorded

	stop context.CancelFunc // ends its evaluation loop; set under Manager.gmu
	done chan struct{}      // closed when the loop has ended

	lastEval     atomic.Int64 // unix ns
	lastDuration atomic.Int64 // ns
	evals        atomic.Uint64
	failures     atomic.Uint64
	missed       atomic.Uint64
}

// NewManager returns a Manager over db evaluating groups; disp may be nil
// (transitions are then only logged and recorded). It loads each alert's
// last known state and the silences from the store.
func NewManager(db *store.DB, eng *query.Engine, groups []RuleGroup, disp *notify.Dispatcher, opts *Options) (*Manager, error) {
	o := opts.withDefaults()
	ext, err := url.Parse(o.ExternalURL)
	if err != nil {
		return nil, fmt.Errorf("alert external URL: %w", err)
	}
	m := &Manager{opts: o, db: db, records: o.Records, query: eng.QueryFunc(), disp: disp, extURL: ext, known: map[string]*known{}, byRule: map[string]map[string]*known{}, restored: map[*rules.AlertingRule]bool{}}
	if m.records == nil {
		m.records = db
	}
	for _, g := range groups {
		m.groups = append(m.groups, m.newGroup(g))
	}
	if err := m.loadKnown(); err != nil {
		return nil, err
	}
	m.led.Store(o.Leading())
	if m.silences, err = loadSilences(m.records); err != nil {
		return nil, err
	}
	return m, nil
}

// newGroup prepares g for evaluation.
func (m *Manager) newGroup(g RuleGroup) *group {
	iv := g.Interval
	if iv <= 0 {
		iv = m.opts.EvalInterval
	}
	return &group{RuleGroup: g, interval: iv, batches: batches(g.Rules), prev: make([]map[string]store.Labels, len(g.Rules))}
}

// Run evaluates every group on its own ticker, one goroutine each, until
// ctx is done; groups SetGroups adds meanwhile start at once.
func (m *Manager) Run(ctx context.Context) {
	m.gmu.Lock()
	m.runCtx = ctx
	for _, g := range m.groups {
		m.start(g)
	}
	m.gmu.Unlock()
	<-ctx.Done()
	m.gmu.Lock()
	m.runCtx = nil // no loop starts after this: Wait below cannot race an Add
	m.gmu.Unlock()
	m.loops.Wait()
}

// start runs g's evaluation loop until Run's context is done or SetGroups
// removes g. The caller holds m.gmu, and Run runs.
func (m *Manager) start(g *group) {
	ctx, cancel := context.WithCancel(m.runCtx)
	g.stop, g.done = cancel, make(chan struct{})
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		defer close(g.done)
		m.runGroup(ctx, g)
	}()
}

// groupList returns the groups in force; the slice is never modified.
func (m *Manager) groupList() []*group {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	return m.groups
}

func (m *Manager) runGroup(ctx context.Context, g *group) {
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := time.Now()
			m.evalGroup(ctx, g, m.opts.Now())
			if took := time.Since(start); took > g.interval {
				g.missed.Add(uint64(took / g.interval)) // #nosec G115 -- both positive: ticks that came and went
			}
		}
	}
}

// EvalAt evaluates every group once at ts, in order; tests drive time with it.
func (m *Manager) EvalAt(ctx context.Context, ts time.Time) {
	for _, g := range m.groupList() {
		m.evalGroup(ctx, g, ts)
	}
}

// evalGroup evaluates a group's rules in order at ts. The rules of a
// batch run at once on a machine with several cores: batches hold only
// alerting rules that read no series the group records (see batches).
func (m *Manager) evalGroup(ctx context.Context, g *group, ts time.Time) {
	g.evalMu.Lock()
	defer g.evalMu.Unlock()
	start := time.Now()
	m.takeLead()
	if err := m.silences.refresh(); err != nil {
		m.opts.Logger.Warn("silences not refreshed: evaluating with the last known", "event_type", "alert_evaluation", "error", err)
	}
	for _, b := range g.batches {
		if len(b) == 1 {
			m.evalAt(ctx, g, b[0], ts)
			continue
		}
		work := make(chan int)
		var wg sync.WaitGroup
		for range min(runtime.GOMAXPROCS(0), len(b)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					m.evalAt(ctx, g, i, ts)
				}
			}()
		}
		for _, i := range b {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	g.evals.Add(1)
	g.lastEval.Store(ts.UnixNano())
	g.lastDuration.Store(int64(time.Since(start)))
}

// evalAt evaluates the group's rule i.
func (m *Manager) evalAt(ctx context.Context, g *group, i int, ts time.Time) {
	switch r := g.Rules[i].(type) {
	case *rules.RecordingRule:
		m.evalRecording(ctx, g, i, r, ts)
	case *rules.AlertingRule:
		m.evalRule(ctx, g, r, ts)
	}
}

func (m *Manager) evalRule(ctx context.Context, g *group, r *rules.AlertingRule, ts time.Time) {
	start := time.Now()
	_, err := r.Eval(ctx, g.QueryOffset, ts, m.query, m.extURL, g.Limit)
	r.SetEvaluationTimestamp(ts)
	r.SetEvaluationDuration(time.Since(start))
	r.SetLastError(err)
	if err != nil {
		r.SetHealth(rules.HealthBad)
		g.failures.Add(1)
		m.opts.Logger.Error("alert rule evaluation failed", "event_type", "alert_evaluation", "alertname", r.Name(), "error", err)
		return
	}
	r.SetHealth(rules.HealthGood)
	m.reconcile(g, r, ts)
}

// Receivers returns the names of the receivers notifications go to; none
// when the manager has no dispatcher.
func (m *Manager) Receivers() []string {
	if m.disp == nil {
		return []string{}
	}
	return m.disp.ReceiverNames()
}

// SendTestNotification sends a test notification through the receiver
// called name (see notify.Dispatcher.SendTest).
func (m *Manager) SendTestNotification(ctx context.Context, name, by string) error {
	if m.disp == nil {
		return fmt.Errorf("%w: %q", notify.ErrReceiverNotFound, name)
	}
	return m.disp.SendTest(ctx, name, by)
}
