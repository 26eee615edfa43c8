package natsbackplane

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// docCache holds, per instance, the last entry read or written of the
// room or channel keys of one bucket, so that sending a message costs no
// KV read: the sender's store finds the recipient's WebSocket in the
// cached document. A KV watch on the documents' keys drops an entry as
// soon as another writer changes its key.
//
// The cache is a hint, never a decision. A delivery to a WebSocket the
// cache names is only made if that WebSocket is still bound where it says
// (sink ids are never reused); every write is a compare-and-set on the
// revision that was read, and a write that loses, or a decision to write
// nothing taken on a cached entry, is taken again on a fresh read (see
// bucket.update). Between a change on another instance and its watch
// update, a cached entry is stale for a few milliseconds at most, and
// that costs one more request.
type docCache struct {
	max int // entries; past it the cache is emptied

	mu sync.Mutex
	m  map[string]cachedDoc
	// watching is true while the watch runs: without it nothing would
	// tell of changes, and nothing is cached.
	watching bool
}

// cachedDoc is a cached key: its entry, and the entry decoded (read-only;
// nil until a reader decoded it).
type cachedDoc struct {
	e   entry
	doc any
}

func newDocCache(max int) *docCache { return &docCache{max: max, m: map[string]cachedDoc{}} }

// get returns key's cached entry and its decoded document (nil when not
// decoded yet).
func (c *docCache) get(key string) (cachedDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[key]
	return d, ok
}

// put caches e for key unless the cache holds a later revision; a cache
// over its size is emptied first, which costs one read per key in use.
func (c *docCache) put(key string, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.watching {
		return
	}
	if old, ok := c.m[key]; ok && old.e.rev > e.rev {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = cachedDoc{e: e}
}

// setDoc records doc as the decoding of key's entry at rev, if that is
// still the cached one.
func (c *docCache) setDoc(key string, rev uint64, doc any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[key]; ok && d.e.rev == rev {
		d.doc = doc
		c.m[key] = d
	}
}

// changed drops key's entry unless it is at rev or later: another writer
// wrote rev.
func (c *docCache) changed(key string, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[key]; ok && d.e.rev < rev {
		delete(c.m, key)
	}
}

// drop forgets key.
func (c *docCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// setWatching empties the cache and turns caching on or off.
func (c *docCache) setWatching(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = on
	clear(c.m)
}

// watch drops the cached entries of the keys matching pattern that change
// in b, until stop is called; it returns once the watch is set up. Only
// revisions are watched (MetaOnly): a changed key is read again when next
// used. stop waits for the watch to end.
func (c *docCache) watch(b *bucket, pattern string) (stop func(), err error) {
	// The watch's subscription lives as long as the context it was made
	// with.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.kv.Watch(ctx, pattern, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		cancel()
		return nil, err
	}
	// Nothing was cached before the watch began.
	c.setWatching(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Once the watch ends nothing tells of changes any more.
		defer c.setWatching(false)
		for {
			select {
			case <-ctx.Done():
				_ = w.Stop()
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					c.changed(e.Key(), e.Revision())
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }, nil
}
