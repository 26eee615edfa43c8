package relay

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// discardTrack is a LocalTrack that drops what it is sent.
type discardTrack struct{ bytes int }

func (d *discardTrack) Codec() sdp.NegotiatedCodec {
	return sdp.NegotiatedCodec{Name: "H264", ClockRate: 90000}
}
func (d *discardTrack) WriteRTP(p *rtp.Packet) error {
	d.bytes += len(p.Payload)
	return nil
}

// srtpTrack is a LocalTrack that does what a peer does before its socket
// write: the RTP header with abs-send-time (RFC 8285 one-byte form, 20
// bytes in all, as peer.LocalTrack writes it) and AES-128-GCM SRTP.
type srtpTrack struct {
	discardTrack
	ctx        *srtp.Context
	hdr        rtp.Header
	plain, out []byte
}

func newSRTPTrack(b *testing.B) *srtpTrack {
	material := make([]byte, dtlssrtp.KeyingMaterialLen(dtlssrtp.ProfileAEADAES128GCM))
	keys, err := dtlssrtp.SplitKeyingMaterial(dtlssrtp.ProfileAEADAES128GCM, dtlsparams.RoleServer, material)
	if err != nil {
		b.Fatal(err)
	}
	local, _, err := keys.Contexts(0)
	if err != nil {
		b.Fatal(err)
	}
	return &srtpTrack{ctx: local, plain: make([]byte, 1500), out: make([]byte, 0, 1500)}
}

func (s *srtpTrack) WriteRTP(p *rtp.Packet) error {
	b := s.plain[:20+len(p.Payload)]
	b[0], b[1] = 0x90, 96
	if p.Marker {
		b[1] |= 0x80
	}
	b[2], b[3] = byte(p.SequenceNumber>>8), byte(p.SequenceNumber)
	b[4], b[5], b[6], b[7] = byte(p.Timestamp>>24), byte(p.Timestamp>>16), byte(p.Timestamp>>8), byte(p.Timestamp)
	b[8], b[9], b[10], b[11] = 1, 2, 3, 4
	b[12], b[13], b[14], b[15], b[16] = 0xbe, 0xde, 0, 1, 0x32
	copy(b[20:], p.Payload)
	var err error
	s.out, err = s.ctx.EncryptRTP(s.out[:0], b, &s.hdr)
	s.bytes += len(s.out)
	return err
}

// benchViewer measures one viewer's cost per packet of the H.264 file:
// the frames' shared encodings are made before the timer starts (they
// are made once per stream, not per viewer), so what is measured is the
// per-viewer path: reading the encoding, the RTP header fields, the
// track's write.
func benchViewer(b *testing.B, track LocalTrack) {
	frames := tagFrames(avcPackets(b, readH264AUs(b), false))
	for _, f := range frames {
		f.rtpEncoding()
	}
	h := NewHub(Config{})
	pub, _ := h.Publish("bench")
	defer pub.Close()
	sub, _ := h.Subscribe("bench")
	v := NewWebRTCSubscriber(sub, WebRTCSubscriberConfig{})
	s := sender{v: v, needKey: true}
	if err := s.video.init(track, v.cfg.Rand); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, f := range frames {
			if err := s.send(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	packets := v.Stats().Packets
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
	b.ReportMetric(float64(packets)/float64(b.N), "packets/op")
}

// BenchmarkWebRTCViewer is the per-viewer cost of sending, without SRTP.
func BenchmarkWebRTCViewer(b *testing.B) { benchViewer(b, &discardTrack{}) }

// BenchmarkWebRTCViewerSRTP adds what the peer does per packet before its
// socket write: the header and AES-128-GCM.
func BenchmarkWebRTCViewerSRTP(b *testing.B) { benchViewer(b, newSRTPTrack(b)) }

// BenchmarkRTPPayloads is the once-per-stream cost: the shared RTP
// encoding of each frame of the H.264 file, by pion's payloader.
func BenchmarkRTPPayloads(b *testing.B) {
	frames := tagFrames(avcPackets(b, readH264AUs(b), false))
	b.ReportAllocs()
	for range b.N {
		for _, f := range frames {
			if rf := cutRTP(&f.Unit); rf.has(rtpBad) {
				b.Fatal("bad frame")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}

// BenchmarkWebRTCPublisher is the cost of receiving a WHIP publisher's
// H.264 per RTP packet: reassembly, and per frame the AVC payload the hub
// takes (its one allocation), published to a stream without subscribers.
func BenchmarkWebRTCPublisher(b *testing.B) {
	pkts := flatten(packetizeH264(readH264AUs(b), 0, 0))
	h := NewHub(Config{})
	pub, _ := h.Publish("bench")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	defer w.Close()
	track := newFakeRemote("H264")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for _, p := range pkts { // the next lap of the file goes on in sequence and time
			p.SequenceNumber += uint16(len(pkts) * min(i, 1))
			p.Timestamp += 90 * 3000 * uint32(min(i, 1))
			if err := w.WriteRTP(track, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	st := w.Stats()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(st.Packets), "ns/packet")
	b.ReportMetric(float64(st.Frames)/float64(st.Packets), "frames/packet")
	if st.Dropped != 0 {
		b.Fatalf("%d frames dropped", st.Dropped)
	}
}
