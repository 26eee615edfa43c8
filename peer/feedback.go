package peer

import (
	"slices"

	"github.com/streamwire/streamwire/sdp"
)

// withFeedbackDefaults fills the codec and header extension lists that m
// leaves nil with sdp's defaults, and the rtcp-fb lists its codecs leave
// nil with the peer's, minus what this peer would not act on.
//
// Which bandwidth feedback to negotiate: a peer that receives answers with
// transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01) and
// sends transport-wide feedback, because libwebrtc's send-side estimator
// (GCC's delay-based controller) runs on it and ramps a browser publisher
// up within seconds, while receive-side REMB is the older path that
// libwebrtc keeps only for peers without transport-cc; goog-remb stays in
// the answer for those (the peer then sends REMB). A peer that only sends
// (MediaConfig.Direction SendOnly, a viewer) leaves transport-cc and its
// header extension out: it has no send-side estimator to feed, and
// without transport-cc the remote receiver estimates on abs-send-time,
// which the peer writes, and reports REMB, which LocalTrack exposes.
func withFeedbackDefaults(m sdp.MediaConfig, codecs []sdp.Codec) sdp.MediaConfig {
	sendOnly := m.Direction == sdp.SendOnly
	if m.Codecs == nil {
		m.Codecs = codecs
	}
	m.Codecs = slices.Clone(m.Codecs)
	for i := range m.Codecs {
		if c := &m.Codecs[i]; c.RTCPFeedback == nil {
			c.RTCPFeedback = []string{"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"}
			if sendOnly {
				c.RTCPFeedback = c.RTCPFeedback[:4]
			}
		}
	}
	if m.Extensions == nil && sendOnly {
		m.Extensions = []string{uriMid, uriAbsSendTime}
	}
	return m
}
