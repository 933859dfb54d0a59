package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults and bounds of the demo's settings.
const (
	demoDefaultRate = 50
	// demoMaxRate keeps one service's batch of a tick well under the
	// ingest limits of 10,000 events and 1 MiB.
	demoMaxRate = 5000
	// demoProgressTicks is how many ticks pass between progress lines.
	demoProgressTicks = 10
	// demoRequestTimeout bounds one request to the server.
	demoRequestTimeout = 10 * time.Second
	// demoDefaultPause is how long a 429 without Retry-After pauses sending.
	demoDefaultPause = 10 * time.Second
)

// DemoCommand sends made-up but realistic traffic to a running server, so
// that a newcomer sees every overview chart move and default alerts fire
// and resolve.
type DemoCommand struct {
	Env
}

// demoOptions are the demo's settings.
type demoOptions struct {
	target         *url.URL
	token          string
	user, password string
	passwordFile   string
	seed           int64
	duration       time.Duration
	rate           int
	// interval is the wall time between ticks: a second, shorter in tests.
	interval time.Duration
	// first is the model's first tick; ticks bounds how many run, 0
	// running until the context is done.
	first, ticks int64
}

// Run sends the demo traffic until -duration has passed, SIGINT or SIGTERM
// arrives, or ctx is done; then it closes its WebSocket clients and prints
// what it sent.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	o, err := c.parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = runDemo(ctx, o, c.Stdout)
	return err
}

// parse reads the flags, then the variables for those left empty, and
// validates them.
func (c *DemoCommand) parse(args []string) (*demoOptions, error) {
	o := &demoOptions{interval: time.Second}
	var target string
	fs := c.flagSet("demo", c.Usage)
	demoFlags(fs, o, &target)
	if err := c.parseArgs(fs, args); err != nil {
		return nil, err
	}
	if err := c.wantArgs(fs, 0); err != nil {
		return nil, err
	}
	if err := c.credentials(&o.token, &o.user, &o.password, o.passwordFile); err != nil {
		return nil, err
	}
	return o, o.check(target)
}

// demoFlags defines the demo's flags on fs.
func demoFlags(fs *flag.FlagSet, o *demoOptions, target *string) {
	fs.StringVar(target, "target", "", "`URL` of the running atroz server, like http://localhost:8080 (required)")
	fs.StringVar(&o.token, "token", "", "ingest token for the request events ($ATROZ_TOKEN); without it, an admin -user creates one for the run")
	fs.StringVar(&o.user, "user", "", "dashboard user the WebSocket clients log in as ($ATROZ_USER); none: no WebSocket clients")
	fs.StringVar(&o.password, "password", "", "the user's password; other users see it in ps, so prefer $ATROZ_PASSWORD or -password-file")
	fs.StringVar(&o.passwordFile, "password-file", "", "`FILE` whose first line is the user's password")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the traffic: the same seed sends the same traffic")
	fs.DurationVar(&o.duration, "duration", 0, "how long to run; 0 runs until interrupted")
	fs.IntVar(&o.rate, "rate", demoDefaultRate, "request events per second, give or take 15%")
}

// check validates the options, naming the flag at fault, and sets target.
func (o *demoOptions) check(target string) error {
	u, err := url.Parse(target)
	switch {
	case target == "":
		return errors.New("-target is required: the URL of a running atroz server, like http://localhost:8080")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("-target must be an http or https URL with a host, like http://localhost:8080; got %q", target)
	case o.token == "" && o.user == "":
		return errors.New(`-token (or $ATROZ_TOKEN) is required to send request events, unless -user is an admin the demo can create one with: "atroz token create demo" with the server stopped, or -user admin with $ATROZ_PASSWORD`)
	case o.rate < 1 || o.rate > demoMaxRate:
		return fmt.Errorf("-rate must be between 1 and %d request events per second, got %d", demoMaxRate, o.rate)
	case o.duration < 0:
		return fmt.Errorf("-duration must not be negative, got %s", o.duration)
	case o.user == "" && o.password != "":
		return errors.New("a password needs -user (or $ATROZ_USER)")
	case o.user != "" && o.password == "":
		return errors.New("-user needs a password: $ATROZ_PASSWORD, -password-file or -password")
	}
	o.target = u
	return nil
}

