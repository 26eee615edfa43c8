//go:build unix

package ice

import (
	"syscall"
	"testing"
)

// cpuMeter measures the CPU time the process spends in a benchmark's loop,
// which, unlike ns/op, does not grow with the time the benchmark waits for
// a core that other processes hold: the machines these benchmarks run on
// are shared.
type cpuMeter struct{ start int64 }

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

// report adds the process's CPU time per iteration of b's loop, since
// startCPU, as cpu-ns/op.
func (c cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the user and system CPU time of the process, in
// nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
