//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"atroz/store"
)

// probeSeries is how many series each probe push writes.
const probeSeries = 10

// ack is one acknowledged probe push: its sample timestamp and when the
// server's 200 arrived.
type ack struct {
	ts    int64
	acked time.Time
}

// prober pushes probe samples one push at a time, each with a later
// timestamp, and remembers which pushes were acknowledged.
type prober struct {
	s    *site
	url  string
	iter int
	mu   sync.Mutex
	acks []ack
}

// run pushes until ctx ends.
func (p *prober) run(ctx context.Context) {
	last := int64(0)
	for ctx.Err() == nil {
		ts := max(time.Now().UnixMilli(), last+1)
		if code, _ := p.push(ctx, httpClient, ts); code == http.StatusOK {
			last = ts
		}
	}
}

// push sends one probe push with timestamp ts, records it if acknowledged,
// and returns the status and the error message of a refusal.
func (p *prober) push(ctx context.Context, client *http.Client, ts int64) (int, string) {
	var b strings.Builder
	for j := range probeSeries {
		fmt.Fprintf(&b, "crash_probe{iter=\"%d\",series=\"%d\"} %d %d\n", p.iter, j, ts, ts)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/api/v1/import/prometheus", strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+p.s.token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		p.mu.Lock()
		p.acks = append(p.acks, ack{ts: ts, acked: time.Now()})
		p.mu.Unlock()
	}
	return resp.StatusCode, string(msg)
}

// TestCrashUnderLoad SIGKILLs the server 20 times at random moments while
// probe pushes and beacons arrive. After each kill "atroz db check" must
// pass, and every probe sample acknowledged before the start of the last
// flush the server reported must be in the store.
func TestCrashUnderLoad(t *testing.T) {
	const kills = 20
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	s := newSite(t, t.TempDir())
	var durable, pending, recovered int
	var recovery []time.Duration
	for iter := range kills {
		began := time.Now()
		srv := s.start(t)
		recovery = append(recovery, time.Since(began))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _, _ = s.load(ctx, srv, "-kind", "beacons", "-rate", "2000", "-duration", "1m", "-verify=false")
		})
		p := &prober{s: s, url: srv.url, iter: iter}
		wg.Go(func() { p.run(ctx) })
		p.awaitDurable(t, srv)
		s.awaitBeacons(t, srv)
		waitUntil(time.Now().Add(time.Duration(300+rng.IntN(1200)) * time.Millisecond))
		h, _ := srv.health(t)
		srv.kill()
		cancel()
		wg.Wait()
		if out, err := atrozErr(s.env, "", "db", "check"); err != nil {
			t.Fatalf("kill %d: atroz db check: %v\n%s", iter+1, err, out)
		}
		d, pe, r := checkProbes(t, s.dir, iter, p.acks, h.lastFlushStart())
		durable, pending, recovered = durable+d, pending+pe, recovered+r
	}
	srv := s.start(t)
	if h, code := srv.health(t); code != http.StatusOK || h.Store.Series == 0 {
		t.Errorf("after %d kills: /health %d with %d series", kills, code, h.Store.Series)
	}
	slowest := time.Duration(0)
	for _, d := range recovery {
		slowest = max(slowest, d)
	}
	t.Logf("%d kills: %d probe pushes acknowledged before the last flush, all present; %d acknowledged after it, %d of those survived too; restart to listening: max %s",
		kills, durable, pending, recovered, slowest.Round(time.Millisecond))
}

// awaitDurable waits until a flush has started after the first
// acknowledged push, so that every kill has something to check.
func (p *prober) awaitDurable(t *testing.T, srv *server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		first := time.Time{}
		if len(p.acks) > 0 {
			first = p.acks[0].acked
		}
		p.mu.Unlock()
		if h, _ := srv.health(t); !first.IsZero() && h.lastFlushStart().After(first) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no flush after the first acknowledged push within 30s:\n%s", srv.log)
}

// waitUntil sleeps until t.
func waitUntil(t time.Time) { time.Sleep(time.Until(t)) }

// checkProbes opens the store after a kill and requires every push
// acknowledged before flushStart to be there. It returns how many were
// durable, how many were acknowledged later, and how many of those later
// ones survived anyway.
func checkProbes(t *testing.T, dir string, iter int, acks []ack, flushStart time.Time) (durable, pending, recovered int) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatalf("kill %d: open: %v", iter+1, err)
	}
	defer func() { _ = db.Close() }()
	present := map[int64]int{}
	if len(acks) > 0 {
		got, err := db.Select(store.Query{MinT: acks[0].ts, MaxT: acks[len(acks)-1].ts, Matchers: []*labels.Matcher{
			labels.MustNewMatcher(labels.MatchEqual, "__name__", "crash_probe"),
			labels.MustNewMatcher(labels.MatchEqual, "iter", fmt.Sprint(iter)),
		}})
		if err != nil {
			t.Fatalf("kill %d: select: %v", iter+1, err)
		}
		for _, s := range got {
			for _, smp := range s.Samples {
				present[smp.T]++
			}
		}
	}
	for _, a := range acks {
		switch {
		case a.acked.Before(flushStart):
			durable++
			if present[a.ts] != probeSeries {
				t.Errorf("kill %d: push at %d, acknowledged %s before the flush that started at %s, has %d of %d samples",
					iter+1, a.ts, flushStart.Sub(a.acked), flushStart.Format(time.StampMilli), present[a.ts], probeSeries)
			}
		default:
			pending++
			if present[a.ts] == probeSeries {
				recovered++
			}
		}
	}
	return durable, pending, recovered
}
