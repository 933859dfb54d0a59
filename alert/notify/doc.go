// Package notify delivers alert notifications. Package alert decides what
// to send (an alert firing, resolving, or reminding) and hands each batch
// of Notifications to a Dispatcher; notify only delivers them.
//
// A Dispatcher gives every Receiver its own bounded queue and worker
// goroutine, so a slow or dead destination delays neither the evaluation
// that dispatched the batch nor the other receivers; a full queue drops
// the batch and counts it. A worker sends its batches in order, each
// attempt bounded by a timeout, and retries a retryable failure (a network
// error, a timeout, a 5xx or 429 answer, an error wrapping ErrRetryable)
// with exponential backoff and full jitter, honouring Retry-After. Close
// drains the queues for a while, then cancels what is still in flight.
// ReceiverStats and WriteMetrics count what was sent, failed, dropped and
// retried per receiver.
//
// The receivers translate a batch to their destination's format:
// WebhookReceiver (Alertmanager's webhook payload, optionally signed),
// AlertmanagerReceiver (Alertmanager's v2 API), SlackReceiver,
// TeamsReceiver, PagerDutyReceiver (Events API v2) and EmailReceiver
// (SMTP with STARTTLS, a text and an HTML part). Dispatcher.SendTest sends
// one test notification through a receiver, beside its queue.
package notify
