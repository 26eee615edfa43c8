package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// FLV tag types (FLV 10.1 §E.4.1); they equal the RTMP message types of
// the same payloads.
const (
	TagAudio  = 8
	TagVideo  = 9
	TagScript = 18 // e.g. onMetaData
)

// flvHeaderSize is the FLV file header (9 bytes) plus PreviousTagSize0.
const flvHeaderSize = 9 + 4

// AppendHeader appends an FLV file header (FLV 10.1 §E.2: "FLV",
// version 1, audio/video flags, header size 9) and PreviousTagSize0.
func AppendHeader(b []byte, hasAudio, hasVideo bool) []byte {
	var flags byte
	if hasAudio {
		flags |= 4
	}
	if hasVideo {
		flags |= 1
	}
	return append(b, 'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0)
}

// AppendTag appends one FLV tag (FLV 10.1 §E.4.1: type, 24-bit data
// size, timestamp in 24 + 8 extended bits, stream id 0), its data (an RTMP
// audio, video or data message payload) and the PreviousTagSize that
// follows it. data must be shorter than 2^24 bytes.
func AppendTag(b []byte, tagType uint8, timestamp uint32, data []byte) []byte {
	n := len(data)
	b = append(b, tagType, byte(n>>16), byte(n>>8), byte(n),
		byte(timestamp>>16), byte(timestamp>>8), byte(timestamp), byte(timestamp>>24),
		0, 0, 0)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, uint32(11+n))
}

// Tag is one tag read by Reader.
type Tag struct {
	// Type is the tag type: TagAudio (8), TagVideo (9) or TagScript (18).
	Type uint8
	// Timestamp is the tag's timestamp in milliseconds (with its
	// extension byte).
	Timestamp uint32
	// Data aliases the reader's buffer: valid until the next ReadTag.
	Data []byte
}

// Reader reads the tags of an FLV file or HTTP-FLV stream. Make one with
// NewReader; ReadTag on a zero Reader returns ErrNoReader.
type Reader struct {
	r   io.Reader
	hdr [15]byte
	buf []byte
	// HasAudio is the audio flag of the file header.
	HasAudio bool
	// HasVideo is the video flag of the file header.
	HasVideo bool
}

// ErrNoReader is returned by NewReader for a nil io.Reader and by ReadTag
// on a Reader that NewReader did not make.
var ErrNoReader = errors.New("flv: no io.Reader (nil, or a Reader not made by NewReader)")

// NewReader reads and checks the FLV header (FLV 10.1 §E.2) from r: a
// truncated header gives io.ErrUnexpectedEOF, a wrong signature, version or
// header size ErrMalformed, a nil r ErrNoReader.
func NewReader(r io.Reader) (*Reader, error) {
	if r == nil {
		return nil, ErrNoReader
	}
	f := &Reader{r: r}
	h := f.hdr[:flvHeaderSize]
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("flv: FLV header: %w", unexpectedEOF(err))
	}
	if string(h[:3]) != "FLV" || h[3] != 1 {
		return nil, fmt.Errorf("flv: not an FLV version 1 file: %w", ErrMalformed)
	}
	off := binary.BigEndian.Uint32(h[5:9])
	if off < 9 || off > 1024 {
		return nil, fmt.Errorf("flv: FLV header size %d: %w", off, ErrMalformed)
	}
	if _, err := io.CopyN(io.Discard, r, int64(off-9)); err != nil {
		return nil, fmt.Errorf("flv: FLV header: %w", unexpectedEOF(err))
	}
	f.HasAudio, f.HasVideo = h[4]&4 != 0, h[4]&1 != 0
	return f, nil
}

// ReadTag reads the next tag and its trailing PreviousTagSize. At the end
// of the file it returns io.EOF. The tag's Data is valid until the next
// call.
func (f *Reader) ReadTag() (Tag, error) {
	if f.r == nil {
		return Tag{}, ErrNoReader
	}
	h := f.hdr[:11]
	if _, err := io.ReadFull(f.r, h); err != nil {
		if err == io.EOF {
			return Tag{}, io.EOF
		}
		return Tag{}, fmt.Errorf("flv: FLV tag header: %w", unexpectedEOF(err))
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	t := Tag{
		Type:      h[0] & 0x1f, // the filter and reserved bits are not the type
		Timestamp: uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]),
	}
	f.buf = slices.Grow(f.buf[:0], n+4)[:n+4]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return Tag{}, fmt.Errorf("flv: FLV tag data: %w", unexpectedEOF(err))
	}
	t.Data = f.buf[:n]
	return t, nil
}

// unexpectedEOF turns the io.EOF of a read that stopped inside a tag into
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
