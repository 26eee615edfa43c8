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
//     keyframe (bounded by [Config.MaxGOPPackets] and [Config.MaxGOPBytes]).
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
// Each subscriber has a queue of [Config.QueueLen] frames. When a publisher
// would overflow it, the policy in [Config.SlowConsumer] applies:
//   - [DropToKeyframe] (default): the queue is emptied and the subscriber skips
//     audio, video and data until the next video keyframe (sequence headers still
//     pass), so it resumes on a decodable picture; drops are counted.
//   - [Disconnect]: the subscriber is closed and its reads return
//     [ErrSlowConsumer].
//
// When the publisher leaves, each subscriber reads what is still queued and
// then [io.EOF].
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
// body, from which H.264 NAL units (rtmp.NewNALUIter) and codec
// configurations (rtmp.ParseAVCDecoderConfig) are read without copying.
package relay
