package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	crashChildEnv   = "ATROZ_STORE_CRASH_CHILD"
	crashSeries     = 20
	crashIterations = 20
	// crashPerBatch samples per series per batch make chunks close every few
	// dozen batches, so kills land in chunk writes and WAL truncation too.
	crashPerBatch = 10
	// crashCompactEvery batches the child compacts the file.
	crashCompactEvery = 25
	// crashStartTimeout bounds the wait for a child's first batch.
	crashStartTimeout = 30 * time.Second
)

// crashChild appends a batch to each series, flushes, encodes blocks,
// reports the batch as durable on stdout, and repeats until it is killed.
// The background flusher and block encoder run too, so kills also land
// inside their transactions:
// chunks close after 30 ms and their samples are twelve hours old, so
// every few flushes close a chunk quiet enough to be encoded at once. Every crashCompactEvery batches it closes
// the store, compacts it (encoding all of it, then rewriting the file) and
// opens it again, so kills land in compactions as well.
func crashChild(path, run string) {
	opts := &Options{FlushInterval: 7 * time.Millisecond, EncodeInterval: 3 * time.Millisecond, MaxChunkAge: 30 * time.Millisecond, CheckpointBytes: 8 << 10}
	db := crashOpen(path, opts)
	base := time.Now().Add(-12 * time.Hour).UnixMilli()
	out := bufio.NewWriter(os.Stdout)
	for batch := 0; ; batch++ {
		if batch%crashCompactEvery == crashCompactEvery-1 {
			if err := db.Close(); err != nil {
				crashExit(6, err)
			}
			if _, _, err := Compact(path, opts); err != nil {
				crashExit(7, err)
			}
			db = crashOpen(path, opts)
		}
		for s := range crashSeries {
			for j := range crashPerBatch {
				n := batch*crashPerBatch + j
				if err := db.Append(crashLabels(run, s), base+int64(n)*1000, crashValue(s, n)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(4)
				}
			}
		}
		if err := db.Flush(); err != nil {
			crashExit(5, err)
		}
		// The background encoder may be starved of the writer lock by
		// flushes on a slow machine; this one runs whatever happens.
		if _, err := db.EncodeBlocks(false); err != nil {
			crashExit(8, err)
		}
		fmt.Fprintf(out, "%d %d\n", base, batch)
		_ = out.Flush()
	}
}

func crashOpen(path string, opts *Options) *DB {
	db, err := Open(path, opts)
	if err != nil {
		crashExit(3, err)
	}
	return db
}

func crashExit(code int, err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(code)
}

func crashLabels(run string, s int) Labels {
	return lbl("crash_test", "run", run, "series", strconv.Itoa(s))
}

func crashValue(s, batch int) float64 { return float64(s*1_000_000 + batch) }

// TestCrashDurability kills a writer with SIGKILL at random moments, 20
// times on the same file. After each kill the file must open, pass Check,
// and hold every sample of every Flush that returned, for this run and all
// earlier ones.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	durable := map[string][2]int64{} // run -> base, last batch reported
	for i := range crashIterations {
		run := fmt.Sprintf("r%02d", i)
		base, last := runAndKill(t, path, run, time.Duration(20+r.IntN(300))*time.Millisecond)
		t.Logf("run %s: killed after %d durable batches", run, last+1)
		if last >= 0 {
			durable[run] = [2]int64{base, int64(last)}
		}
		verifyCrashFile(t, path, durable)
	}
	db := openTest(t, path, &testClock{time.Now()}, nil)
	ds, err := db.DiskStats()
	if err != nil || ds.Tiers[TierRaw].Cold.Blocks == 0 {
		t.Fatalf("the writers encoded no blocks (%+v, %v): the kills did not test encoding", ds.Tiers[TierRaw], err)
	}
	t.Logf("raw tier: %+v", ds.Tiers[TierRaw])
}

// runAndKill starts a child writing run and kills it after d. It returns the
// last batch the child reported durable, or -1.
func runAndKill(t *testing.T, path, run string, d time.Duration) (base int64, last int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path+","+run)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<16)
	first := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan(); n++ {
			lines <- sc.Text()
			if n == 0 {
				close(first)
			}
		}
		close(lines)
	}()
	// d counts from the first durable batch, so a slow start (the race
	// detector, a busy machine) does not leave the child no time to work.
	select {
	case <-first:
	case <-time.After(crashStartTimeout):
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	last = -1
	for l := range lines {
		f := strings.Fields(l)
		base, _ = strconv.ParseInt(f[0], 10, 64)
		last, _ = strconv.Atoi(f[1])
	}
	if stderr.Len() > 0 {
		t.Fatalf("child %s failed: %s", run, stderr.String())
	}
	return base, last
}

func verifyCrashFile(t *testing.T, path string, durable map[string][2]int64) {
	t.Helper()
	db, err := Open(path, &Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("check after kill: %v", err)
	}
	for run, d := range durable {
		got := selectRaw(t, db, eq("run", run))
		if len(got) != crashSeries {
			t.Fatalf("run %s: %d series after kill, want %d", run, len(got), crashSeries)
		}
		for _, sr := range got {
			s, _ := strconv.Atoi(sr.Labels.Get("series"))
			n := int(d[1]+1) * crashPerBatch
			if len(sr.Samples) < n {
				t.Fatalf("run %s series %d: %d samples, but %d were flushed", run, s, len(sr.Samples), n)
			}
			for i := range n {
				if want := (Sample{d[0] + int64(i)*1000, crashValue(s, i)}); sr.Samples[i] != want {
					t.Fatalf("run %s series %d sample %d: %+v, want %+v", run, s, i, sr.Samples[i], want)
				}
			}
		}
	}
}
