// Package flv parses and builds the payloads of RTMP audio and video
// messages, which are FLV tag bodies (FLV specification 10.1, annex E), and
// reads and writes FLV files.
//
//   - Legacy tags (§E.4.2, §E.4.3): SoundFormat and VideoCodecID headers,
//     AVC packet types and composition time, AAC packet types.
//   - Enhanced RTMP v1 and v2 (veovera/enhanced-rtmp): FourCC codecs such as
//     avc1, hvc1, av01, vp09, Opus, ac-3, fLaC; all video and audio packet
//     types; ModEx; multitrack tags (TrackIter); multichannel audio
//     configuration.
//   - Codec configuration records: AVCDecoderConfigurationRecord (ISO
//     14496-15 §5.3.3.1), HEVCDecoderConfigurationRecord (§8.3.3.1),
//     AudioSpecificConfig (ISO 14496-3 §1.6.2.1), OpusHead (RFC 7845 §5.1);
//     NALUIter walks length-prefixed NAL units.
//   - FLV files (§E.2, §E.3): AppendHeader, AppendTag and Reader.
//
// ParseVideoTag and ParseAudioTag fill structs whose byte slices alias the
// payload they were given: they are valid as long as that payload is.
// Malformed input gives an error matching ErrMalformed, never a panic.
package flv
