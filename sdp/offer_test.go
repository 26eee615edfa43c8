package sdp

import (
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/dtlsparams"
)

func TestOfferShape(t *testing.T) {
	cfg := testConfig()
	cfg.Video.Direction = SendOnly
	cfg.Audio.Direction = SendOnly
	cfg.Video.Codecs = []Codec{
		{Name: "H264", Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		{Name: "VP8", PayloadType: 97},
	}
	o, err := Offer(cfg)
	require.NoError(t, err)
	var d psdp.SessionDescription
	require.NoError(t, d.Unmarshal(o.SDP))
	g, _ := d.Attribute("group")
	assert.Equal(t, "BUNDLE 0 1 2", g)
	require.Len(t, d.MediaDescriptions, 3)
	s := string(o.SDP)
	for _, line := range []string{
		"m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n",
		"a=rtpmap:96 opus/48000/2\r\n",
		// VP8 keeps its configured 97, so H.264 gets 96 and the RTX formats 98, 99.
		"m=video 9 UDP/TLS/RTP/SAVPF 96 98 97 99\r\n",
		"a=fmtp:98 apt=96\r\n", "a=fmtp:99 apt=97\r\n",
		"a=rtcp-fb:96 nack pli\r\n",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
		"a=setup:actpass\r\n", "a=sendonly\r\n", "a=ice-lite\r\n",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n",
		"a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n",
	} {
		assert.Contains(t, s, line)
	}
	// The same URI has the same ID in both sections (RFC 8843 §9.1).
	assert.Equal(t, 2, strings.Count(s, "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"))
	assert.Equal(t, 6, strings.Count(s, "a=ssrc:")) // audio: cname+msid; video: both for media and RTX
	assert.Equal(t, 1, strings.Count(s, "a=ssrc-group:FID"))
}

// TestOfferAnsweredByAnswer has our own Answer answer our own Offer (a client
// config that only receives, and prefers VP8), then reads that answer back.
func TestOfferAnsweredByAnswer(t *testing.T) {
	server := testConfig()
	server.Audio.Direction, server.Video.Direction = SendOnly, SendOnly
	o, err := Offer(server)
	require.NoError(t, err)

	client := testConfig()
	client.ICEUfrag, client.ICEPwd = "clientUfrag", "clientPassword0123456789"
	client.RolePolicy.AnswerPassive = true
	client.Audio.Direction, client.Video.Direction = RecvOnly, RecvOnly
	client.Video.Codecs = []Codec{{Name: "VP8"}}
	ans, err := Answer(o.SDP, client)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"0 audio recvonly opus/96 ext=1,2,3,4 setup=passive",
		"1 video recvonly VP8/100 rtx=101 ext=1,3,4 setup=passive",
		"2 application sctp=5000 max=262144 setup=passive",
	}, summaries(ans))

	sess, err := o.Accept(ans.SDP)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"0 audio sendonly opus/96 ext=1,2,3,4 setup=actpass",
		"1 video sendonly VP8/100 rtx=101 ext=1,3,4 setup=actpass",
		"2 application sctp=5000 max=262144 setup=actpass",
	}, summaries(sess))
	for i := range sess.Sections {
		// The client answered passive: the offerer is the DTLS client, the
		// answerer the server, each deciding alone.
		assert.Equal(t, dtlsparams.RoleClient, sess.Sections[i].LocalRole)
		assert.Equal(t, dtlsparams.RoleServer, ans.Sections[i].LocalRole)
	}
	assert.Equal(t, []string{"0", "1", "2"}, sess.Bundle)
	assert.Equal(t, "clientUfrag", sess.Sections[1].RemoteUfrag)
	assert.Equal(t, o.LocalUfrag, sess.LocalUfrag)
	assert.NotZero(t, sess.Sections[1].LocalSSRC)
	assert.NotZero(t, sess.Sections[1].LocalRTXSSRC)
	assert.Equal(t, []string{"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"}, sess.Sections[1].RTCPFeedback)
}

