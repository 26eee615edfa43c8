//go:build race

package stun

// raceEnabled reports a build with the race detector, which turns off
// optimisations that some allocation counts rely on (crypto/sha1's
// AppendBinary appends a made slice, which allocates only under -race).
const raceEnabled = true
