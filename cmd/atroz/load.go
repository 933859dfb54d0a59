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
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LoadCommand drives constant-rate load at a running server: atroz load.
//
// It is an open-model generator: item i is due at start + i/rate whether or
// not earlier items have been answered, and its latency is measured from
// that due time, so a server that stalls is charged for the queue it built
// (no coordinated omission).
type LoadCommand struct {
	Env
	fs *flag.FlagSet
}

// loadKinds are the kinds of load, in the order the usage lists them.
var loadKinds = []string{"beacons", "requests", "import", "remote-write", "query"}

// loadOptions are the command line of atroz load.
type loadOptions struct {
	target        *url.URL
	kind          string
	rate          int
	duration      time.Duration
	batch         int
	series        int
	senders       int
	token         string
	user          string
	password      string
	passwordFile  string
	service       string
	query         string
	maxInFlight   int
	timeout       time.Duration
	verify        bool
	verifyTimeout time.Duration
	jsonReport    bool
}

// Run parses the command line, drives the load, prints the report and, when
// asked to verify, fails unless the server stored every accepted item.
func (c *LoadCommand) Run(ctx context.Context, args []string) error {
	o, err := c.parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := runLoad(ctx, o, c.Stderr)
	if err != nil {
		return err
	}
	if err := r.print(c.Stdout, o.jsonReport); err != nil {
		return err
	}
	return r.verdict()
}

