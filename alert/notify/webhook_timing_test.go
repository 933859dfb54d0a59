package notify

import (
	"encoding/json"
	"testing"
)

func BenchmarkWebhookPayload(b *testing.B) {
	ns := []*Notification{notifyFiring()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(newWebhookMessage("ops", "https://atroz.example", ns)); err != nil {
			b.Fatal(err)
		}
	}
}
