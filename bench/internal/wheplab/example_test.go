//go:build linux

package wheplab_test

import (
	"fmt"
	"time"

	"github.com/streamwire/streamwire/bench/internal/wheplab"
)

// Two snapshots of a load (Load.Snapshot) taken 10 s apart give the
// window's loss and rate; here they are written out by hand.
func ExampleBetween() {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	a := wheplab.Snapshot{At: t0, Viewers: 2, Packets: 1000, Expected: 1000, Bytes: 1_200_000, PerViewer: []uint64{500, 500}}
	b := wheplab.Snapshot{At: t0.Add(10 * time.Second), Viewers: 2, Packets: 2898, Expected: 2900, Bytes: 2_800_000,
		PerViewer: []uint64{1449, 1449}}
	w := wheplab.Between(a, b)
	fmt.Printf("%d of %d lost (%.2f%%), %.0f kbit/s per viewer, %d packets for the slowest viewer\n",
		w.Lost, w.Expected, 100*w.LossRatio(), w.KbpsPerViewer(), w.MinViewerPackets)
	// Output: 2 of 1900 lost (0.11%), 640 kbit/s per viewer, 949 packets for the slowest viewer
}
