package remote

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a sender goroutine running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
