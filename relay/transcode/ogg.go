package transcode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Ogg framing (RFC 3533 §6): a page is a 27-byte header, a segment table
// of up to 255 lacing values, and the segments. A packet is the
// concatenation of segments up to one shorter than 255 bytes; it may go on
// over the next pages.
const (
	oggHeaderLen    = 27
	oggMaxSegments  = 255
	oggContinued    = 0x01 // header_type: the page's first packet goes on from the last page
	oggMaxPacket    = 1 << 16
	granuleNoPacket = -1 // granule_position of a page on which no packet ends
)

// oggCRC is the Ogg page checksum's table: CRC-32 with polynomial
// 0x04c11db7, not reflected, initial value and final XOR 0 (RFC 3533 §6).
var oggCRC = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggChecksum(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRC[byte(crc>>24)^c]
	}
	return crc
}

// opusPacket is an Opus packet read from an Ogg stream, with its position.
type opusPacket struct {
	data []byte // aliases the reader's buffers until the next call to next
	// start is the position of the packet's first sample: the 48 kHz
	// samples of the audio packets before it, pre-skip included.
	start   int64
	samples int // duration in 48 kHz samples, from the TOC
}

// oggOpusReader reads the Opus packets of an Ogg Opus stream (RFC 7845)
// of one logical bitstream, such as ffmpeg's "opus" muxer writes: the
// OpusHead and OpusTags headers, then audio packets. It checks each
// page's checksum and sequence number, bounds every packet to 64 KiB, and
// gives each audio packet its position: the samples of the packets before
// it, from their TOC bytes. It does not use the granule positions, which
// ffmpeg derives from its timestamps: for ADTS read from a pipe they
// jump once after its probing (by 805 samples with ffmpeg 5.1) while the
// audio goes on without a gap. It allocates nothing per packet once warm.
type oggOpusReader struct {
	r       io.Reader
	hdr     [oggHeaderLen + oggMaxSegments]byte
	page    []byte   // the current page's body
	partial []byte   // a packet that goes on over the next page
	joined  []byte   // the page's first packet when it began on an earlier page
	done    [][]byte // the current page's completed packets
	next    int      // index in done of the next packet to return
	granule int64    // the current page's granule position
	serial  uint32
	pages   uint32 // page sequence number expected next
	headers int    // OpusHead and OpusTags seen (0-2)
	pos     int64  // samples of the audio packets returned so far
	head    opusHead
}

// opusHead is what the reader keeps of the identification header.
type opusHead struct {
	channels int
	preSkip  int // 48 kHz samples to drop at the start (RFC 7845 §5.1)
}

// errOgg is wrapped by every error of a malformed Ogg Opus stream.
var errOgg = errors.New("transcode: malformed Ogg Opus stream")

func newOggOpusReader(r io.Reader) *oggOpusReader {
	return &oggOpusReader{r: r, page: make([]byte, 0, 64<<10)}
}

// nextPacket returns the next audio packet. Its data is valid until the
// next call. At the end of the stream it returns io.EOF, or
// io.ErrUnexpectedEOF inside a page; a malformed stream gives an error
// wrapping errOgg.
func (o *oggOpusReader) nextPacket() (opusPacket, error) {
	for {
		for o.next < len(o.done) {
			p, err := o.packet()
			if err != nil || p.data != nil {
				return p, err
			}
		}
		if err := o.readPage(); err != nil {
			return opusPacket{}, err
		}
	}
}

// packet returns the page's next completed packet: nil data for a header
// packet, which it records.
func (o *oggOpusReader) packet() (opusPacket, error) {
	i := o.next
	o.next++
	data := o.done[i]
	switch o.headers {
	case 0:
		o.headers++
		return opusPacket{}, o.parseHead(data)
	case 1:
		o.headers++
		if len(data) < 8 || string(data[:8]) != "OpusTags" {
			return opusPacket{}, fmt.Errorf("%w: no OpusTags header", errOgg)
		}
		return opusPacket{}, nil
	}
	n, err := opusSamples(data)
	if err != nil {
		return opusPacket{}, err
	}
	p := opusPacket{data: data, start: o.pos, samples: n}
	o.pos += int64(n)
	return p, nil
}

