package rtmp

import (
	"context"
	"encoding/binary"
)

// SharedChunkSize and SharedStreamID are the parameters of chunks built with
// AppendSharedChunks: the chunk size a Server announces by default and the
// message stream id its first createStream returns. A play session writes a
// Media's pre-built Chunks only when its own parameters match these.
const (
	SharedChunkSize = 4096
	SharedStreamID  = 1
	// CSIDData is the chunk stream of data messages (onMetaData) sent to players.
	CSIDData uint32 = 5
)

// maxTimestampField is the largest timestamp a 24-bit field holds; at and
// above it the extended timestamp field is used (§5.3.1.3).
const sharedTSMax = 0xFFFFFF

// Media is one audio, video or data message flowing between a session and a
// Handler.
type Media struct {
	// Type is TypeAudio, TypeVideo or TypeDataAMF0.
	Type MessageType
	// Timestamp is the absolute timestamp in milliseconds.
	Timestamp uint32
	// Payload is the FLV tag body; for data, the AMF0 values (e.g.
	// "onMetaData", {...}).
	Payload []byte
	// Chunks optionally holds the message already chunked by
	// AppendSharedChunks(nil, m.Type, m.Timestamp, m.Payload). A source that
	// fans out one message to many players fills it once per message so that
	// players share the bytes instead of chunking per player.
	Chunks []byte
}

// MediaCSID returns the chunk stream a server uses for a media message type.
func MediaCSID(t MessageType) uint32 {
	switch t {
	case TypeAudio:
		return CSIDAudio
	case TypeVideo:
		return CSIDVideo
	}
	return CSIDData
}

// AppendSharedChunks appends a complete, self-contained chunk encoding of one
// message to b: a type 0 chunk (absolute timestamp, message stream
// SharedStreamID) and type 3 continuation chunks of SharedChunkSize bytes,
// with the extended timestamp repeated in every chunk when the timestamp
// needs it (§5.3.1.3, as ffmpeg and nginx-rtmp expect). Because it depends
// on no per-connection state, the bytes can be written to any number of
// players. Payloads longer than 0xFFFFFF bytes are truncated to an empty
// message; callers check lengths before.
func AppendSharedChunks(b []byte, t MessageType, timestamp uint32, payload []byte) []byte {
	if len(payload) > 0xFFFFFF {
		payload = nil
	}
	csid := MediaCSID(t)
	ext := timestamp >= sharedTSMax
	f24 := timestamp
	if ext {
		f24 = sharedTSMax
	}
	n := len(payload)
	b = append(b, byte(csid), byte(f24>>16), byte(f24>>8), byte(f24), byte(n>>16), byte(n>>8), byte(n), byte(t))
	b = binary.LittleEndian.AppendUint32(b, SharedStreamID)
	if ext {
		b = binary.BigEndian.AppendUint32(b, timestamp)
	}
	for {
		k := min(len(payload), SharedChunkSize)
		b = append(b, payload[:k]...)
		payload = payload[k:]
		if len(payload) == 0 {
			return b
		}
		b = append(b, 0xC0|byte(csid))
		if ext {
			b = binary.BigEndian.AppendUint32(b, timestamp)
		}
	}
}

// MediaSink receives the media of a published stream. WriteMedia's m.Payload
// is valid only during the call. Close is called once when the publisher
// stops (FCUnpublish, deleteStream, closeStream or disconnect).
type MediaSink interface {
	WriteMedia(m Media) error
	Close() error
}

// MediaSource supplies the media of a played stream. ReadMedia blocks until
// at least one message is ready or ctx is cancelled (then it returns
// ctx.Err()), and appends the ready messages to dst. TryReadMedia does the
// same without waiting: it appends what is ready now, possibly nothing,
// and returns a nil error while the stream goes on (the server uses it to
// collect more media without blocking, e.g. from the publisher's
// goroutine, see ReadyNotifier). Both return io.EOF once the stream has
// ended and nothing is left. The returned payloads and Chunks must stay
// unchanged until the next ReadMedia or TryReadMedia call. Close is called
// once when the player leaves.
//
// Messages of other types than audio, video and data are not sent to the
// player (a control or command message in the media would desynchronize
// its chunk stream); they are dropped.
type MediaSource interface {
	ReadMedia(ctx context.Context, dst []Media) ([]Media, error)
	TryReadMedia(dst []Media) ([]Media, error)
	Close() error
}

// isMedia reports whether t is a type a media stream carries: audio, video
// or data (AMF0 or AMF3).
func (t MessageType) isMedia() bool {
	switch t {
	case TypeAudio, TypeVideo, TypeDataAMF0, TypeDataAMF3:
		return true
	}
	return false
}
