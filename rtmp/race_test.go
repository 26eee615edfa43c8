//go:build race

package rtmp

// raceEnabled reports a build with the race detector, whose shadow memory
// and per-goroutine state are part of the process's RSS.
const raceEnabled = true
