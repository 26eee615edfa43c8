package apprtc

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// WebSocket's reader, writer and pinger, every timer's function and every
// HTTP connection must be gone once the servers are closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
