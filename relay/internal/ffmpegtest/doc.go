// Package ffmpegtest runs ffmpeg for the tests of package relay and its
// subpackages: making media to publish and decoding what viewers got.
package ffmpegtest
