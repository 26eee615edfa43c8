package interop

// pion/webrtc v4 as the offerer: it makes offers in several shapes, streamwire's
// sdp.Answer answers, pion must accept the answer, and the codecs pion then
// negotiated (its transceivers' sender/receiver GetParameters) must be the ones the
// answer chose.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/sdp"
)

// sdpPionOffer runs setup on a new pion PeerConnection, makes an offer and waits (at
// most 5 s) for candidate gathering, so that the offer is complete.
func sdpPionOffer(t *testing.T, setup func(*webrtc.PeerConnection)) (*webrtc.PeerConnection, string) {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	setup(pc)
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("pion did not finish gathering in 5s")
	}
	return pc, pc.LocalDescription().SDP
}

func sdpPionTrack(t *testing.T, mime, id string) *webrtc.TrackLocalStaticSample {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime}, id, "pion")
	require.NoError(t, err)
	return tr
}

// sdpFakeFingerprint stands for the server's certificate fingerprint in the
// tests that stop at SDP.
var sdpFakeFingerprint = func() dtlsparams.Fingerprint {
	f, err := dtlsparams.ParseFingerprint("sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89")
	if err != nil {
		panic(err)
	}
	return f
}()

func sdpPionAnswerConfig() *sdp.Config {
	return &sdp.Config{
		DataChannel:  true,
		ICELite:      true,
		Fingerprints: []dtlsparams.Fingerprint{sdpFakeFingerprint},
		Candidates:   []string{"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"},
	}
}

// negotiated lists "mime/pt" of codecs.
func sdpNegotiated(codecs []webrtc.RTPCodecParameters) []string {
	var out []string
	for _, c := range codecs {
		out = append(out, c.MimeType+"/"+sdpItoa(int(c.PayloadType)))
	}
	return out
}

func sdpItoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// wantCodecs is what pion should have negotiated for a section: the chosen codec
// and, for video, its RTX.
func sdpWantCodecs(s *sdp.Section) []string {
	mime := strings.ToLower(s.Kind.String() + "/" + s.Codec.Name)
	want := []string{mime + "/" + sdpItoa(int(s.Codec.PayloadType))}
	if s.RTX != 0 {
		want = append(want, s.Kind.String()+"/rtx/"+sdpItoa(int(s.RTX)))
	}
	return want
}

func sdpLowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func TestSDPPionOffers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *webrtc.PeerConnection)
		// what the answer must say per section, in sdp's summary words
		kinds    []sdp.Kind
		ourDir   sdp.Direction
		pionDir  webrtc.RTPTransceiverDirection
		wantName map[sdp.Kind]string
		cfg      func(*sdp.Config)
	}{
		{
			name: "audio+video sendonly (WHIP publisher)",
			setup: func(t *testing.T, pc *webrtc.PeerConnection) {
				for _, tr := range []*webrtc.TrackLocalStaticSample{
					sdpPionTrack(t, webrtc.MimeTypeOpus, "audio"), sdpPionTrack(t, webrtc.MimeTypeH264, "video"),
				} {
					_, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
					require.NoError(t, err)
				}
			},
			kinds: []sdp.Kind{sdp.KindAudio, sdp.KindVideo}, ourDir: sdp.RecvOnly, pionDir: webrtc.RTPTransceiverDirectionSendonly,
			wantName: map[sdp.Kind]string{sdp.KindAudio: "opus", sdp.KindVideo: "H264"},
		},
		{
			name: "audio+video recvonly (WHEP player)",
			setup: func(t *testing.T, pc *webrtc.PeerConnection) {
				for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
					_, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
					require.NoError(t, err)
				}
			},
			kinds: []sdp.Kind{sdp.KindAudio, sdp.KindVideo}, ourDir: sdp.SendOnly, pionDir: webrtc.RTPTransceiverDirectionRecvonly,
			wantName: map[sdp.Kind]string{sdp.KindAudio: "opus", sdp.KindVideo: "H264"},
		},
		{
			name: "sendrecv video + data channel",
			setup: func(t *testing.T, pc *webrtc.PeerConnection) {
				_, err := pc.AddTrack(sdpPionTrack(t, webrtc.MimeTypeVP8, "video"))
				require.NoError(t, err)
				_, err = pc.CreateDataChannel("chat", nil)
				require.NoError(t, err)
			},
			kinds: []sdp.Kind{sdp.KindVideo, sdp.KindApplication}, ourDir: sdp.SendRecv, pionDir: webrtc.RTPTransceiverDirectionSendrecv,
			// pion's track is VP8 and pion cannot re-encode, so the server must
			// prefer VP8 here (with the default H.264 first, pion refuses the
			// answer: "codec is not supported by remote").
			wantName: map[sdp.Kind]string{sdp.KindVideo: "VP8"},
			cfg:      func(c *sdp.Config) { c.Video.Codecs = []sdp.Codec{{Name: "VP8"}, {Name: "H264"}} },
		},
		{
			name: "data channel only",
			setup: func(t *testing.T, pc *webrtc.PeerConnection) {
				_, err := pc.CreateDataChannel("chat", nil)
				require.NoError(t, err)
			},
			kinds: []sdp.Kind{sdp.KindApplication},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, offer := sdpPionOffer(t, func(pc *webrtc.PeerConnection) { tc.setup(t, pc) })
			cfg := sdpPionAnswerConfig()
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			sess, err := sdp.Answer([]byte(offer), cfg)
			require.NoError(t, err, offer)
			require.Len(t, sess.Sections, len(tc.kinds))
			for i, s := range sess.Sections {
				require.False(t, s.Rejected, "section %d rejected", i)
				assert.Equal(t, tc.kinds[i], s.Kind)
				if s.Kind != sdp.KindApplication {
					assert.Equal(t, tc.ourDir, s.Direction)
					assert.Equal(t, tc.wantName[s.Kind], s.Codec.Name)
				}
			}
			require.NoError(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(sess.SDP)}),
				"pion rejected the answer:\n%s", sess.SDP)
			trs := pc.GetTransceivers()
			media := 0
			for _, s := range sess.Sections {
				if s.Kind == sdp.KindApplication {
					assert.NotNil(t, pc.SCTP())
					continue
				}
				var tr *webrtc.RTPTransceiver
				for _, x := range trs {
					if x.Mid() == s.Mid {
						tr = x
					}
				}
				require.NotNil(t, tr, "no pion transceiver for mid %s", s.Mid)
				media++
				assert.Equal(t, tc.pionDir, tr.Direction())
				want := sdpWantCodecs(&s)
				if tc.pionDir != webrtc.RTPTransceiverDirectionRecvonly {
					assert.Equal(t, sdpLowerAll(want), sdpLowerAll(sdpNegotiated(tr.Sender().GetParameters().Codecs)), "mid %s sender", s.Mid)
				}
				if tc.pionDir != webrtc.RTPTransceiverDirectionSendonly {
					assert.Equal(t, sdpLowerAll(want), sdpLowerAll(sdpNegotiated(tr.Receiver().GetParameters().Codecs)), "mid %s receiver", s.Mid)
				}
			}
			assert.Equal(t, len(trs), media)
		})
	}
}

