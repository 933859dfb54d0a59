package query

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

// emptyDB opens a store with no data, for queries of constants.
func emptyDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "l.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// heapAllocated is the bytes the Go heap has handed out since the process began.
func heapAllocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestSubqueryPoints: a subquery of more than MaxPoints points per series
// is refused as a bad query naming the limit, before it is evaluated, so
// the attack of 86,400,000 points that took 3.69 GB allocates almost
// nothing; subqueries within the limit, and without a step, still run.
func TestSubqueryPoints(t *testing.T) {
	e := New(emptyDB(t), &Options{CacheBytes: -1})
	now := time.Now()
	f := func(qs string, refused bool) {
		t.Helper()
		before := heapAllocated()
		_, _, err := e.Instant(context.Background(), qs, now)
		_, _, rerr := e.Range(context.Background(), qs, now.Add(-time.Hour), now, time.Minute)
		allocated := heapAllocated() - before
		if !refused {
			if err != nil || rerr != nil {
				t.Fatalf("%s: %v, %v; want it evaluated", qs, err, rerr)
			}
			return
		}
		for _, err := range []error{err, rerr} {
			if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), "maximum resolution of 11000 points per timeseries") {
				t.Fatalf("%s: %v, want a bad query naming the limit of 11000 points", qs, err)
			}
		}
		if allocated > 8<<20 {
			t.Fatalf("%s: refusing it allocated %d bytes, want under 8 MiB", qs, allocated)
		}
	}
	f(`count_over_time(vector(1)[24h:1ms])`, true)
	f(`max_over_time(rate(up[5m])[1d:1s])`, true)
	f(`sum(count_over_time(vector(1)[2h:100ms])) + count_over_time(vector(1)[1h:1s])`, true)
	f(`max_over_time(count_over_time(vector(1)[1h:1s])[7d:])`, false) // 10,080 points per series
	f(`count_over_time(vector(1)[1h:1s])`, false)
	f(`count_over_time(vector(1)[30m:])`, false)
}

// TestSampleBytes: the densest query there is, a subquery of 1,000,000
// points of a constant (a peak of 2,000,001 counted samples: the
// subquery's points and its result), allocates no more than
// BytesPerSample a counted sample, the figure the README's memory budget
// multiplies; past MaxSamples the engine refuses it.
func TestSampleBytes(t *testing.T) {
	const points = 1_000_000
	e := New(emptyDB(t), &Options{CacheBytes: -1, MaxSamples: points * 3, MaxPoints: 2 * points})
	runtime.GC()
	before := heapAllocated()
	ctx, st := WithStats(context.Background(), false)
	v, _, err := e.Instant(ctx, `count_over_time(vector(1)[1000s:1ms])`, time.Now())
	allocated := heapAllocated() - before
	var counted struct {
		Samples struct {
			PeakSamples uint64 `json:"peakSamples"`
		} `json:"samples"`
	}
	if b, err := json.Marshal(st.Result); err != nil || json.Unmarshal(b, &counted) != nil || counted.Samples.PeakSamples == 0 {
		t.Fatalf("statistics %s: %v", b, err)
	}
	if err != nil || !strings.Contains(v.String(), "=> 1000000 @") {
		t.Fatalf("got %v, %v; want a count of 1e+06", v, err)
	}
	perSample := allocated / counted.Samples.PeakSamples
	t.Logf("%d bytes for a peak of %d samples: %d bytes a sample", allocated, counted.Samples.PeakSamples, perSample)
	if perSample > BytesPerSample {
		t.Fatalf("%d bytes a sample, want at most BytesPerSample (%d)", perSample, BytesPerSample)
	}
	if _, _, err := e.Instant(context.Background(), `count_over_time(vector(1)[1600s:1ms])`, time.Now()); err == nil || !strings.Contains(err.Error(), "too many samples") {
		t.Fatalf("over MaxSamples: %v, want the engine's refusal", err)
	}
}

// TestAdmitPerPrincipal: a principal with MaxConcurrencyPerPrincipal
// queries in flight has one more refused with ErrTooManyQueries, others
// are not, and a principal is forgotten once its queries have ended.
func TestAdmitPerPrincipal(t *testing.T) {
	e := New(emptyDB(t), &Options{CacheBytes: -1, MaxConcurrencyPerPrincipal: 2})
	var done []func()
	for range 2 {
		end, err := e.Admit("user ann")
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, end)
	}
	if _, err := e.Admit("user ann"); !errors.Is(err, ErrTooManyQueries) || !strings.Contains(err.Error(), "user ann already has 2 queries running") {
		t.Fatalf("third of ann: %v, want ErrTooManyQueries naming her", err)
	}
	bob, err := e.Admit("user bob")
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	done[0]()
	done[0]() // ending twice counts once
	end, err := e.Admit("user ann")
	if err != nil {
		t.Fatalf("ann after one ended: %v", err)
	}
	if _, err := e.Admit("user ann"); !errors.Is(err, ErrTooManyQueries) {
		t.Fatalf("ann again at the limit: %v", err)
	}
	end()
	done[1]()
	bob()
	if n := e.adm.principals(); n != 0 {
		t.Fatalf("%d principals kept with nothing in flight, want 0", n)
	}
}

// TestQueryQueue: with MaxConcurrency queries running, one more waits
// for a slot and is served when one frees; one that finds none within
// QueueWait is refused with ErrBusy, and one whose request ends while
// waiting with its context's error.
func TestQueryQueue(t *testing.T) {
	e := New(emptyDB(t), &Options{CacheBytes: -1, MaxConcurrency: 1, QueueWait: time.Hour})
	if err := e.adm.acquire(context.Background()); err != nil { // a query running
		t.Fatal(err)
	}
	got := make(chan error)
	go func() {
		_, _, err := e.Instant(context.Background(), `vector(1)`, time.Now())
		got <- err
	}()
	for e.adm.queued.Load() == 0 {
		runtime.Gosched()
	}
	select {
	case err := <-got:
		t.Fatalf("served while every slot was taken: %v", err)
	default:
	}
	e.adm.release()
	if err := <-got; err != nil {
		t.Fatalf("queued query: %v, want it served once a slot freed", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	_ = e.adm.acquire(context.Background())
	go func() {
		_, _, err := e.Range(ctx, `vector(1)`, time.Now().Add(-time.Hour), time.Now(), time.Minute)
		got <- err
	}()
	for e.adm.queued.Load() == 0 {
		runtime.Gosched()
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled while queued: %v, want context.Canceled", err)
	}
	e.adm.release()

	busy := New(emptyDB(t), &Options{CacheBytes: -1, MaxConcurrency: 1, QueueWait: time.Millisecond})
	_ = busy.adm.acquire(context.Background())
	if _, _, err := busy.Instant(context.Background(), `vector(1)`, time.Now()); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "at most 1 run at once") {
		t.Fatalf("no slot within QueueWait: %v, want ErrBusy naming the limit", err)
	}
}
