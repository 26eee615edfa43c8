package bench

// BenchmarkAnswerChrome answers the Chrome 156 offer (audio + 34 video formats +
// data channel, recvonly) from /work/shared/testdata/offers, copied into
// sdp/testdata/offers: streamwire's sdp.Answer against what a pion/webrtc server
// does for the same job (NewPeerConnection with a SettingEngine, AddTrack audio and
// video, SetRemoteDescription, CreateAnswer, Close). pion-sdp-unmarshal is the
// pion/sdp parse alone, which sdp.Answer includes.

import (
	"os"
	"testing"

	psdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/sdp"
)

func chromeOffer(b *testing.B) []byte {
	b.Helper()
	offer, err := os.ReadFile("../sdp/testdata/offers/chrome156_recvonly.sdp")
	if err != nil {
		b.Fatal(err)
	}
	return offer
}

func BenchmarkAnswerChrome(b *testing.B) {
	offer := chromeOffer(b)
	b.Run("impl=streamwire", func(b *testing.B) {
		fp, err := dtlsparams.ParseFingerprint("sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0")
		if err != nil {
			b.Fatal(err)
		}
		cfg := &sdp.Config{
			DataChannel: true,
			ICEUfrag:    "sWufrag1", ICEPwd: "sWpassword0123456789abcd",
			ICELite:         true,
			Candidates:      []string{"candidate:1 1 udp 2130706431 192.0.2.10 8443 typ host"},
			EndOfCandidates: true,
			Fingerprints:    []dtlsparams.Fingerprint{fp},
		}
		b.ReportAllocs()
		for b.Loop() {
			sess, err := sdp.Answer(offer, cfg)
			if err != nil || len(sess.Sections) != 3 || sess.Sections[1].Codec.PayloadType != 108 {
				b.Fatalf("answer: %v", err)
			}
		}
	})
	b.Run("impl=pion", func(b *testing.B) {
		var se webrtc.SettingEngine
		se.SetLite(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(string) bool { return false })
		me := &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			b.Fatal(err)
		}
		api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
		audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "pion")
		if err != nil {
			b.Fatal(err)
		}
		video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "pion")
		if err != nil {
			b.Fatal(err)
		}
		desc := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}
		b.ReportAllocs()
		for b.Loop() {
			pc, err := api.NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pc.AddTrack(audio); err != nil {
				b.Fatal(err)
			}
			if _, err := pc.AddTrack(video); err != nil {
				b.Fatal(err)
			}
			if err := pc.SetRemoteDescription(desc); err != nil {
				b.Fatal(err)
			}
			if _, err := pc.CreateAnswer(nil); err != nil {
				b.Fatal(err)
			}
			if err := pc.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=pion-sdp-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d psdp.SessionDescription
			if err := d.Unmarshal(offer); err != nil {
				b.Fatal(err)
			}
		}
	})
}
