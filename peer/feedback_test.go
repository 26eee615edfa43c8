package peer

import (
	"slices"
	"testing"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// TestAnswerFeedback: an answer that only sends leaves transport-cc out of
// the rtcp-fb of a codec whose list the caller left nil, whether the
// codec list is the default one or the caller's (a viewer that asks for
// VP8 only, as for Firefox); one that receives keeps it; a caller's own
// list is kept as is, and the caller's codecs are not modified.
func TestAnswerFeedback(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	vp8 := []sdp.Codec{{Name: "VP8"}}
	own := []sdp.Codec{{Name: "VP8", RTCPFeedback: []string{"nack", "goog-remb"}}}
	all := []string{"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"}
	for _, tc := range []struct {
		name string
		m    sdp.MediaConfig
		want []string
	}{
		{"default codecs, send only", sdp.MediaConfig{Direction: sdp.SendOnly}, all[:4]},
		{"default codecs, receive only", sdp.MediaConfig{Direction: sdp.RecvOnly}, all},
		{"VP8, send only", sdp.MediaConfig{Direction: sdp.SendOnly, Codecs: vp8}, all[:4]},
		{"VP8, send and receive", sdp.MediaConfig{Codecs: vp8}, all},
		{"the caller's rtcp-fb, send only", sdp.MediaConfig{Direction: sdp.SendOnly, Codecs: own}, own[0].RTCPFeedback},
	} {
		r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
		cfg := srv.config()
		cfg.SDP.Video = tc.m
		p := r.answer(cfg)
		if got := p.Description().Sections[0].RTCPFeedback; !slices.Equal(got, tc.want) {
			t.Errorf("%s: rtcp-fb %q, want %q", tc.name, got, tc.want)
		}
		p.Close()
	}
	if vp8[0].RTCPFeedback != nil || sdp.DefaultVideoCodecs[0].RTCPFeedback != nil {
		t.Error("the caller's codecs or sdp's defaults were modified")
	}
}