// parseHead checks an OpusHead packet (RFC 7845 §5.1).
func (o *oggOpusReader) parseHead(b []byte) error {
	if len(b) < 19 || string(b[:8]) != "OpusHead" || b[8]>>4 != 0 || b[9] == 0 {
		return fmt.Errorf("%w: bad OpusHead", errOgg)
	}
	o.head = opusHead{channels: int(b[9]), preSkip: int(binary.LittleEndian.Uint16(b[10:]))}
	return nil
}

// readPage reads one page and splits it into packets.
func (o *oggOpusReader) readPage() error {
	h := o.hdr[:oggHeaderLen]
	if _, err := io.ReadFull(o.r, h); err != nil {
		return err
	}
	if string(h[:4]) != "OggS" || h[4] != 0 {
		return fmt.Errorf("%w: no page header", errOgg)
	}
	nseg := int(h[26])
	segs := o.hdr[oggHeaderLen : oggHeaderLen+nseg]
	if _, err := io.ReadFull(o.r, segs); err != nil {
		return unexpected(err)
	}
	size := 0
	for _, s := range segs {
		size += int(s)
	}
	o.page = o.page[:size]
	if _, err := io.ReadFull(o.r, o.page); err != nil {
		return unexpected(err)
	}
	if err := o.checkPage(h); err != nil {
		return err
	}
	return o.split(h[5]&oggContinued != 0, segs)
}

// checkPage checks the checksum, the serial number and the sequence.
func (o *oggOpusReader) checkPage(h []byte) error {
	want := binary.LittleEndian.Uint32(h[22:])
	clear(h[22:26])
	crc := oggChecksum(oggChecksum(0, o.hdr[:oggHeaderLen+int(h[26])]), o.page)
	serial, seq := binary.LittleEndian.Uint32(h[14:]), binary.LittleEndian.Uint32(h[18:])
	switch {
	case crc != want:
		return fmt.Errorf("%w: page checksum", errOgg)
	case o.pages > 0 && serial != o.serial:
		return fmt.Errorf("%w: a second logical stream", errOgg)
	case seq != o.pages:
		return fmt.Errorf("%w: page %d where %d was expected", errOgg, seq, o.pages)
	}
	o.serial, o.pages = serial, seq+1
	o.granule = int64(binary.LittleEndian.Uint64(h[6:]))
	return nil
}

// split cuts the page into the packets that end on it.
func (o *oggOpusReader) split(continued bool, segs []byte) error {
	clear(o.done)
	o.done, o.next = o.done[:0], 0
	if continued != (len(o.partial) > 0) {
		return fmt.Errorf("%w: continued-packet flag %v with %d bytes to continue", errOgg, continued, len(o.partial))
	}
	start, end := 0, 0
	for i, s := range segs {
		end += int(s)
		if s == 255 && i < len(segs)-1 {
			continue
		}
		p := o.page[start:end]
		if len(o.partial)+len(p) > oggMaxPacket {
			return fmt.Errorf("%w: a packet over %d bytes", errOgg, oggMaxPacket)
		}
		if s == 255 { // goes on over the next page
			o.partial = append(o.partial, p...)
			break
		}
		if len(o.partial) > 0 { // only the page's first packet
			o.joined = append(append(o.joined[:0], o.partial...), p...)
			o.partial = o.partial[:0]
			p = o.joined
		}
		o.done = append(o.done, p)
		start = end
	}
	if len(o.done) > 0 && o.granule == granuleNoPacket {
		return fmt.Errorf("%w: packets end on a page without a granule position", errOgg)
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// opusSamples is the duration of an Opus packet in 48 kHz samples, from
// its TOC byte and frame count (RFC 6716 §3.1, §3.2.5).
func opusSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: empty Opus packet", errOgg)
	}
	config := int(p[0] >> 3)
	var size int // samples per frame
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		size = [4]int{480, 960, 1920, 2880}[config%4]
	case config < 16: // hybrid: 10, 20 ms
		size = [2]int{480, 960}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		size = [4]int{120, 240, 480, 960}[config%4]
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 || p[1]&0x3f == 0 {
			return 0, fmt.Errorf("%w: Opus code 3 packet without a frame count", errOgg)
		}
		frames = int(p[1] & 0x3f)
	}
	if n := frames * size; n <= 5760 { // at most 120 ms per packet
		return n, nil
	}
	return 0, fmt.Errorf("%w: Opus packet over 120 ms", errOgg)
}