// Usage prints the command's help, with the traffic cycle, on Stderr, or on Stdout when asked for.
func (c *DemoCommand) Usage() {
	fmt.Fprint(c.Stderr, `Send realistic traffic to a running atroz server, so that every overview chart
moves and, within minutes, default alerts fire and resolve: request events for
13 routes of shop-api, auth-api and media-api (one batch per service a
second), frame-rate beacons for 5 pages of shop-web, and, with -user and its
password, WebSocket clients that subscribe, stay a while, and close or drop.
The same -seed sends the same traffic. A line of progress is printed every
10 seconds.

Usage:

	ATROZ_PASSWORD=... atroz demo -target URL -user admin [flags]
	atroz demo -target URL -user admin -password-file FILE [flags]
	ATROZ_TOKEN=... atroz demo -target URL [-user U] [flags]

With an admin login and no -token, the demo creates an ingest token for the
run and revokes it when it stops. Otherwise pass a token: "atroz token
create demo" (with the server stopped) or POST /api/v1/admin/tokens.

The traffic repeats a 12-minute cycle:

`)
	start := int64(0)
	for _, p := range demoCycle() {
		fmt.Fprintf(c.Stderr, "\t%2d:%02d  %-6s  %s\n", start/60, start%60, p.name, p.about)
		if p.alert != "" {
			fmt.Fprintf(c.Stderr, "\t               %s\n", p.alert)
		}
		start += p.seconds
	}
	fmt.Fprintln(c.Stderr, "\nFlags:")
	fs := c.flagSet("demo", nil)
	demoFlags(fs, &demoOptions{}, new(string))
	fs.PrintDefaults()
}

// runDemo sends the demo's traffic to o.target until o.ticks have run or
// ctx is done, and returns what it sent.
func runDemo(ctx context.Context, o *demoOptions, out io.Writer) (demoTotals, error) {
	d := newDemo(o, out)
	defer d.client.CloseIdleConnections()
	if err := d.start(ctx); err != nil {
		return demoTotals{}, err
	}
	own := ""
	if o.token == "" {
		name, err := d.demoOwnToken(ctx)
		if err != nil {
			return demoTotals{}, err
		}
		own = name
		fmt.Fprintf(out, "demo: created the ingest token %s for this run; it is revoked when the demo stops\n", own)
	}
	err := d.loopFor(ctx)
	if d.sockets != nil {
		d.sockets.close()
	}
	if own != "" {
		err = errors.Join(err, d.revokeOwnToken(own))
	}
	t := d.stats.totals()
	fmt.Fprintf(out, "demo stopped: %s\n", t)
	return t, err
}

// demo is one run of the demo against a server.
type demo struct {
	o        *demoOptions
	out      io.Writer
	model    *demoTraffic
	client   *http.Client
	sockets  *demoSockets // nil without -user
	stats    *demoStats
	requests demoEndpoint
	beacons  demoEndpoint
	phase    string
	resume   time.Time // sending pauses until then after a 429
	reported int64     // failures already reported in a progress line
}

// newDemo returns a demo of o printing on out.
func newDemo(o *demoOptions, out io.Writer) *demo {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &demo{
		o:      o,
		out:    out,
		model:  newDemoTraffic(o.seed, o.rate),
		client: &http.Client{Transport: tr, Timeout: demoRequestTimeout},
		stats:  &demoStats{},
	}
	d.requests, d.beacons = demoEndpoints(o)
	if o.user != "" {
		login := &apiLogin{client: d.client, url: o.target.JoinPath("api/v1/auth/login").String(), user: o.user, password: o.password}
		d.sockets = newDemoSockets(demoSocketURL(o.target), login, d.stats)
	}
	return d
}