// parse reads and checks the command line; each error names its flag.
func (c *LoadCommand) parse(args []string) (*loadOptions, error) {
	o := &loadOptions{}
	var target string
	fs := c.flagSet("load", c.Usage)
	c.fs = fs
	fs.StringVar(&target, "target", "", "base URL of the server, e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&o.kind, "kind", "beacons", "what to send: "+strings.Join(loadKinds, ", "))
	fs.IntVar(&o.rate, "rate", 100, "items per second (a request batch or an import push is one item)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&o.batch, "batch", 100, "request events per batch (requests) or samples per push (import, remote-write)")
	fs.IntVar(&o.series, "series", 10_000, "series the remote-write samples are spread over")
	fs.IntVar(&o.senders, "senders", 0, "when above 0, a closed model instead of -rate: this many senders each send as soon as their last item is answered")
	fs.StringVar(&o.token, "token", "", "ingest token for requests and import, and for beacons to be limited per token rather than per client IP ($ATROZ_TOKEN)")
	fs.StringVar(&o.user, "user", "", "dashboard user for query load and for verifying ($ATROZ_USER)")
	fs.StringVar(&o.password, "password", "", "that user's password; other users see it in ps, so prefer $ATROZ_PASSWORD or -password-file")
	fs.StringVar(&o.passwordFile, "password-file", "", "`FILE` whose first line is that user's password")
	fs.StringVar(&o.service, "service", "atroz-load", "service label of the beacons and request events")
	fs.StringVar(&o.query, "query", "sum(rate(http_requests_total[5m]))", "PromQL expression of the query load")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 2000, "requests outstanding at once; later items wait, and their wait counts in their latency")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of one request")
	fs.BoolVar(&o.verify, "verify", true, "query the server afterwards and compare what it stored with what it accepted (needs -user)")
	fs.DurationVar(&o.verifyTimeout, "verify-timeout", 30*time.Second, "how long to wait for accepted items to show in queries")
	fs.BoolVar(&o.jsonReport, "json", false, "print the report as JSON")
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

// check validates the options, naming the flag at fault.
func (o *loadOptions) check(target string) error {
	u, err := url.Parse(target)
	switch {
	case target == "":
		return errors.New("-target: the server's base URL is required, e.g. -target http://127.0.0.1:8080")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("-target: %q is not an http(s) URL with a host", target)
	case !slices.Contains(loadKinds, o.kind):
		return fmt.Errorf("-kind: must be one of %s, got %q", strings.Join(loadKinds, ", "), o.kind)
	case o.rate < 1 || o.rate > 1_000_000:
		return fmt.Errorf("-rate: must be between 1 and 1000000 items a second, got %d", o.rate)
	case o.duration <= 0:
		return fmt.Errorf("-duration: must be positive, got %s", o.duration)
	case o.batch < 1 || o.batch > 10_000:
		return fmt.Errorf("-batch: must be between 1 and 10000, got %d", o.batch)
	case o.senders < 0 || o.senders > 10_000:
		return fmt.Errorf("-senders: must be between 0 (open model at -rate) and 10000, got %d", o.senders)
	case o.kind == "remote-write" && o.series > 10_000_000:
		return fmt.Errorf("-series: must be at most 10000000, got %d", o.series)
	case o.kind == "remote-write" && o.series < o.remoteWriteLanes():
		return fmt.Errorf("-series: remote-write needs at least one series per sender (-senders, else -max-in-flight: %d), got %d", o.remoteWriteLanes(), o.series)
	case o.kind == "remote-write" && o.verify:
		return errors.New("-verify: remote-write load cannot be checked by query, as its receiver may be any remote-write server; pass -verify=false")
	case (o.kind == "requests" || o.kind == "import") && o.token == "":
		return fmt.Errorf("-token: %s load needs an ingest token (atroz token create load)", o.kind)
	case (o.kind == "query" || o.verify) && o.user == "":
		return fmt.Errorf("-user: %s needs a dashboard login (atroz user add), or -verify=false", map[bool]string{true: "query load", false: "verifying"}[o.kind == "query"])
	case o.maxInFlight < 1:
		return fmt.Errorf("-max-in-flight: must be at least 1, got %d", o.maxInFlight)
	case o.timeout <= 0:
		return fmt.Errorf("-timeout: must be positive, got %s", o.timeout)
	case o.verifyTimeout <= 0:
		return fmt.Errorf("-verify-timeout: must be positive, got %s", o.verifyTimeout)
	}
	o.target = u.JoinPath("/")
	o.target.Path = strings.TrimSuffix(o.target.Path, "/")
	return nil
}

// remoteWriteLanes is how many lanes a remote-write load has, each with
// series of its own: the senders, or else the requests in flight.
func (o *loadOptions) remoteWriteLanes() int {
	if o.senders > 0 {
		return o.senders
	}
	return o.maxInFlight
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *LoadCommand) Usage() {
	fmt.Fprint(c.Stderr, `Usage: atroz load -target URL [flags]

Sends items at a constant rate to a running server for a while, prints a
progress line each second, then a report: items sent, accepted and rejected
by status, latency percentiles, and how many accepted items the server
stored, found by querying it (the command fails if that differs).

Kinds:
	beacons   frame-rate beacons, as browsers send them (the server's own origin);
	          with -token they count against the token's rate limit
	          (RATE_LIMIT_INGEST_TOKEN_PER_MINUTE), without it against this
	          address's (RATE_LIMIT_INGEST_PER_MINUTE, 6000 a minute)
	requests  batches of -batch request events (needs -token)
	import    pushes of -batch samples in the Prometheus text format (needs -token)
	remote-write
	          Prometheus remote-write requests of -batch samples over -series
	          series to /api/v1/write, of AtroZ (with -token) or any other
	          receiver (needs -verify=false)
	query     instant PromQL queries (needs -user)

Latency is measured from the moment each item was due, not from when it
could be sent, so a slow server cannot hide its backlog. With -senders the
load is closed instead: that many senders each send their next item once
the last is answered, for -duration, and latency runs from each send; it
finds how much a server takes.

Flags:
`)
	if c.fs != nil {
		c.fs.SetOutput(c.Stderr)
		c.fs.PrintDefaults()
	}
}

// verifyInterrupted is the report's note when an interrupt ended the load.
const verifyInterrupted = "not checked: interrupted"

// runLoad sends the load, then verifies it when asked. Once load was sent
// it always returns a report: an interrupted run skips the check, and a
// check that fails to query says so in the report.
func runLoad(ctx context.Context, o *loadOptions, progress io.Writer) (*loadReport, error) {
	client := loadClient(o)
	sess := &loadSession{o: o, client: client}
	if o.kind == "query" || o.verify {
		sess.login = &apiLogin{client: client, url: o.target.String() + "/api/v1/auth/login", user: o.user, password: o.password}
		if _, err := sess.login.token(ctx); err != nil {
			return nil, err
		}
	}
	kind, err := newLoadKind(o, sess)
	if err != nil {
		return nil, err
	}
	var before float64
	if o.verify && kind.counted() {
		if before, err = kind.stored(ctx); err != nil {
			return nil, fmt.Errorf("read the stored count before the load: %w", err)
		}
	}
	rec := newLoadRecorder(o.rate, o.duration)
	started := time.Now()
	if o.senders > 0 {
		driveClosed(ctx, o, client, kind, rec, progress)
	} else {
		drive(ctx, o, client, kind, rec, progress)
	}
	r := rec.report(o, time.Since(started), kind.perItem())
	switch {
	case !o.verify || !kind.counted():
	case ctx.Err() != nil:
		r.VerifyError = verifyInterrupted
	default:
		n, err := awaitStored(ctx, kind, before, r.AcceptedItems, o.verifyTimeout)
		if err != nil {
			r.VerifyError = err.Error()
			break
		}
		r.Stored = &n
	}
	return r, nil
}

// loadClient is an HTTP client that keeps up to max-in-flight connections.
func loadClient(o *loadOptions) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = o.maxInFlight
	t.MaxIdleConnsPerHost = o.maxInFlight
	return &http.Client{Transport: t, Timeout: o.timeout}
}

// drive sends item i at start + i/rate until the duration is over or ctx
// is done, at most max-in-flight at once, and waits for every answer.
func drive(ctx context.Context, o *loadOptions, client *http.Client, kind loadKind, rec *loadRecorder, progress io.Writer) {
	start := time.Now()
	total := int64(o.duration.Seconds() * float64(o.rate))
	pool := newLanePool(o.maxInFlight)
	var wg sync.WaitGroup
	done := make(chan struct{})
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		rec.progress(progress, start, done)
	}()
	defer func() {
		wg.Wait()
		close(done)
		<-printed
	}()
	for i := int64(0); i < total; i++ {
		due := start.Add(time.Duration(float64(i) / float64(o.rate) * float64(time.Second)))
		if !waitUntil(ctx, due) {
			return
		}
		lane, ok := pool.take(ctx)
		if !ok {
			return
		}
		wg.Go(func() {
			defer pool.give(lane)
			send(ctx, client, kind, item{i: i, lane: lane, due: due}, rec)
		})
	}
}

