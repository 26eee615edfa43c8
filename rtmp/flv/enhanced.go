package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed reports a malformed FLV / Enhanced RTMP audio or video payload or
// codec configuration record; test with errors.Is.
var ErrMalformed = errors.New("flv: malformed media payload")

// FourCC identifies a codec in Enhanced RTMP (veovera enhanced-rtmp v1/v2),
// as four ASCII bytes read big-endian.
type FourCC uint32

func fourCC(s string) FourCC { return FourCC(binary.BigEndian.Uint32([]byte(s))) }

// Codec FourCCs of Enhanced RTMP v2.
var (
	FourCCAVC  = fourCC("avc1") // H.264; also reported for legacy codec id 7
	FourCCHEVC = fourCC("hvc1") // H.265; also reported for the legacy codec id 12 some CDNs use
	FourCCAV1  = fourCC("av01")
	FourCCVP9  = fourCC("vp09")
	FourCCVP8  = fourCC("vp08")
	FourCCVVC  = fourCC("vvc1")
	FourCCOpus = fourCC("Opus")
	FourCCAAC  = fourCC("mp4a") // also reported for legacy sound format 10
	FourCCFLAC = fourCC("fLaC")
	FourCCAC3  = fourCC("ac-3")
	FourCCEAC3 = fourCC("ec-3")
	FourCCMP3  = fourCC(".mp3") // also reported for legacy sound format 2
)

// String returns the four characters, or a hex form if they are not
// printable.
func (f FourCC) String() string {
	b := binary.BigEndian.AppendUint32(nil, uint32(f))
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("FourCC(%#08x)", uint32(f))
		}
	}
	return string(b)
}

// MultitrackType is the AvMultitrackType of Enhanced RTMP v2.
type MultitrackType uint8

// Multitrack types.
const (
	MultitrackOneTrack             MultitrackType = 0 // one track, with a track id
	MultitrackManyTracks           MultitrackType = 1 // several tracks of one codec, each with a size
	MultitrackManyTracksManyCodecs MultitrackType = 2 // several tracks, each with its FourCC and size
)

// modExTimestampOffsetNano is the only ModEx type defined by Enhanced RTMP
// v2: a UI24 offset in nanoseconds added to the message timestamp.
const modExTimestampOffsetNano = 0

// exHeader is the part of an enhanced audio or video tag header common to
// both: ModEx loop, multitrack header and FourCC.
type exHeader struct {
	packetType     uint8
	multitrack     bool
	multitrackType MultitrackType
	fourCC         FourCC
	tsOffsetNanos  uint32
}

// parseExHeader parses what follows the first byte of an enhanced tag.
// modEx and multitrack are the packet type values that mean ModEx and
// Multitrack for this media kind.
func parseExHeader(p []byte, packetType, modEx, multitrack uint8) (exHeader, []byte, error) {
	h := exHeader{packetType: packetType}
	for h.packetType == modEx {
		if len(p) < 1 {
			return h, nil, fmt.Errorf("flv: truncated ModEx: %w", ErrMalformed)
		}
		size := int(p[0]) + 1
		p = p[1:]
		if size == 256 {
			if len(p) < 2 {
				return h, nil, fmt.Errorf("flv: truncated ModEx size: %w", ErrMalformed)
			}
			size = int(binary.BigEndian.Uint16(p)) + 1
			p = p[2:]
		}
		if len(p) < size+1 {
			return h, nil, fmt.Errorf("flv: truncated ModEx data: %w", ErrMalformed)
		}
		data := p[:size]
		typ := p[size] >> 4
		h.packetType = p[size] & 0x0f
		p = p[size+1:]
		if typ == modExTimestampOffsetNano && len(data) >= 3 {
			h.tsOffsetNanos = uint32(data[0])<<16 | uint32(data[1])<<8 | uint32(data[2])
		}
	}
	if h.packetType == multitrack {
		if len(p) < 1 {
			return h, nil, fmt.Errorf("flv: truncated multitrack header: %w", ErrMalformed)
		}
		h.multitrack = true
		h.multitrackType = MultitrackType(p[0] >> 4)
		h.packetType = p[0] & 0x0f
		p = p[1:]
		if h.packetType == multitrack || h.packetType == modEx {
			return h, nil, fmt.Errorf("flv: multitrack packet type %d inside multitrack: %w", h.packetType, ErrMalformed)
		}
		if h.multitrackType > MultitrackManyTracksManyCodecs {
			return h, nil, fmt.Errorf("flv: multitrack type %d: %w", h.multitrackType, ErrMalformed)
		}
		if h.multitrackType == MultitrackManyTracksManyCodecs {
			return h, p, nil // each track carries its FourCC
		}
	}
	if len(p) < 4 {
		return h, nil, fmt.Errorf("flv: truncated FourCC: %w", ErrMalformed)
	}
	h.fourCC = FourCC(binary.BigEndian.Uint32(p))
	return h, p[4:], nil
}