func TestOfferAcceptErrors(t *testing.T) {
	o, err := Offer(testConfig())
	require.NoError(t, err)
	client := testConfig()
	ans, err := Answer(o.SDP, client)
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		answer string
		err    error
	}{
		{"garbage", "x", ErrParse},
		{"actpass in an answer", strings.ReplaceAll(string(ans.SDP), "a=setup:active", "a=setup:actpass"), ErrSetup},
		{"missing section", string(ans.SDP[:strings.Index(string(ans.SDP), "m=application")]), ErrAnswerMismatch},
		{"wrong mid", strings.Replace(string(ans.SDP), "a=mid:1", "a=mid:7", 1), ErrAnswerMismatch},
		{"unknown codec", strings.ReplaceAll(strings.ReplaceAll(string(ans.SDP), "H264/90000", "H265/90000"), "opus/", "speex/"), ErrAnswerMismatch},
	} {
		_, err := o.Accept([]byte(tc.answer))
		assert.ErrorIs(t, err, tc.err, tc.name)
	}
	// A rejected section is reported as such.
	cfg := testConfig()
	cfg.DataChannel = false
	ans, err = Answer(o.SDP, cfg)
	require.NoError(t, err)
	sess, err := o.Accept(ans.SDP)
	require.NoError(t, err)
	assert.True(t, sess.Sections[2].Rejected)
	assert.Equal(t, []string{"0", "1"}, sess.Bundle)

	_, err = Offer(&Config{})
	assert.ErrorIs(t, err, ErrNoFingerprint)
	cfg = testConfig()
	cfg.Audio.Disabled, cfg.Video.Disabled, cfg.DataChannel = true, true, false
	_, err = Offer(cfg)
	assert.ErrorIs(t, err, ErrNoMedia)
}

// TestOfferSetupTable is the offerer's side of RFC 8842 §5 (with RFC 4145 §4 for
// an absent attribute), through Offer and Accept: the offer's a=setup comes from
// Config.RolePolicy.Offer, and the role from the answer's a=setup, as
// dtlsparams.SelectRole decides it for dtlssrtp.
func TestOfferSetupTable(t *testing.T) {
	for _, tc := range []struct {
		offer  dtlsparams.Setup // RolePolicy.Offer
		answer string           // a=setup of the answer; "" removes it
		role   dtlsparams.Role
		err    error
	}{
		{dtlsparams.SetupNone, "active", dtlsparams.RoleServer, nil},
		{dtlsparams.SetupNone, "passive", dtlsparams.RoleClient, nil},
		{dtlsparams.SetupNone, "", dtlsparams.RoleServer, nil}, // absent means active
		{dtlsparams.SetupNone, "actpass", 0, dtlsparams.ErrRoleConflict},
		{dtlsparams.SetupNone, "holdconn", 0, dtlsparams.ErrRoleConflict},
		{dtlsparams.SetupNone, "later", 0, dtlsparams.ErrBadSetup},
		{dtlsparams.SetupActpass, "PASSIVE", dtlsparams.RoleClient, nil},
		{dtlsparams.SetupActive, "passive", dtlsparams.RoleClient, nil},
		{dtlsparams.SetupActive, "active", 0, dtlsparams.ErrRoleConflict},
		{dtlsparams.SetupPassive, "active", dtlsparams.RoleServer, nil},
		{dtlsparams.SetupPassive, "passive", 0, dtlsparams.ErrRoleConflict},
	} {
		name := tc.offer.String() + "/" + tc.answer
		cfg := testConfig()
		cfg.RolePolicy.Offer = tc.offer
		o, err := Offer(cfg)
		require.NoError(t, err, name)
		assert.Contains(t, string(o.SDP), "a=setup:"+cfg.RolePolicy.OfferSetup().String()+"\r\n", name)
		ans, err := Answer(o.SDP, testConfig())
		require.NoError(t, err, name)
		sess, err := o.Accept(setOfferSetup(ans.SDP, tc.answer))
		if tc.err != nil {
			assert.ErrorIs(t, err, ErrSetup, name)
			assert.ErrorIs(t, err, tc.err, name)
			continue
		}
		require.NoError(t, err, name)
		for _, s := range sess.Sections {
			assert.Equal(t, tc.role, s.LocalRole, name)
			assert.Equal(t, cfg.RolePolicy.OfferSetup(), s.LocalSetup, name)
		}
	}
}