// item is one unit of load: its number, its lane and when it is due.
type item struct {
	i    int64
	lane int
	due  time.Time
}

// lanePool hands each request in flight a lane no other request holds,
// reusing the most recently freed one, so that a run uses as many lanes as
// it ever had requests in flight and a lane's requests never overlap.
type lanePool struct {
	slots chan struct{}
	mu    sync.Mutex
	free  []int
	next  int
}

func newLanePool(n int) *lanePool { return &lanePool{slots: make(chan struct{}, n)} }

// take waits for a free slot and returns its lane; false if ctx ended first.
func (p *lanePool) take(ctx context.Context) (int, bool) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		lane := p.free[n-1]
		p.free = p.free[:n-1]
		return lane, true
	}
	p.next++
	return p.next - 1, true
}

// give returns a lane.
func (p *lanePool) give(lane int) {
	p.mu.Lock()
	p.free = append(p.free, lane)
	p.mu.Unlock()
	<-p.slots
}

// waitUntil sleeps until t, and reports false if ctx ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send sends an item and records its answer against its due time.
func send(ctx context.Context, client *http.Client, kind loadKind, it item, rec *loadRecorder) {
	req, err := kind.request(ctx, it)
	if err != nil {
		rec.failed(err, time.Since(it.due))
		return
	}
	resp, err := client.Do(req) // #nosec G704 -- the operator names the target on the command line
	if err != nil {
		rec.failed(err, time.Since(it.due))
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	drain(resp)
	if err != nil {
		rec.failed(err, time.Since(it.due))
		return
	}
	rec.answered(resp.StatusCode, kind.accepted(resp.StatusCode, body), time.Since(it.due))
}

// awaitStored polls the stored count until it has grown by want, or the
// timeout passes, and returns how much it grew. Accepted beacons and
// request events reach the store with the server's next self-scrape.
func awaitStored(ctx context.Context, kind loadKind, before float64, want int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		now, err := kind.stored(ctx)
		if err != nil {
			return 0, err
		}
		got := int64(now - before)
		if got >= want || time.Now().After(deadline) {
			return got, nil
		}
		if !waitUntil(ctx, time.Now().Add(500*time.Millisecond)) {
			return got, ctx.Err()
		}
	}
}