// Track is one track of an audio or video tag. A tag that is not
// multitrack has one track with ID 0. Data aliases the tag payload.
type Track struct {
	// ID is the track id; 0 for a tag that is not multitrack.
	ID uint8
	// FourCC is the track's codec.
	FourCC FourCC
	// CompositionTime is the composition time offset in milliseconds
	// (PTS - DTS), for video coded frames that carry one.
	CompositionTime int32
	// Data is the track body: coded frames, a codec configuration record
	// (sequence start), AMF metadata, ...
	Data []byte
}

// TrackIter iterates over the tracks of a tag without allocating:
//
//	it := tag.Tracks()
//	var tr flv.Track
//	for it.Next(&tr) { ... }
//	if err := it.Err(); err != nil { ... }
type TrackIter struct {
	rest           []byte
	single         Track // non-multitrack tags: the one track, yielded once
	isSingle       bool
	multitrackType MultitrackType
	fourCC         FourCC
	withCTO        func(FourCC) bool
	err            error
	done           bool
}

// Next stores the next track in tr and reports whether there was one.
func (it *TrackIter) Next(tr *Track) bool {
	if it.done {
		return false
	}
	if it.isSingle {
		*tr = it.single
		it.done = true
		return true
	}
	if len(it.rest) == 0 {
		it.done = true
		return false
	}
	p := it.rest
	t := Track{FourCC: it.fourCC}
	if it.multitrackType == MultitrackManyTracksManyCodecs {
		if len(p) < 4 {
			return it.fail("track FourCC")
		}
		t.FourCC = FourCC(binary.BigEndian.Uint32(p))
		p = p[4:]
	}
	if len(p) < 1 {
		return it.fail("track id")
	}
	t.ID = p[0]
	p = p[1:]
	body := p
	if it.multitrackType != MultitrackOneTrack {
		if len(p) < 3 {
			return it.fail("track size")
		}
		n := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
		p = p[3:]
		if n > len(p) {
			return it.fail("track body")
		}
		body, p = p[:n], p[n:]
	} else {
		p = nil
	}
	if it.withCTO != nil && it.withCTO(t.FourCC) {
		if len(body) < 3 {
			return it.fail("composition time")
		}
		t.CompositionTime = si24(body)
		body = body[3:]
	}
	t.Data = body
	it.rest = p
	if it.multitrackType == MultitrackOneTrack {
		it.done = true
	}
	*tr = t
	return true
}

func (it *TrackIter) fail(what string) bool {
	it.err = fmt.Errorf("flv: truncated multitrack %s: %w", what, ErrMalformed)
	it.done = true
	return false
}

// Err returns the error that stopped the iteration, if any.
func (it *TrackIter) Err() error { return it.err }

// si24 reads a signed 24-bit big-endian integer.
func si24(b []byte) int32 {
	return int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8) >> 8
}