// start checks that the server answers and the user can log in, and says
// what the demo is going to do.
func (d *demo) start(ctx context.Context) error {
	resp, err := d.get(ctx, d.o.target.JoinPath("health").String())
	if err != nil {
		return fmt.Errorf("target %s: %w (is atroz serve running there?)", d.o.target, err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("target %s: GET /health answered %s; is it an atroz server?", d.o.target, resp.Status)
	}
	if d.sockets != nil {
		if _, err := d.sockets.login.token(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "demo: sending to %s with seed %d, about %d request events a second; the cycle repeats every %s (atroz demo -h)\n",
		d.o.target, d.o.seed, d.o.rate, time.Duration(d.model.period)*time.Second)
	if d.sockets == nil {
		fmt.Fprintln(d.out, "demo: no -user, so no WebSocket clients: the WebSocket charts stay flat and WebSocketChurn cannot fire")
	}
	return nil
}

// get sends a GET to u.
func (d *demo) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return nil, err
	}
	return d.client.Do(req) // #nosec G704 -- the URL is the operator's -target
}

// loopFor runs the loop for -duration, counted from the first tick, or
// until ctx is done.
func (d *demo) loopFor(ctx context.Context) error {
	if d.o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.o.duration)
		defer cancel()
	}
	return d.loop(ctx)
}

// loop runs a tick every interval until o.ticks have run or ctx is done.
func (d *demo) loop(ctx context.Context) error {
	t := time.NewTicker(d.o.interval)
	defer t.Stop()
	for n := d.o.first; d.o.ticks == 0 || n < d.o.first+d.o.ticks; n++ {
		if err := d.step(ctx, n); err != nil {
			return err
		}
		if (n-d.o.first+1)%demoProgressTicks == 0 {
			d.progress(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

// step sends tick n's traffic.
func (d *demo) step(ctx context.Context, n int64) error {
	t := d.model.tick(n)
	d.phase = t.phase
	if d.sockets != nil {
		d.sockets.tick(ctx, n, t.sockets)
	}
	if err := d.sendRequests(ctx, t.requests); err != nil {
		return err
	}
	return d.sendBeacons(ctx, t.beacons)
}

// progress prints a line of what was sent up to tick n.
func (d *demo) progress(n int64) {
	t := d.stats.totals()
	elapsed := time.Duration(n-d.o.first+1) * time.Second
	fmt.Fprintf(d.out, "%8s %-6s %s", elapsed, d.phase, t)
	if t.errors > d.reported {
		fmt.Fprintf(d.out, "; last error: %s", d.stats.lastError())
		d.reported = t.errors
	}
	fmt.Fprintln(d.out)
}

// demoStats counts what the demo sent; the WebSocket clients update it
// from their goroutines.
type demoStats struct {
	events, batches, beacons atomic.Int64
	connects, closes, drops  atomic.Int64
	limited, failures        atomic.Int64

	mu   sync.Mutex
	last string // the latest failure
}

// fail counts a failure and keeps its message.
func (s *demoStats) fail(err error) {
	s.failures.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = err.Error()
}

// lastError returns the latest failure's message.
func (s *demoStats) lastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// totals returns the counts so far.
func (s *demoStats) totals() demoTotals {
	return demoTotals{
		events: s.events.Load(), batches: s.batches.Load(), beacons: s.beacons.Load(),
		connects: s.connects.Load(), closes: s.closes.Load(), drops: s.drops.Load(),
		limited: s.limited.Load(), errors: s.failures.Load(),
	}
}

// demoTotals is what a demo sent, at one moment.
type demoTotals struct {
	events, batches, beacons int64
	connects, closes, drops  int64
	limited, errors          int64
}

// String formats t for a progress line.
func (t demoTotals) String() string {
	s := fmt.Sprintf("%d request events (%d batches), %d beacons, WebSockets %d opened %d closed %d dropped, %d errors",
		t.events, t.batches, t.beacons, t.connects, t.closes, t.drops, t.errors)
	if t.limited > 0 {
		s += fmt.Sprintf(", rate limited %d times", t.limited)
	}
	return s
}
