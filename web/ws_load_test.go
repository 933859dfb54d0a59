package web

import (
	"testing"
	"time"
)

// BenchmarkWSClients100Sustained holds 100 subscribed clients for 60 s
// (5 s with -short) while the hub broadcasts a panel update every 100 ms,
// ten times the dashboard's rate at a 1 s scrape interval, and fails if any
// healthy client is dropped or misses an update.
func BenchmarkWSClients100Sustained(b *testing.B) {
	span := 60 * time.Second
	if testing.Short() {
		span = 5 * time.Second
	}
	const n = 100
	for range b.N {
		r := newWSRig(b, func(o *WSOptions) { o.MaxPerIP = n })
		counts := make([]chan struct{}, n)
		clients := make([]*wsClient, n)
		for i := range n {
			clients[i] = r.mustDial(b)
			clients[i].subscribe(b, `{"subscribe":["panel:requests"]}`, `{"subscribed":["panel:requests"]}`)
			counts[i] = make(chan struct{}, 1<<12)
			go func(c *wsClient, got chan<- struct{}) {
				for {
					select {
					case <-c.msgs:
						got <- struct{}{}
					case <-c.done:
						return
					}
				}
			}(clients[i], counts[i])
		}
		sent := 0
		tick := time.NewTicker(100 * time.Millisecond)
		for end := time.Now().Add(span); time.Now().Before(end); sent++ {
			<-tick.C
			if err := r.hub.Broadcast("panel:requests", livePoint{T: time.Now().UnixMilli(), Metrics: []map[string]string{{"route": "/cart"}}, Values: []string{"0.05"}}); err != nil {
				b.Fatal(err)
			}
		}
		tick.Stop()
		for i, got := range counts {
			for k := range sent {
				select {
				case <-got:
				case <-time.After(5 * time.Second):
					b.Fatalf("client %d got %d of %d updates", i, k, sent)
				}
			}
		}
		if conns := r.hub.Connections(); conns != n {
			b.Fatalf("%d of %d clients still connected", conns, n)
		}
		b.ReportMetric(float64(sent), "updates/client")
	}
}
