package alert

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a test leaves a goroutine
// running: the Manager's evaluation loop and the Dispatcher it feeds must
// stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
