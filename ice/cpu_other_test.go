//go:build !unix

package ice

import "testing"

// cpuMeter reports nothing where getrusage(2) is missing; see
// cpu_unix_test.go.
type cpuMeter struct{}

func startCPU() cpuMeter { return cpuMeter{} }

func (cpuMeter) report(*testing.B) {}