// TestSDPPionAnswersOurOffer has pion answer sdp.Offer (a WHEP counter-offer shape:
// the server sends audio and video and offers a data channel) and reads pion's
// answer back with LocalOffer.Accept.
func TestSDPPionAnswersOurOffer(t *testing.T) {
	cfg := sdpPionAnswerConfig()
	cfg.Audio.Direction, cfg.Video.Direction = sdp.SendOnly, sdp.SendOnly
	offer, err := sdp.Offer(cfg)
	require.NoError(t, err)

	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	require.NoError(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer.SDP)}),
		"pion rejected the offer:\n%s", offer.SDP)
	answer, err := pc.CreateAnswer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(answer))
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("pion did not finish gathering in 5s")
	}
	sess, err := offer.Accept([]byte(pc.LocalDescription().SDP))
	require.NoError(t, err, pc.LocalDescription().SDP)
	require.Len(t, sess.Sections, 3)
	assert.Equal(t, []string{"0", "1", "2"}, sess.Bundle)
	for _, s := range sess.Sections {
		require.False(t, s.Rejected)
		// pion picks its role (passive here, facing an ICE-lite offerer); the local
		// role must be the other one.
		assert.Contains(t, []dtlsparams.Setup{dtlsparams.SetupActive, dtlsparams.SetupPassive}, s.RemoteSetup)
		assert.NotEqual(t, s.RemoteSetup, s.LocalSetup)
		assert.Contains(t, pc.LocalDescription().SDP, "a=setup:"+s.RemoteSetup.String()+"\r\n")
		assert.NotEmpty(t, s.RemoteUfrag)
		assert.NotEmpty(t, s.RemoteFingerprints)
	}
	assert.Equal(t, sdp.SendOnly, sess.Sections[0].Direction)
	assert.Equal(t, "opus", strings.ToLower(sess.Sections[0].Codec.Name))
	assert.Equal(t, sdp.SendOnly, sess.Sections[1].Direction)
	assert.Equal(t, "H264", sess.Sections[1].Codec.Name)
	assert.NotZero(t, sess.Sections[1].RTX)
	assert.NotZero(t, sess.Sections[1].LocalSSRC)
	// pion's transceivers agree on the codec the server will send.
	for _, tr := range pc.GetTransceivers() {
		s := sess.Sections[map[string]int{"0": 0, "1": 1}[tr.Mid()]]
		assert.Equal(t, webrtc.RTPTransceiverDirectionRecvonly, tr.Direction())
		got := sdpNegotiated(tr.Receiver().GetParameters().Codecs)
		require.NotEmpty(t, got)
		assert.Equal(t, strings.ToLower(s.Kind.String()+"/"+s.Codec.Name+"/"+sdpItoa(int(s.Codec.PayloadType))), strings.ToLower(got[0]))
	}
}

// TestSDPPionRejectedSection: the server does no audio and no data channel, so it
// rejects those m-sections (port 0, mid kept, out of BUNDLE); pion must still
// accept the answer and negotiate video. pion's audio transceiver only receives:
// pion v4 starts the sender of every negotiated transceiver even when the answer
// rejected its m-section, and fails with "codec is not supported by remote".
func TestSDPPionRejectedSection(t *testing.T) {
	pc, offer := sdpPionOffer(t, func(pc *webrtc.PeerConnection) {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
		_, err = pc.AddTransceiverFromTrack(sdpPionTrack(t, webrtc.MimeTypeH264, "video"),
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
		_, err = pc.CreateDataChannel("chat", nil)
		require.NoError(t, err)
	})
	cfg := sdpPionAnswerConfig()
	cfg.Audio.Disabled, cfg.DataChannel = true, false
	sess, err := sdp.Answer([]byte(offer), cfg)
	require.NoError(t, err)
	require.True(t, sess.Sections[0].Rejected)
	require.False(t, sess.Sections[1].Rejected)
	require.True(t, sess.Sections[2].Rejected)
	assert.Equal(t, []string{sess.Sections[1].Mid}, sess.Bundle)
	assert.Contains(t, string(sess.SDP), "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n")
	assert.Contains(t, string(sess.SDP), "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n")
	require.NoError(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(sess.SDP)}),
		"pion rejected the answer:\n%s", sess.SDP)
	for _, tr := range pc.GetTransceivers() {
		if tr.Mid() == sess.Sections[1].Mid {
			assert.Equal(t, sdpLowerAll(sdpWantCodecs(&sess.Sections[1])), sdpLowerAll(sdpNegotiated(tr.Sender().GetParameters().Codecs)))
		}
	}
}
