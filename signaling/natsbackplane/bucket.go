package natsbackplane

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// bucket is one JetStream KV bucket, used through its stream so that a
// compare-and-set can carry a per-key TTL (jetstream.KeyValue.Update
// clears it) and so that a deleted or expired key's marker gives the
// revision to compare against.
type bucket struct {
	bp     *Backplane
	kv     jetstream.KeyValue
	stream jetstream.Stream
	pre    string // "$KV.NAME.", the subject of key K is pre+K
	// docPre starts the keys of the documents (rooms, channels) that
	// cache holds; stopWatch ends cache's watch.
	docPre    string
	cache     *docCache
	stopWatch func()
	// beforeCAS, when set (tests), runs between a read and the
	// compare-and-set that follows it.
	beforeCAS atomic.Pointer[func(key string)]
}

// entry is a key's state: its value and revision when live; when deleted
// or expired, the revision of its marker (0 when the key never existed or
// its marker is gone), to compare-and-set against.
type entry struct {
	val  []byte
	rev  uint64
	live bool
}

// Headers of KV markers (jetstream's kv.go).
const (
	hdrKVOperation  = "KV-Operation"
	hdrMarkerReason = "Nats-Marker-Reason"
	hdrRollup       = "Nats-Rollup"
	hdrExpectedSeq  = "Nats-Expected-Last-Subject-Sequence"
	kvOpPurge       = "PURGE"
)

// errConflict is a compare-and-set that lost: the key changed since it was
// read.
var errConflict = errors.New("natsbackplane: revision mismatch")

// openBucket makes or updates the KV bucket PREFIX_name with per-key TTLs
// and history 1, whose keys docPre+TOKEN are documents cached on this
// instance. Close the bucket with close.
func (bp *Backplane) openBucket(ctx context.Context, name, docPre string) (*bucket, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:         bp.cfg.Prefix + "_" + name,
		Description:    "streamwire signaling backplane (" + name + ")",
		History:        1,
		Storage:        bp.cfg.Storage,
		Replicas:       bp.cfg.Replicas,
		LimitMarkerTTL: bp.cfg.MarkerTTL,
		MaxValueSize:   int32(bp.maxValue()),
	}
	// Making a bucket takes several requests, once.
	rctx, cancel := context.WithTimeout(ctx, 5*bp.cfg.Timeout)
	defer cancel()
	kv, err := bp.js.CreateOrUpdateKeyValue(rctx, cfg)
	if err != nil {
		return nil, failed(ctx, "create bucket "+cfg.Bucket, err)
	}
	st, err := bp.js.Stream(rctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, failed(ctx, "open bucket "+cfg.Bucket, err)
	}
	b := &bucket{bp: bp, kv: kv, stream: st, pre: "$KV." + cfg.Bucket + ".", docPre: docPre,
		cache: newDocCache(bp.cfg.CacheEntries)}
	if b.stopWatch, err = b.cache.watch(b, docPre+"*"); err != nil {
		return nil, failed(ctx, "watch bucket "+cfg.Bucket, err)
	}
	return b, nil
}

// close stops the cache's watch.
func (b *bucket) close() { b.stopWatch() }

// cached reports whether key is a document the cache holds.
func (b *bucket) cached(key string) bool { return strings.HasPrefix(key, b.docPre) }

// read returns key's entry from the cache when fromCache and it is there
// (reporting true), else from the bucket (and caches it).
func (b *bucket) read(ctx context.Context, key string, fromCache bool) (entry, bool, error) {
	if fromCache && b.cached(key) {
		if d, ok := b.cache.get(key); ok {
			b.bp.stats.cacheHits.Add(1)
			return d.e, true, nil
		}
	}
	e, err := b.get(ctx, key)
	if err == nil && b.cached(key) {
		b.cache.put(key, e)
	}
	return e, false, err
}

// peek returns the document at key decoded by decode, from the cache when
// it is there (decoding it once), else read from the bucket. The document
// is shared: read it, never change it. Decide nothing on it that is not
// checked again (see docCache).
func peek[D any](ctx context.Context, b *bucket, key string, decode func(entry) (D, error)) (D, error) {
	c, ok := b.cache.get(key)
	if ok {
		b.bp.stats.cacheHits.Add(1)
		if doc, ok := c.doc.(D); ok {
			return doc, nil
		}
	} else {
		var err error
		if c.e, _, err = b.read(ctx, key, false); err != nil {
			var zero D
			return zero, err
		}
	}
	doc, err := decode(c.e)
	if err == nil {
		b.cache.setDoc(key, c.e.rev, doc)
	}
	return doc, err
}

