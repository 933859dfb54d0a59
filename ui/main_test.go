package ui

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the
// browser tests start Chromium through chromedp, whose readers must end
// with the browser.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
