package notify

import (
	"io"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// ReceiverStats counts one receiver's notifications since the Dispatcher
// started. A batch of n notifications counts n.
type ReceiverStats struct {
	// Name is the receiver's name.
	Name string
	// Sent counts notifications delivered.
	Sent uint64
	// Failed counts notifications given up on: a permanent error, retries
	// exhausted, or a shutdown cutting the retries short.
	Failed uint64
	// Dropped counts notifications never attempted: the queue was full, or
	// the Dispatcher was closed or closing.
	Dropped uint64
	// Retried counts notifications sent again after a retryable failure.
	Retried uint64
	// QueueLength is the number of batches waiting in the queue now.
	QueueLength int
}

// Stats returns each receiver's counters, in the order of the receivers
// given to NewDispatcher.
func (d *Dispatcher) Stats() []ReceiverStats {
	stats := make([]ReceiverStats, len(d.workers))
	for i, w := range d.workers {
		stats[i] = w.stats()
	}
	return stats
}

// labelEscaper applies the text format's three escapes to a label value.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// WriteMetrics writes the receivers' counters to w in Prometheus text
// format: alert_notifications_total{receiver,result} with result sent,
// failed or dropped, alert_notification_retries_total{receiver} and
// alert_notification_queue_length{receiver}.
func (d *Dispatcher) WriteMetrics(w io.Writer) {
	for _, s := range d.Stats() {
		r := `receiver="` + labelEscaper.Replace(s.Name) + `"`
		metrics.WriteCounterUint64(w, `alert_notifications_total{`+r+`,result="sent"}`, s.Sent)
		metrics.WriteCounterUint64(w, `alert_notifications_total{`+r+`,result="failed"}`, s.Failed)
		metrics.WriteCounterUint64(w, `alert_notifications_total{`+r+`,result="dropped"}`, s.Dropped)
		metrics.WriteCounterUint64(w, `alert_notification_retries_total{`+r+`}`, s.Retried)
		metrics.WriteGaugeUint64(w, `alert_notification_queue_length{`+r+`}`, uint64(s.QueueLength)) // #nosec G115 -- a length is never negative.
	}
}
