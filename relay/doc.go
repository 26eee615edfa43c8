// Package relay is a publish/subscribe hub of live media streams: one publisher
// per stream name fans out to any number of subscribers, and a subscriber that
// joins late starts on a keyframe.
//
// # Media unit
//
// The hub carries access units ([Unit]), described by codec rather than
// by the protocol that brought them: the codec (H264, H265, AV1, VP8,
// VP9, Opus, AAC, Script), the decode time in milliseconds ([Unit.DTS])
// with the composition offset ([Unit.CTS]), the presentation time in the
// codec's RTP clock ([Unit.RTPTime]: 90 kHz video, 48 kHz Opus), the
// keyframe and sequence-header flags, the decoder configuration in force
// ([Unit.Config], one shared [DecoderConfig] per sequence header:
// AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord, av1C,
// AudioSpecificConfig, OpusHead), the arrival time (monotonic: where the
// server-added latency starts), and the data. H.264 and H.265 data is
// AVCC with 4-byte NAL unit lengths, whatever the publisher's record
// said; AV1 is OBUs with size fields; the others are one codec frame.
// What the unit cannot describe (MP3, multitrack tags...) is
// CodecUnknown and carries its FLV tag, for RTMP players only.
//
// The edges convert: [RTMPHandler] makes units of FLV tags (keeping the
// tag, so that RTMP players of an RTMP publisher get each tag byte for
// byte) and [WebRTCPublisher] of RTP. A published unit becomes a [Frame],
// on which each output's encoding is computed once per stream, on first
// use, never per subscriber: [Frame.FLVTag] and [Frame.RTMPChunks] for
// RTMP players, the RTP payloads for WebRTC viewers (see "WebRTC
// bridge").
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
// lock, with no goroutine and no copy per message. A frame's protocol
// encodings (RTMP chunks, RTP payloads) are typed fields of the frame,
// filled on first use (an atomic compare-and-swap, no lock and no
// registry), so that each is computed once per stream instead of once
// per subscriber.
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
// ownership of each published unit's data (the RTMP handler copies each
// message into a buffer of its own, so frames pin no reader buffers). A
// frame is counted once, by its buffers' capacity plus a small fixed
// overhead, for
// as long as a cache or a queue holds it: [Hub.BufferedBytes] is that
// total, [Subscriber.QueuedBytes] one queue's share. [Config.MaxBytes]
// bounds the total: when it is reached the GOP caches stop growing (late
// joiners wait for the next keyframe) and subscribers with a backlog are
// handled as slow consumers, while publishing and subscribers that keep up
// go on unaffected; no publish is refused. Frames that a reader has taken
// are its own, so an RTMP player takes at most 1 MiB of frames at once.
// The encodings memoized on a frame ([Frame.RTMPChunks], the RTP
// payloads) are not counted: once a player has encoded a frame, it holds
// about its data again.
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
// # WebRTC bridge
//
// [WebRTCSubscriber] sends a stream to one WebRTC viewer (a WHEP session)
// through its peer.LocalTrack values, and [WebRTCPublisher] feeds a
// stream from a WebRTC publisher's RTP (a WHIP session), so that every
// publisher reaches every kind of subscriber. What goes where:
//
//   - H.264 from RTMP (legacy AVC or Enhanced RTMP avc1) goes to viewers
//     that negotiated H264 as RFC 6184 packetization-mode 1 RTP, cut by
//     pion/rtp's payloader into payloads of at most [RTPMaxPayload]
//     bytes. The sequence header's SPS and PPS go as a STAP-A before
//     every IDR frame that lacks its own, so that a viewer joining on the
//     cached GOP decodes at once. B-frames, found by slice_type, not by
//     composition time, end the viewer with [ErrBFrames] by default;
//     [DropBFrames] leaves them out instead.
//   - Opus from Enhanced RTMP (FourCC Opus) goes out one RTP packet per
//     tag (RFC 7587). AAC, what ffmpeg and OBS send by default, reaches
//     viewers that negotiated Opus transcoded (see "AAC to Opus").
//   - HEVC and AV1 from Enhanced RTMP (FourCC hvc1, av01) go to viewers
//     that negotiated H265 (RFC 7798: single NAL unit packets and
//     fragmentation units, the VPS, SPS and PPS in an aggregation packet
//     before every IRAP picture that lacks them) or AV1 (the AV1 RTP
//     specification, by pion/rtp's payloader, with the av1C's sequence
//     header OBU in front of every key frame that lacks one). Answer
//     such a viewer with [Subscriber.VideoCodecs], which puts the
//     stream's codec first. HEVC B-frames are found by slice_type too
//     (the slice segment header read with the record's SPS and PPS, or
//     the frame's own) and meet the same policy. x265's P-frames predict
//     from its b-pyramid's reference B-frames, so under [DropBFrames] a
//     viewer that drops a reference B-frame gets nothing more until the
//     next IRAP picture: publish with b-pyramid=0, or no B-frames. VP9
//     and multitrack tags are not sent.
//   - From a WebRTC publisher, H.264 is reassembled from single NAL unit
//     packets, STAP-A and FU-A into access units, with the SPS and PPS in
//     an AVCDecoderConfigurationRecord sequence header (a new one when
//     they change), which RTMP players get as AVC FLV tags. WebRTC
//     viewers of the same codec get the publisher's RTP payloads as they
//     came, kept on the frame (not cut again from the access unit), with
//     their own SSRC, sequence numbers and timestamp offset; a payload
//     too large for a viewer's headers (over 1,400 bytes) has its frame
//     cut afresh. A
//     frame that lost a packet is dropped, with the frames after it up
//     to the next IDR, which is requested by a PLI. Opus becomes Enhanced
//     RTMP Opus audio after an OpusHead sequence start (see "RTMP
//     players of WebRTC codecs" for players without it).
//   - VP8 (Firefox's default) becomes Enhanced RTMP vp08 frames; VP8
//     viewers get the publisher's RFC 7741 payloads as they came.
//
// Each frame's RTP payloads are computed once for all viewers, as the
// RTMP chunks are, and kept on the frame; a viewer
// writes them with its own RTP headers. A new viewer's Run sends it the
// cached GOP as one burst from its own goroutine; a viewer on UDP then
// joins one of the stream's viewer groups
// ([WebRTCSubscriberConfig.GroupSize]): one goroutine and one hub queue
// per group of up to 256 viewers (as many groups as GOMAXPROCS first,
// so that they run in parallel), sending each frame to all of them and
// writing their packets with one sendmmsg(2) per 64 (peer.Batch). Per
// packet a viewer costs its RTP header, the peer's SRTP protection and a
// share of a system call, without allocating (see the package's
// benchmarks and the README's WHEP fan-out figures).
// [WebRTCSubscriberConfig.Latency] is told each frame's server-added
// latency: from its arrival ([Unit.Arrival]) to its packets written, in
// one call for all the members of a group that one write sent the frame.
//
// Sender reports: a viewer's tracks map each frame's RTP timestamp to
// the frame's arrival (peer.LocalTrack.MapTimestamp), and transcoded
// Opus to the arrival of its AAC, so that a browser, which lines audio
// and video up by the sender reports, plays them as they came in, not
// as late as the transcoder made the audio; and publishers that send no
// sender reports (OBS before 30) still give synchronized tracks.
//
// Timestamps: a viewer's RTP timestamps are the frames' [Unit.RTPTime]
// (a WebRTC publisher's own, or the presentation milliseconds times 90
// for video and 48 for Opus) from a random start per track; its
// sequence numbers count the packets it is
// sent, so frames the hub drops for a slow viewer leave no gap to NACK. A
// publisher's RTP timestamps become milliseconds per track, unwrapped,
// with each track's first packet placed at its arrival since the
// stream's first packet: audio and video stay aligned to within the
// difference of the two first packets' network delays (RTCP sender
// reports would align them exactly; the peer does not pass them on).
//
// Key frames: a viewer's PLI or FIR ([WebRTCSubscriber.RequestKeyFrame])
// reaches a WebRTC publisher as a PLI of its own, which its peer sends at
// most once per second; an RTMP encoder cannot be asked, so the request
// is only counted. The hub asks the publisher itself ([Publisher.OnKeyFrameRequest])
// when a subscriber joins without a usable cached GOP or is dropped to
// the next keyframe: a browser publisher sends keyframes only when asked.
//
// A server wires a WHEP viewer and a WHIP publisher like this:
//
//	// WHEP: the stream's subscriber, then the peer, then Run once connected.
//	sub, err := hub.Subscribe(name)
//	v := relay.NewWebRTCSubscriber(sub, relay.WebRTCSubscriberConfig{Logger: log, Latency: histogram})
//	cfg := peer.Config{..., OnKeyFrameRequest: v.OnKeyFrameRequest}
//	cfg.SDP.Video.Codecs = sub.VideoCodecs() // H.265 or AV1 first for such a stream
//	p, err := peer.Answer(offer, cfg)
//	<-p.Connected()
//	video, audio := relay.PeerTracks(p)
//	err = v.Run(ctx, video, audio) // cancel ctx when the peer is done
//
//	// WHIP: the stream's publisher, then the peer with its OnRTP.
//	pub, err := hub.Publish(name)
//	w := relay.NewWebRTCPublisher(pub, relay.WebRTCPublisherConfig{Logger: log})
//	p, err := peer.Answer(offer, peer.Config{..., OnRTP: w.OnRTP})
//	<-p.Done()
//	w.Close()
//
// A WHEP server that answers viewers of a name nobody publishes yet,
// instead of 409, subscribes them with [Hub.SubscribeWaiting]: they read
// the publisher's frames when it comes, and a viewer answered with a
// codec the publisher does not bring ends with [ErrCodecMismatch] under
// [WebRTCSubscriberConfig.CloseOnCodecMismatch].
//
// # AAC to Opus
//
// Browsers do not decode AAC over WebRTC. The first WebRTC viewer of a
// stream with AAC audio whose audio track is Opus starts the stream's
// transcoder (package relay/transcode): one ffmpeg child process per
// stream, 48 kHz stereo Opus in 20 ms packets at [Config.Transcode]'s
// bitrate (64 kbit/s by default). The publisher's AAC frames go to it
// through a bounded queue that never blocks the publisher (a full queue
// drops, and counts); its Opus packets become Enhanced RTMP Opus frames
// that only the stream's Opus viewers are sent, through their own
// queues, with timestamps on the stream's millisecond timeline: audio
// stays within a few milliseconds of the video (tested within 80 ms
// against ffmpeg-made H.264 and AAC with sync marks), across gaps in the
// publisher's timestamps. Each viewer's AAC frames are left out, and the
// last viewer to leave, or the publisher, closes the transcoder, which
// kills its ffmpeg. RTMP players keep getting the AAC. A viewer's first
// Opus comes about half a second after ffmpeg starts (loading it), then
// each packet about 50 ms after its first AAC sample; its sender reports
// map it to its AAC's arrival, so that it plays beside its video.
//
// Without ffmpeg on PATH (or with [Config.NoTranscode]), viewers get the
// video only, and the stream's log says why once, as it does for a viewer
// that did not negotiate Opus (SRS transcodes with libavcodec; MediaMTX
// drops the audio).
//
// # RTMP players of WebRTC codecs
//
// An RTMP player gets the Enhanced RTMP codecs it announced in its
// connect command (rtmp.StreamRequest.AcceptsFourCC: fourCcList, or the
// v2 FourCC info maps), and most players (ffmpeg 5.1, VLC, OBS's media
// source) announce none:
//   - Opus (a browser's WHIP) reaches a player without Enhanced RTMP
//     Opus as AAC-LC, 48 kHz stereo, from the stream's Opus to AAC
//     transcoder (transcode.NewOpusToAAC), which the first such player
//     starts and the last closes, as WebRTC viewers do the AAC to Opus
//     one. The player gets the AAC sequence header in place of the Opus
//     one, before the cached GOP, so that a player that probes the
//     stream finds the audio track; its AAC frames follow about half a
//     second later (ffmpeg's start) and each about 65 ms after its Opus
//     (ffmpeg's AAC encoder delay). Without ffmpeg, such players get the
//     video only, and the stream's log says why once.
//   - A VP8 stream is refused to a player without vp08 with
//     NetStream.Play.Failed saying why (ffmpeg 5.1 otherwise misreads it
//     as another codec and shows nothing, without an error); VP8 that
//     starts after the player joined is left out for it.
//   - H.265, AV1 and VP9 from an Enhanced RTMP publisher go to every
//     player as published: ffmpeg 6.1+ plays them without announcing
//     them, and a relay between RTMP publishers and players forwards
//     what it gets, as SRS and MediaMTX do.
package relay
