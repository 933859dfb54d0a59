package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Errors of SendTest.
var (
	// ErrReceiverNotFound is returned by SendTest for a name no configured receiver has.
	ErrReceiverNotFound = errors.New("receiver not found")
	// ErrTestInFlight is returned by SendTest while the receiver's previous test is still being sent.
	ErrTestInFlight = errors.New("a test notification to this receiver is already being sent")
)

// TestAlertName is the alertname of a test notification, so that a
// receiver's routing and anyone reading it can tell it from an alert.
const TestAlertName = "AtroZTestNotification"

// testNotification is what SendTest delivers: clearly a test, by by, at now.
func testNotification(by string, now time.Time) *Notification {
	return &Notification{
		Status: StatusFiring,
		Labels: map[string]string{"alertname": TestAlertName, "severity": "none", "test": "true"},
		Annotations: map[string]string{
			"summary":     "Test notification from AtroZ: no alert is firing",
			"description": fmt.Sprintf("Sent by %s at %s to check this receiver's delivery. It needs no action.", by, now.UTC().Format(time.RFC3339)),
		},
		StartsAt: now, Fingerprint: "0000000000000000",
	}
}

// ReceiverNames returns the configured receivers' names, in their order.
func (d *Dispatcher) ReceiverNames() []string {
	out := make([]string, len(d.workers))
	for i, w := range d.workers {
		out[i] = w.r.Name()
	}
	return out
}

// SendTest delivers one test notification, on behalf of by, through the
// receiver called name in a single attempt bounded by the Timeout, beside
// its queue (which it neither waits for nor delays), and returns the
// receiver's error, whose URLs the receivers have already redacted. It is
// not counted in the receiver's stats. One test per receiver is sent at a
// time.
func (d *Dispatcher) SendTest(ctx context.Context, name, by string) error {
	for _, w := range d.workers {
		if w.r.Name() != name {
			continue
		}
		if !w.testing.CompareAndSwap(false, true) {
			return ErrTestInFlight
		}
		defer w.testing.Store(false)
		start := d.opts.Now()
		err := w.attempt(ctx, []*Notification{testNotification(by, start)})
		attrs := []slog.Attr{slog.String("event_type", "alert_delivery"), slog.String("receiver", name), slog.String("by", by),
			slog.Bool("delivered", err == nil), slog.Duration("duration", d.opts.Now().Sub(start))}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		d.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "test notification", attrs...)
		return err
	}
	return fmt.Errorf("%w: %q", ErrReceiverNotFound, name)
}
