package query

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// BytesPerSample is what one sample a query holds costs at most in the
// Go heap, measured with the densest query there is, a subquery of a
// constant (TestSampleBytes): its points, the slices they grow in, and
// the garbage the engine leaves behind. MaxSamples × BytesPerSample is
// the most one query may take; MaxConcurrency queries at once take that
// many times as much.
const BytesPerSample = 130

// Errors of the query limits; the HTTP API answers them with the status
// each names.
var (
	// ErrBusy is returned when MaxConcurrency queries are running and no
	// slot came free within QueueWait (503 with Retry-After).
	ErrBusy = errors.New("too many queries running")
	// ErrTooManyQueries is returned when one principal already has
	// MaxConcurrencyPerPrincipal queries in flight (429 with Retry-After).
	ErrTooManyQueries = errors.New("too many queries in flight")
)

// checkSubqueries refuses, before anything is evaluated, a subquery whose
// step would give more than maxPoints points per series: [24h:1ms] is
// 86,400,000 points, each held in memory. Subqueries without a step use
// the engine's default of one minute.
func checkSubqueries(expr parser.Expr, maxPoints int) error {
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		sq, ok := node.(*parser.SubqueryExpr)
		if !ok {
			return nil
		}
		step := sq.Step
		if step <= 0 {
			step = defaultSubqueryStep
		}
		if points := sq.Range / step; points > time.Duration(maxPoints) {
			err = fmt.Errorf("%w: subquery %s would take %d points per series, more than the maximum resolution of %d points per timeseries; use a longer step", ErrBadQuery, sq.String(), int64(points), maxPoints)
			return err
		}
		return nil
	})
	return err
}

// defaultSubqueryStep is the step of a subquery that names none, as
// Prometheus' default evaluation interval.
const defaultSubqueryStep = time.Minute

// admission bounds the queries in flight: at most max at once overall,
// later ones queued for up to wait, as Prometheus' --query.max-concurrency,
// and at most perPrincipal for any one principal, refused at once beyond.
// The per-principal map holds only principals with a query in flight.
type admission struct {
	slots        chan struct{}
	wait         time.Duration
	queued       atomic.Int64
	perPrincipal int
	mu           sync.Mutex
	inFlight     map[string]int
}

func newAdmission(max, perPrincipal int, wait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, max), wait: wait, perPrincipal: perPrincipal, inFlight: map[string]int{}}
}

// acquire takes a slot, waiting at most a.wait and while ctx lasts.
func (a *admission) acquire(ctx context.Context) error {
	select {
	case a.slots <- struct{}{}:
		return nil
	default:
	}
	a.queued.Add(1)
	defer a.queued.Add(-1)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a query slot: %w", ctx.Err())
	case <-t.C:
		return fmt.Errorf("%w: at most %d run at once and none finished within %s; try again shortly", ErrBusy, cap(a.slots), a.wait)
	}
}

func (a *admission) release() { <-a.slots }

// admit counts one more query of who, refusing it when who already has
// perPrincipal in flight; the returned func ends it.
func (a *admission) admit(who string) (func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight[who] >= a.perPrincipal {
		return nil, fmt.Errorf("%w: %s already has %d queries running, the most one principal may; try again when one has finished", ErrTooManyQueries, who, a.perPrincipal)
	}
	a.inFlight[who]++
	var once sync.Once
	return func() { once.Do(func() { a.done(who) }) }, nil
}

func (a *admission) done(who string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight[who]--; a.inFlight[who] <= 0 {
		delete(a.inFlight, who)
	}
}

// principals is how many principals have a query in flight.
func (a *admission) principals() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inFlight)
}

// Admit counts a query of the principal who (a user, a token, a client
// address: the caller names it) until the returned func is called, or
// refuses it with ErrTooManyQueries when who already has
// MaxConcurrencyPerPrincipal in flight.
func (e *Engine) Admit(who string) (func(), error) { return e.adm.admit(who) }
