package transcode

import "encoding/binary"

// MaxOpusPacket is the largest Opus packet, in bytes, that Write takes
// for Opus input: what one Ogg page can hold (255 lacing values, RFC 3533
// §6), far above the 1,275 bytes of a 20 ms frame (RFC 6716 §3.4).
const MaxOpusPacket = oggMaxSegments*255 - 1

// oggPageMax is the largest page oggOpusWriter writes: a header, a full
// segment table and MaxOpusPacket bytes.
const oggPageMax = oggHeaderLen + oggMaxSegments + MaxOpusPacket

// Ogg page header_type flags (RFC 3533 §6) besides oggContinued.
const oggFirstPage = 0x02

// oggSerial is the serial number of the logical bitstream the writer
// writes: any value does, as there is one stream per ffmpeg process.
const oggSerial = 0x53574f50 // "SWOP"

// oggOpusWriter writes Ogg Opus (RFC 7845) for ffmpeg's stdin: the
// OpusHead and OpusTags header pages, then each Opus packet on a page of
// its own, so that ffmpeg's Ogg demuxer hands a packet on as soon as its
// page is complete. One writer per ffmpeg process: its page sequence
// numbers and granule positions start at 0.
type oggOpusWriter struct {
	seq     uint32 // the next page's sequence number
	granule int64  // 48 kHz samples of the packets written
}

// opusTags is the comment header (RFC 7845 §5.2): a vendor string and no
// comments.
const opusTags = "OpusTags\x0a\x00\x00\x00streamwire\x00\x00\x00\x00"

// appendHeaders appends the OpusHead page (RFC 7845 §5.1: version 1, two
// channels, no pre-skip, 48 kHz, no gain, channel mapping family 0) and
// the OpusTags page. Two channels whatever the packets' TOC say: an Opus
// decoder upmixes mono packets (RFC 6716 §2.1.2 lets a sender switch
// between mono and stereo at any packet), and the output is stereo
// anyway. No pre-skip: the input's timestamps (RTP's, RFC 7587 §4.1) are
// those of the packets' first samples as decoded, priming included.
func (w *oggOpusWriter) appendHeaders(dst []byte) []byte {
	var head [19]byte
	copy(head[:], "OpusHead")
	head[8], head[9] = 1, 2
	binary.LittleEndian.PutUint32(head[12:], 48000)
	dst = w.appendPage(dst, oggFirstPage, 0, head[:])
	return w.appendPage(dst, 0, 0, []byte(opusTags))
}

// appendPacket appends a page holding one Opus packet of samples 48 kHz
// samples (len(pkt) <= MaxOpusPacket), whose granule position is the end
// of the packet (RFC 7845 §4).
func (w *oggOpusWriter) appendPacket(dst, pkt []byte, samples int) []byte {
	w.granule += int64(samples)
	return w.appendPage(dst, 0, w.granule, pkt)
}

// appendPage appends a page of one whole packet with its checksum.
func (w *oggOpusWriter) appendPage(dst []byte, typ byte, granule int64, pkt []byte) []byte {
	start := len(dst)
	dst = append(dst, "OggS\x00"...)
	dst = append(dst, typ)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(granule))
	dst = binary.LittleEndian.AppendUint32(dst, oggSerial)
	dst = binary.LittleEndian.AppendUint32(dst, w.seq)
	dst = append(dst, 0, 0, 0, 0, byte(len(pkt)/255+1)) // checksum set below; segments
	for range len(pkt) / 255 {
		dst = append(dst, 255)
	}
	dst = append(dst, byte(len(pkt)%255))
	dst = append(dst, pkt...)
	binary.LittleEndian.PutUint32(dst[start+22:], oggChecksum(0, dst[start:]))
	w.seq++
	return dst
}