// get reads key.
func (b *bucket) get(ctx context.Context, key string) (entry, error) {
	rctx, cancel := context.WithTimeout(ctx, b.bp.cfg.Timeout)
	defer cancel()
	m, err := b.stream.GetLastMsgForSubject(rctx, b.pre+key)
	b.bp.stats.kvReads.Add(1)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return entry{}, nil
	case err != nil:
		return entry{}, failed(ctx, "get "+key, err)
	case m.Header.Get(hdrKVOperation) != "" || m.Header.Get(hdrMarkerReason) != "":
		return entry{rev: m.Sequence}, nil
	}
	return entry{val: m.Data, rev: m.Sequence, live: true}, nil
}

// put writes val to key if its revision is still rev (0: the key has no
// value and no marker), with a TTL when ttl > 0. It returns the new
// revision, or errConflict.
func (b *bucket) put(ctx context.Context, key string, val []byte, rev uint64, ttl time.Duration) (uint64, error) {
	if f := b.beforeCAS.Load(); f != nil {
		(*f)(key)
	}
	opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(rev)}
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(wholeSeconds(ttl)))
	}
	rctx, cancel := context.WithTimeout(ctx, b.bp.cfg.Timeout)
	defer cancel()
	ack, err := b.bp.js.PublishMsg(rctx, &nats.Msg{Subject: b.pre + key, Data: val}, opts...)
	b.bp.stats.kvWrites.Add(1)
	if err != nil {
		return 0, b.casError(ctx, key, "put "+key, err)
	}
	if b.cached(key) {
		b.cache.put(key, entry{val: val, rev: ack.Sequence, live: true})
	}
	return ack.Sequence, nil
}

// purge removes key and its history if its revision is still rev (any
// revision when rev is 0), leaving a marker that expires after MarkerTTL.
func (b *bucket) purge(ctx context.Context, key string, rev uint64) error {
	if f := b.beforeCAS.Load(); f != nil {
		(*f)(key)
	}
	m := nats.NewMsg(b.pre + key)
	m.Header.Set(hdrKVOperation, kvOpPurge)
	m.Header.Set(hdrRollup, "sub")
	if rev != 0 {
		m.Header.Set(hdrExpectedSeq, strconv.FormatUint(rev, 10))
	}
	rctx, cancel := context.WithTimeout(ctx, b.bp.cfg.Timeout)
	defer cancel()
	ack, err := b.bp.js.PublishMsg(rctx, m, jetstream.WithMsgTTL(b.bp.cfg.MarkerTTL))
	b.bp.stats.kvWrites.Add(1)
	if err != nil {
		return b.casError(ctx, key, "purge "+key, err)
	}
	if b.cached(key) {
		b.cache.put(key, entry{rev: ack.Sequence})
	}
	return nil
}

// casError is errConflict for a lost compare-and-set, else the failure of
// the request. Either way key's cached entry is dropped: it is stale, or
// the write may have landed.
func (b *bucket) casError(ctx context.Context, key, op string, err error) error {
	b.cache.drop(key)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		b.bp.stats.conflicts.Add(1)
		return errConflict
	}
	return failed(ctx, op, err)
}

// change is what an update's function decides for a key.
type change int

const (
	keep   change = iota // write nothing (decided again on a fresh read when decided on a cached one)
	write                // write the new value
	remove               // purge the key
	done                 // write nothing: the function acted (delivered a message) and is done
)

// update runs f on key's entry and applies its decision with a
// compare-and-set, again on a fresh read while another writer wins, at
// most MaxRetries times. The first read may come from the cache: a stale
// entry makes the compare-and-set lose, and a decision to keep it as it
// is is taken again on a fresh read. f returns the new value, its TTL and
// the error to return (which does not stop a write). It returns the
// revision written (0 when nothing was).
func (b *bucket) update(ctx context.Context, key string, f func(e entry) ([]byte, time.Duration, change, error)) (uint64, error) {
	fresh := false
	for range b.bp.cfg.MaxRetries {
		e, cached, err := b.read(ctx, key, !fresh)
		if err != nil {
			return 0, err
		}
		val, ttl, ch, ferr := f(e)
		var rev uint64
		switch ch {
		case keep:
			if cached {
				fresh = true
				continue
			}
			return 0, ferr
		case done:
			return 0, ferr
		case write:
			rev, err = b.put(ctx, key, val, e.rev, ttl)
		case remove:
			err = b.purge(ctx, key, e.rev)
		}
		if errors.Is(err, errConflict) {
			fresh = true
			continue
		}
		if err != nil {
			return 0, err
		}
		return rev, ferr
	}
	return 0, ErrContention
}
