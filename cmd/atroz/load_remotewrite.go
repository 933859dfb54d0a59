package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// errRemoteWriteUnverified is the answer of a remote-write load asked for its
// stored count: its receiver may be any remote-write server.
var errRemoteWriteUnverified = errors.New("remote-write load cannot be verified by query")

// remoteWriteLoad sends Prometheus remote-write requests of -batch samples
// to /api/v1/write, spread over -series series of one run. Lane l of L (the
// senders, or max-in-flight) owns the series whose number is l modulo L and
// sends them in turn, so a series is only ever in one lane's requests, a
// lane's requests never overlap, and every series' timestamps increase
// whichever receiver takes them. A series' value counts the rounds its lane
// has made over its series, like a counter.
type remoteWriteLoad struct {
	s     *loadSession
	run   string
	lanes int
	mu    sync.Mutex
	state []*remoteWriteLane
}

// remoteWriteLane is where a lane is in its series.
type remoteWriteLane struct {
	next  int   // the next of the lane's series to send, 0-based
	round int64 // rounds made over the lane's series
	ts    int64 // the current round's timestamp, unix ms
}

func newRemoteWriteLoad(o *loadOptions, s *loadSession) *remoteWriteLoad {
	return &remoteWriteLoad{s: s, run: strconv.FormatInt(time.Now().UnixNano(), 36), lanes: o.remoteWriteLanes()}
}

// lane returns lane l's state; the lane pool keeps a lane's requests apart,
// so only the slice needs the lock.
func (k *remoteWriteLoad) lane(l int) *remoteWriteLane {
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(k.state) <= l {
		k.state = append(k.state, &remoteWriteLane{})
	}
	return k.state[l]
}

// owned is how many of the series lane l owns.
func (k *remoteWriteLoad) owned(l int) int {
	return (k.s.o.series - l + k.lanes - 1) / k.lanes
}

// writeRequest builds the WriteRequest of lane l's next -batch samples.
func (k *remoteWriteLoad) writeRequest(l int, now time.Time) *prompb.WriteRequest {
	st, n := k.lane(l), k.owned(l)
	wr := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, k.s.o.batch)}
	for range k.s.o.batch {
		if st.next == 0 {
			st.round++
			st.ts = max(now.UnixMilli(), st.ts+1)
		}
		wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "atroz_load_remote_write"},
				{Name: "job", Value: k.s.o.service},
				{Name: "run", Value: k.run},
				{Name: "series", Value: strconv.Itoa(l + st.next*k.lanes)},
			},
			Samples: []prompb.Sample{{Value: float64(st.round), Timestamp: st.ts}},
		})
		st.next = (st.next + 1) % n
	}
	return wr
}

func (k *remoteWriteLoad) request(ctx context.Context, it item) (*http.Request, error) {
	raw, err := k.writeRequest(it.lane, time.Now()).Marshal()
	if err != nil {
		return nil, err
	}
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if k.s.o.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.s.o.token)
	}
	return req, nil
}

// accepted counts a 2xx answer as the whole request stored: remote write
// has no partial acceptance.
func (k *remoteWriteLoad) accepted(status int, _ []byte) int64 {
	if status/100 == 2 {
		return int64(k.s.o.batch)
	}
	return 0
}

func (k *remoteWriteLoad) perItem() int64 { return int64(k.s.o.batch) }

// counted is false: the receiver may be any remote-write server, which
// load cannot query.
func (k *remoteWriteLoad) counted() bool { return false }
func (k *remoteWriteLoad) stored(context.Context) (float64, error) {
	return 0, errRemoteWriteUnverified
}

// driveClosed runs o.senders senders for o.duration, each sending its next
// item as soon as its previous one is answered, in its own lane: a closed
// model that finds the receiver's throughput. Latency is from each send.
func driveClosed(ctx context.Context, o *loadOptions, client *http.Client, kind loadKind, rec *loadRecorder, progress io.Writer) {
	start := time.Now()
	end := start.Add(o.duration)
	done := make(chan struct{})
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		rec.progress(progress, start, done)
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	for lane := range o.senders {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				send(ctx, client, kind, item{i: next.Add(1) - 1, lane: lane, due: time.Now()}, rec)
			}
		})
	}
	wg.Wait()
	close(done)
	<-printed
}
