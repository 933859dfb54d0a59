package notify

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a test leaves a goroutine
// running: the Dispatcher's workers, servers and clients must all stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
