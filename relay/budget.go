package relay

// Memory accounting.
//
// A frame's payload is the only large thing the hub holds, and one frame
// can be held by several owners at once: the stream's caches (metadata,
// sequence headers, GOP) and any number of subscriber queues. Each owner
// takes a reference (hold) and gives it back (release); the hub counts a
// frame's bytes once, while at least one owner holds it, so that
// Hub.BufferedBytes is the memory the hub keeps alive, not the memory
// times the number of subscribers. A subscriber's own queue is counted
// separately, per reference (Subscriber.QueuedBytes), since that is what it
// alone can pin.

// frameOverhead is what a frame costs besides its payload: the Frame
// itself (136 bytes on 64-bit platforms, checked by a test) and its slot in
// a ring, rounded up. It keeps the byte bounds meaningful for tiny frames.
const frameOverhead = 160

// frameSize is the number of bytes a frame is charged whose buffers
// (Data, or the RTMP publisher's tag that Data aliases, and a WebRTC
// publisher's RTP payloads) have a capacity of n bytes in all. The
// capacity, not the length, counts: the hub takes ownership of the whole
// backing array (rtmpSink copies each message to an exact-size array, but
// a Publisher.Write caller may pass a short slice of a larger buffer).
func frameSize(n int) int { return n + frameOverhead }

// hold takes a reference to f for one of the hub's owners.
func (h *Hub) hold(f *Frame) { h.holdN(f, 1) }

// holdN takes n > 0 references to f.
func (h *Hub) holdN(f *Frame, n int) {
	if f.refs.Add(int32(n)) == int32(n) {
		h.bytes.Add(int64(f.size))
	}
}

// release gives back a reference taken by hold; f may be nil.
func (h *Hub) release(f *Frame) {
	if f != nil {
		h.releaseN(f, 1)
	}
}

// releaseN gives back n >= 0 references to f.
func (h *Hub) releaseN(f *Frame, n int) {
	if n > 0 && f.refs.Add(-int32(n)) == 0 {
		h.bytes.Add(-int64(f.size))
	}
}

// wouldExceed reports whether holding f would take the hub above limit
// bytes. A frame that is already held adds nothing, but the hub may be
// above the limit anyway: then the answer is also yes, so that what is
// held shrinks.
func (h *Hub) wouldExceed(f *Frame, limit int64) bool {
	n := h.bytes.Load()
	if f.refs.Load() == 0 {
		n += int64(f.size)
	}
	return n > limit
}

// BufferedBytes returns how many bytes of frames the hub holds now: payload
// capacity plus a fixed overhead per frame, counting each frame once
// however many caches and subscriber queues hold it. Frames that a reader
// has taken out of its queue are no longer counted. Encodings memoized on
// frames ([Frame.RTMPChunks], a built [Frame.FLVTag], RTP payloads cut for
// WebRTC viewers) are not counted either:
// when players use them, a queued frame holds about its payload again.
func (h *Hub) BufferedBytes() int64 { return h.bytes.Load() }

// QueuedBytes returns how many bytes of frames the subscriber's queue holds
// now, counted as in [Hub.BufferedBytes] (frames shared with other queues
// and the caches count in full here). It stays within
// [Config.MaxQueueBytes], except for a single frame larger than that.
func (sub *Subscriber) QueuedBytes() int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return int64(sub.bytes)
}
