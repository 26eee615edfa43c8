package natsbackplane

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config's fields.
const (
	// DefaultPrefix starts the names of the backplane's KV buckets
	// (streamwire_apprtc, streamwire_kvs) and of its subjects
	// (streamwire.i.INSTANCE.SINK).
	DefaultPrefix = "streamwire"
	// DefaultTimeout bounds each NATS request: one KV read, one
	// compare-and-set, one delivery to another instance. A server 2 s
	// away is as good as down for signaling.
	DefaultTimeout = 2 * time.Second
	// DefaultDeliveryTimeout bounds a delivery to a WebSocket on another
	// instance, from its queueing to the answer. An instance that is gone
	// answers at once (its subscription went with its connection), so
	// this only waits out a live instance that is slow: on a busy machine
	// a round trip can take seconds, and a late message beats a lost one.
	DefaultDeliveryTimeout = 10 * time.Second
	// DefaultLeaseTTL is the TTL of the KV entry of a client whose
	// WebSocket is open on an instance; that instance rewrites it every
	// LeaseTTL/3. When the instance dies, the client's seat is free
	// LeaseTTL later at most. 15 s is longer than a garbage-collection
	// pause or a NATS reconnect, and of the order of the Collider's 10 s
	// grace.
	DefaultLeaseTTL = 15 * time.Second
	// DefaultMarkerTTL is how long JetStream keeps the marker that a
	// deleted or expired key leaves (KV LimitMarkerTTL): long enough for
	// a compare-and-set that read the key just before to fail cleanly.
	DefaultMarkerTTL = time.Minute
	// DefaultMaxRetries caps the compare-and-set attempts of one
	// operation on one key; each lost attempt means another instance
	// wrote the key meanwhile.
	DefaultMaxRetries = 32
	// DefaultCacheEntries caps the room and channel documents an instance
	// caches, to send messages without a KV read: a room's document is
	// some hundred bytes, so 65,536 of them take some tens of MB at most.
	DefaultCacheEntries = 65536
)

// Config configures a Backplane. The zero value works: every zero (or
// negative) field takes its DefaultXxx constant.
type Config struct {
	// Prefix names the KV buckets (PREFIX_apprtc, PREFIX_kvs) and starts
	// every subject (PREFIX.i.INSTANCE.SINK). Instances that share rooms
	// and channels use the same Prefix. It must be a valid bucket name:
	// letters, digits, '-' and '_'. Zero means DefaultPrefix
	// ("streamwire").
	Prefix string
	// Timeout bounds each NATS request but deliveries (KV reads and
	// writes, probes). Zero means DefaultTimeout (2 s).
	Timeout time.Duration
	// DeliveryTimeout bounds a delivery to another instance, its wait in
	// the queue to that instance included. Zero means
	// DefaultDeliveryTimeout (10 s).
	DeliveryTimeout time.Duration
	// LeaseTTL is the TTL of a connected client's KV entry, which only
	// the instance holding its WebSocket refreshes (every LeaseTTL/3).
	// JetStream counts TTLs in whole seconds: it is rounded up, to 1 s at
	// least. Zero means DefaultLeaseTTL (15 s).
	LeaseTTL time.Duration
	// MarkerTTL is how long the marker of a deleted or expired key stays
	// (whole seconds, 1 s at least). Zero means DefaultMarkerTTL (1 min).
	MarkerTTL time.Duration
	// MaxRetries caps the compare-and-set attempts of one operation.
	// Zero means DefaultMaxRetries (32).
	MaxRetries int
	// CacheEntries caps the room and channel documents cached on this
	// instance (see Backplane); past it the cache is emptied. Zero means
	// DefaultCacheEntries (65,536).
	CacheEntries int
	// Replicas is the number of replicas of each KV bucket in a
	// clustered JetStream. Zero means 1.
	Replicas int
	// Storage is where JetStream keeps the buckets: jetstream.FileStorage
	// (the zero value) survives a NATS server restart,
	// jetstream.MemoryStorage does not.
	Storage jetstream.StorageType
	// Logger receives lost leases and failed background work (Warn) and
	// refused operations (Debug). Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Prefix = orDefault(c.Prefix, DefaultPrefix)
	c.Timeout = orDefault(c.Timeout, DefaultTimeout)
	c.DeliveryTimeout = orDefault(c.DeliveryTimeout, DefaultDeliveryTimeout)
	c.LeaseTTL = wholeSeconds(orDefault(c.LeaseTTL, DefaultLeaseTTL))
	c.MarkerTTL = wholeSeconds(orDefault(c.MarkerTTL, DefaultMarkerTTL))
	c.MaxRetries = orDefault(c.MaxRetries, DefaultMaxRetries)
	c.CacheEntries = orDefault(c.CacheEntries, DefaultCacheEntries)
	c.Replicas = orDefault(c.Replicas, 1)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// orDefault is def when v is zero or negative, else v.
func orDefault[T int | time.Duration | string](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// wholeSeconds rounds d up to whole seconds, 1 s at least: the resolution
// of JetStream's per-message TTL (Nats-TTL), which refuses less than 1 s.
func wholeSeconds(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
