// Package transcode turns a live stream's AAC audio into Opus with an
// ffmpeg child process, so that WebRTC viewers of an RTMP stream hear
// it: browsers decode Opus over WebRTC, not AAC, which is what ffmpeg and
// OBS publish by default. SRS does this with libavcodec linked in;
// MediaMTX drops the audio. A Transcoder runs one ffmpeg per stream, for
// as long as the stream has WebRTC viewers (package relay starts it with
// the first and closes it with the last).
//
// # Data path
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
// output function given to New.
//
// # Timestamps
//
// ADTS carries no timestamps, so the Transcoder keeps them: it counts
// the samples it writes (1024 per access unit) and maps each output
// packet's granule position (48 kHz samples, less the encoder's pre-skip,
// RFC 7845 §4) back to the input's milliseconds. Within a stretch of
// input whose timestamps agree with its sample count, the output's
// timestamps follow the samples, so that consecutive packets are exactly
// 20 ms apart whatever the rounding of the input's milliseconds. An
// access unit whose timestamp is more than Config.ResyncThreshold (40 ms)
// away from the one its predecessors predict (a gap, a jump, a publisher
// that drops audio) starts a new stretch at its own timestamp: the
// output jumps with the input, as the video does. No silence is made up
// and ffmpeg is not restarted: the Opus stream stays continuous, and a
// WebRTC receiver conceals a timestamp gap as it would a loss. So the
// audio stays on the video's timeline where a player of the AAC would put
// it: within 1 ms of ffmpeg's own decoding of the AAC in the tests
// (ffmpeg-made AAC, with a gap and a backward jump; they allow 80 ms),
// and within the threshold for an input whose timestamps drift from its
// sample count.
//
// # Latency
//
// Each packet's Delay is the wall-clock time from the Write of its
// first sample to its delivery: the 20 ms Opus frame, the wait for the
// access unit that completes it (an AAC frame is 21-23 ms) and ffmpeg's
// own buffering. ffmpeg's stdin pipe is shrunk to one page (Linux), so
// that a backlog waits in the bounded queue, where it is counted, and not
// unseen in the pipe.
//
// # Bounds and failures
//
// Write never blocks: it puts the access unit on a queue of
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
// Without ffmpeg (exec.LookPath fails), New returns ErrNoFFmpeg: the
// caller logs it once per stream and sends video only.
package transcode
