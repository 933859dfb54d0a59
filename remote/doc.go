// Package remote forwards every sample the store commits to Prometheus
// remote-write receivers (VictoriaMetrics, Mimir, Thanos Receive,
// Prometheus), so AtroZ can stay the edge of a larger cluster.
//
// Each destination has its own bounded queue, split into shards by series
// so a series' samples stay in order. A shard sends a batch when it is full
// or a second old, retries 5xx, 429 and network errors with capped
// exponential backoff, and drops a batch a receiver refuses with another
// 4xx. When the queue is full, new samples are dropped and counted, never
// waited for: ingestion does not slow down for a slow receiver.
package remote
