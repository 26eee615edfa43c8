package natsbackplane

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// Backplane's refresher and subscription, every WebSocket's goroutines,
// and the embedded NATS servers must be gone once closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
