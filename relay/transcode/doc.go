// Package transcode transcodes a live stream's audio with an ffmpeg child
// process, both ways between RTMP's codec and WebRTC's:
//
//   - AAC to Opus (New), so that WebRTC viewers of an RTMP stream hear it:
//     browsers decode Opus over WebRTC, not AAC, which is what ffmpeg and
//     OBS publish by default. SRS does this with libavcodec linked in;
//     MediaMTX drops the audio.
//   - Opus to AAC (NewOpusToAAC), so that RTMP players of a WebRTC (WHIP)
//     publisher hear it: browsers send Opus, and players without Enhanced
//     RTMP audio (ffmpeg 5.1, most players) take only AAC.
//
// A Transcoder runs one ffmpeg per stream, for as long as the stream has
// viewers that need it (package relay starts it with the first and closes
// it with the last). Both directions share everything but the formats:
// the queue, the deadlines, the restarts, the kill and the counters.
//
// # AAC to Opus
//
// Write takes raw AAC access units (FLV AAC raw frames, ISO/IEC 14496-3)
// with their millisecond timestamps; SetConfig takes the stream's
// AudioSpecificConfig (§1.6.2.1). Each access unit gets a 7-byte ADTS
// header made from the config (ISO/IEC 13818-7 §6.2; the bytes ffmpeg's
// own ADTS muxer writes) and goes to ffmpeg's stdin:
//
//	ffmpeg -f aac -i pipe:0 -c:a libopus -b:a 64000 -ar 48000 -ac 2
//	       -frame_duration 20 -application lowdelay
//	       -flush_packets 1 -page_duration 20000 -f opus pipe:1
//
// (with probing off, so that ffmpeg starts on the first frame). Its
// stdout is Ogg Opus (RFC 7845) with one packet per page, flushed as
// each is written; the package reads it with a small Ogg reader of its
// own (RFC 3533: checksums checked, packets bounded to 64 KiB) and hands
// each 20 ms Opus packet, ready to be an RTP payload (RFC 7587), to the
// output function.
//
// # Opus to AAC
//
// Write takes Opus packets (RFC 6716: RTP payloads, RFC 7587; 48 kHz,
// mono or stereo as each packet's TOC says, any frame size) with their
// millisecond timestamps; no config is needed. They go to ffmpeg's stdin
// as Ogg Opus written by the package (RFC 7845: an OpusHead page of two
// channels and no pre-skip, an OpusTags page, then one packet per page
// with its granule position):
//
//	ffmpeg -f ogg -i pipe:0 -c:a aac -b:a 128000 -ar 48000 -ac 2
//	       -flush_packets 1 -f adts pipe:1
//
// Ogg, because ffmpeg's Ogg demuxer reads a pipe without seeking and
// hands each packet on as soon as its page is complete (measured: after
// the first packet, which its probing holds until the second, nothing is
// held back), and because Opus in Ogg is specified and small to write
// (a 27-byte header and the lacing values per page). The alternatives do
// worse: Opus packets are not self-delimiting and ffmpeg has no raw Opus
// demuxer; Matroska needs EBML headers and clusters for the same result;
// RTP needs a socket and an SDP file rather than a pipe.
//
// 48 kHz, not 44.1: it is Opus's own rate, so nothing is resampled, and
// OBS's default, which every RTMP player plays (an FLV AAC tag's rate
// field cannot say 48 kHz, but for AAC players take the rate from the
// AudioSpecificConfig: FLV specification v10.1, E.4.2.1). ffmpeg's native
// AAC-LC encoder, not libfdk_aac, because every build has it.
//
// ffmpeg's ADTS is read with an ADTS reader of the package's own
// (ISO/IEC 13818-7 §6.2: syncword, layer, frame length up to 8191 bytes,
// the CRC skipped when present, one raw data block per frame). Each
// frame's raw access unit goes to the output function with the 2-byte
// AudioSpecificConfig built from the ADTS header (object type, sampling
// frequency index, channel configuration: AAC-LC, 48 kHz, stereo), so
// that the relay sends an FLV AAC sequence header and then raw frames.
//
// # Timestamps
//
// Neither ADTS nor the package's Ogg carries the input's timestamps, so
// the Transcoder keeps them: it counts the samples it writes (1024 per
// AAC access unit; an Opus packet's, from its TOC) and maps each output
// packet's position (48 kHz samples, less the encoder's delay: the Opus
// pre-skip, RFC 7845 §4, or the 1024-sample priming of ffmpeg's AAC
// encoder) back to the input's milliseconds. Within a stretch of input
// whose timestamps agree with its sample count, the output's timestamps
// follow the samples, so that consecutive packets are exactly 20 ms
// (Opus) or 1024 samples (AAC: 21 or 22 whole ms) apart whatever the
// rounding of the input's milliseconds. An input unit whose timestamp is
// more than Config.ResyncThreshold (40 ms) away from the one its
// predecessors predict (a gap, a jump, a publisher that drops audio,
// WebRTC's DTX) starts a new stretch at its own timestamp: the output
// jumps with the input, as the video does. No silence is made up and
// ffmpeg is not restarted: the output stays continuous, and a receiver
// conceals a timestamp gap as it would a loss. So the audio stays on the
// video's timeline where a player of the input would put it: within 1 ms
// of ffmpeg's own decoding of the input in the tests, both ways
// (ffmpeg-made AAC, libopus-made Opus, with a gap and a backward jump;
// they allow 80 ms), and within the threshold for an input whose
// timestamps drift from its sample count. The AAC encoder's priming frame
// lies wholly before the input and is not delivered, so that no AAC
// timestamp comes before the input's first, after a restart too.
//
// # Latency
//
// Each packet's Delay is the wall-clock time from the Write of its
// first sample to its delivery. To Opus: the 20 ms Opus frame, the wait
// for the access unit that completes it (an AAC frame is 21-23 ms) and
// ffmpeg's own buffering; about 47 ms at the median in the tests. To
// AAC: ffmpeg's AAC encoder gives a frame once it has 2048 samples
// (43 ms: its priming and its look-ahead) of input past the frame's end,
// which is 64 ms of audio past the frame's first sample, less what of it
// came in the same 20 ms Opus packet as that sample; about 61 ms at the
// median in the tests (ffmpeg's Ogg demuxer and Opus decoder hold
// nothing back: measured). ffmpeg's stdin
// pipe is shrunk to one page (Linux), so that a backlog waits in the
// bounded queue, where it is counted, and not unseen in the pipe.
//
// # Bounds and failures
//
// Write never blocks: it puts the access unit or packet on a queue of
// Config.QueueLen and drops it when the queue is full (ErrQueueFull,
// counted in Stats.Dropped). Every write to ffmpeg has a deadline
// (Config.WriteTimeout; Config.StartTimeout until its first output,
// since loading ffmpeg takes a while): ffmpeg that takes no input for
// that long is killed, and so is one that takes input and gives no
// output (none within StartTimeout of its start, or 5 s of audio behind
// what it took). ffmpeg that exits, is killed or writes a malformed
// stream is restarted after a backoff that doubles up to
// Config.MaxRestartBackoff; each crash is logged with ffmpeg's stderr
// (at most 20 lines, each bounded). A new AudioSpecificConfig restarts
// ffmpeg after letting it flush the old one. Close kills ffmpeg by its
// process id and waits for it, bounded by Config.KillWait. Were the
// server itself to die, ffmpeg would read EOF on its stdin and exit.
//
// Without ffmpeg (exec.LookPath fails), New and NewOpusToAAC return
// ErrNoFFmpeg: the caller logs it once per stream and goes on without
// the audio.
package transcode
