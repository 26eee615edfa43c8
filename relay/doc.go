// Package relay is a publish/subscribe hub of live media streams: one publisher
// per stream name fans out to any number of subscribers, and a subscriber that
// joins late starts on a keyframe.
//
// # Media unit
//
// The hub carries [Packet] values: an FLV tag body (Adobe FLV spec v10.1 §E.4,
// and the Enhanced RTMP extensions) with its tag type, a millisecond timestamp
// and two flags, Keyframe and SequenceHeader. The unit is protocol-neutral so the
// same stream can feed RTMP players and, later, WebRTC peers.
//
// # Caches
//
// Each stream remembers, for late joiners:
//   - the last script-data message (@setDataFrame/onMetaData),
//   - the last video sequence header (AVCDecoderConfigurationRecord,
//     HEVCDecoderConfigurationRecord or an Enhanced RTMP SequenceStart),
//   - the last audio sequence header (AAC AudioSpecificConfig),
//   - the current group of pictures: every packet since the latest video
//     keyframe (bounded by [Config.MaxGOPPackets] and [Config.MaxGOPBytes],
//     and by half of [Config.MaxBytes] for the caches of all streams).
//
// A new [Subscriber] first receives metadata, then the sequence headers, then
// the cached GOP, then live packets.
//
// # Fan-out cost
//
// A published packet becomes one immutable [Frame] shared by every subscriber;
// delivery appends a pointer to each subscriber's bounded queue under a short
// lock, with no goroutine and no copy per message. [Frame.Encoded] memoizes a
// protocol encoding of the frame (for example the RTMP chunk bytes) so that it
// is computed once per stream instead of once per subscriber.
//
// # Slow consumers
//
// Each subscriber has a queue of at most [Config.QueueLen] frames and
// [Config.MaxQueueBytes] bytes. When a publisher would overflow it, the
// policy in [Config.SlowConsumer] applies:
//   - [DropToKeyframe] (default): the queue is emptied and the subscriber skips
//     audio, video and data until the next video keyframe (sequence headers still
//     pass), so it resumes on a decodable picture; drops are counted.
//   - [Disconnect]: the subscriber is closed and its reads return
//     [ErrSlowConsumer].
//
// When the publisher leaves, each subscriber reads what is still queued and
// then [io.EOF].
//
// # Memory
//
// The hub holds frames in its caches and in subscriber queues, and takes
// ownership of each published payload (the RTMP handler copies each message
// into a payload of its own, so frames pin no reader buffers). A frame is
// counted once, by its payload's capacity plus a small fixed overhead, for
// as long as a cache or a queue holds it: [Hub.BufferedBytes] is that
// total, [Subscriber.QueuedBytes] one queue's share. [Config.MaxBytes]
// bounds the total: when it is reached the GOP caches stop growing (late
// joiners wait for the next keyframe) and subscribers with a backlog are
// handled as slow consumers, while publishing and subscribers that keep up
// go on unaffected; no publish is refused. Frames that a reader has taken
// are its own, so an RTMP player takes at most 1 MiB of frames at once.
// The RTMP chunk encoding memoized on a frame ([Frame.RTMPChunks]) is not
// counted: once a player has encoded a frame, it holds about its payload
// again.
//
// # RTMP
//
// [RTMPHandler] is an rtmp.Handler: an rtmp.Server with it publishes into
// the hub under "app/name" and plays from it, so that any number of players
// of rtmp://host/app/name start on a keyframe. Players share each frame's
// chunk encoding ([Frame.RTMPChunks], built once per frame by
// rtmp.AppendSharedChunks), so fan-out costs one vectored write per player
// and no per-player chunking. Its Authorize hook accepts or rejects each
// publish and play (for example by a key in the URL's query). Playing a
// name nobody publishes is answered with NetStream.Play.StreamNotFound.
//
// A WebRTC bridge can subscribe to the same streams: a Packet is an FLV tag
// body, from which H.264 NAL units (flv.NewNALUIter) and codec
// configurations (flv.ParseAVCDecoderConfig), of package
// github.com/streamwire/streamwire/rtmp/flv, are read without copying.
package relay
