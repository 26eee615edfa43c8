package interop

// Live offers from headless Chromium and Firefox ESR: each browser makes offers in
// several shapes, streamwire's sdp.Answer answers them, and the browser must accept
// the answer (setRemoteDescription) and end up with the expected directions and
// codecs. With -update-sdp-offers the offers are also written to
// ../sdp/testdata/offers/, where sdp's own tests check the answers to them in every
// normal run.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/sdp"
)

var updateSDPOffers = flag.Bool("update-sdp-offers", false, "write browser offers to ../sdp/testdata/offers/")

// sdpBrowserShapes are the offer shapes the page makes, in order.
// "rejected" is sendrecv audio+video with a data channel, where the server rejects
// audio and the data channel. "counteroffer" turns the roles around: the server
// makes the offer (sdp.Offer, as for a WHEP 406 counter-offer) and reads the
// browser's answer with LocalOffer.Accept.
var sdpBrowserShapes = []string{"recvonly", "sendonly", "sendrecv", "datachannel", "sendrecv_datachannel", "rejected", "counteroffer"}

const sdpBrowserPage = `<!doctype html><html><body><script>
const shapes = %s;
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(r => {
    const t = setTimeout(r, 3000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); r(); }
    });
  });
}
async function counteroffer(pc) {
  const offer = await (await fetch('/counteroffer')).text();
  await pc.setRemoteDescription({type: 'offer', sdp: offer});
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  const resp = await fetch('/counteranswer', {method: 'POST', body: pc.localDescription.sdp});
  if (!resp.ok) throw new Error('server: ' + await resp.text());
}
async function one(shape) {
  const pc = new RTCPeerConnection();
  let stream = null;
  try {
    if (shape === 'counteroffer') {
      await counteroffer(pc);
      const trs = pc.getTransceivers().map(t => ({mid: t.mid, kind: t.receiver.track.kind, direction: t.currentDirection, codecs: []}));
      return {shape: shape, ok: true, transceivers: trs, sctp: pc.sctp !== null};
    }
    if (shape.startsWith('send') || shape === 'rejected') stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    if (shape === 'recvonly') {
      pc.addTransceiver('audio', {direction: 'recvonly'});
      pc.addTransceiver('video', {direction: 'recvonly'});
    } else if (shape === 'sendonly') {
      for (const t of stream.getTracks()) pc.addTransceiver(t, {direction: 'sendonly', streams: [stream]});
    } else if (shape.startsWith('sendrecv')) {
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
    }
    if (shape === 'rejected') for (const t of stream.getTracks()) pc.addTrack(t, stream);
    if (shape.endsWith('datachannel') || shape === 'rejected') pc.createDataChannel('chat');
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const resp = await fetch('/offer?shape=' + shape + '&ua=' + encodeURIComponent(navigator.userAgent),
      {method: 'POST', body: pc.localDescription.sdp});
    if (!resp.ok) throw new Error('server: ' + await resp.text());
    await pc.setRemoteDescription({type: 'answer', sdp: await resp.text()});
    const trs = pc.getTransceivers().map(t => {
      let codecs = [];
      try { codecs = t.sender.getParameters().codecs.map(c => c.mimeType); } catch (e) {}
      return {mid: t.mid, kind: t.receiver.track.kind, direction: t.currentDirection, codecs: codecs};
    });
    return {shape: shape, ok: true, transceivers: trs, sctp: pc.sctp !== null};
  } catch (e) {
    return {shape: shape, ok: false, error: String(e)};
  } finally {
    if (stream) stream.getTracks().forEach(t => t.stop());
    pc.close();
  }
}
(async () => {
  for (const s of shapes) {
    const r = await one(s);
    await fetch('/result', {method: 'POST', body: JSON.stringify(r)});
  }
})();
</script></body></html>`

type sdpBrowserTransceiver struct {
	Mid       string   `json:"mid"`
	Kind      string   `json:"kind"`
	Direction string   `json:"direction"`
	Codecs    []string `json:"codecs"`
}

type sdpBrowserResult struct {
	Shape        string                  `json:"shape"`
	OK           bool                    `json:"ok"`
	Error        string                  `json:"error"`
	Transceivers []sdpBrowserTransceiver `json:"transceivers"`
	SCTP         bool                    `json:"sctp"`
}

// sdpBrowserAnswerConfig is the server side the browsers talk to: it sends and
// receives audio and video, accepts a data channel and is ICE-lite.
func sdpBrowserAnswerConfig() *sdp.Config {
	return &sdp.Config{
		DataChannel:     true,
		ICELite:         true,
		Fingerprints:    []dtlsparams.Fingerprint{sdpFakeFingerprint},
		Candidates:      []string{"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"},
		EndOfCandidates: true,
	}
}

var (
	sdpChromeVersion  = regexp.MustCompile(`Chrome/(\d+)`)
	sdpFirefoxVersion = regexp.MustCompile(`Firefox/(\d+)`)
)

// sdpOfferFileName names a captured offer after the browser that made it.
func sdpOfferFileName(ua, shape string) string {
	if m := sdpFirefoxVersion.FindStringSubmatch(ua); m != nil {
		return fmt.Sprintf("firefox_esr%s_%s.sdp", m[1], shape)
	}
	if m := sdpChromeVersion.FindStringSubmatch(ua); m != nil {
		return fmt.Sprintf("chromium%s_%s.sdp", m[1], shape)
	}
	return "unknown_" + shape + ".sdp"
}

// sdpRunBrowserOffers serves the page to the browser start opens and checks every
// shape. chromium says the browser exposes its negotiated send codecs
// (RTCRtpSender.getParameters) and has H.264.
func sdpRunBrowserOffers(t *testing.T, start func(testing.TB, string), chromium bool) {
	var (
		mu      sync.Mutex
		results = map[string]sdpBrowserResult{}
		answers = map[string]*sdp.Session{}
		offers  = map[string]string{}
		done    = make(chan struct{})
	)
	shapesJSON, _ := json.Marshal(sdpBrowserShapes)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, sdpBrowserPage, shapesJSON)
	})
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		offer, err := io.ReadAll(io.LimitReader(r.Body, sdp.MaxSize+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		shape := r.URL.Query().Get("shape")
		if *updateSDPOffers && shape != "rejected" {
			name := filepath.Join("..", "sdp", "testdata", "offers", sdpOfferFileName(r.URL.Query().Get("ua"), shape))
			if err := os.WriteFile(name, offer, 0o644); err != nil {
				t.Errorf("write %s: %v", name, err)
			}
		}
		cfg := sdpBrowserAnswerConfig()
		if shape == "rejected" {
			cfg.Audio.Disabled, cfg.DataChannel = true, false
		}
		sess, err := sdp.Answer(offer, cfg)
		if err != nil {
			t.Errorf("%s: answer: %v\noffer:\n%s", shape, err, offer)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		answers[shape] = sess
		offers[shape] = string(offer)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/sdp")
		_, _ = w.Write(sess.SDP)
	})
	var counter *sdp.LocalOffer
	mux.HandleFunc("/counteroffer", func(w http.ResponseWriter, r *http.Request) {
		cfg := sdpBrowserAnswerConfig()
		cfg.Audio.Direction, cfg.Video.Direction = sdp.SendOnly, sdp.SendOnly
		o, err := sdp.Offer(cfg)
		if err != nil {
			t.Errorf("offer: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		counter = o
		mu.Unlock()
		w.Header().Set("Content-Type", "application/sdp")
		_, _ = w.Write(o.SDP)
	})
	mux.HandleFunc("/counteranswer", func(w http.ResponseWriter, r *http.Request) {
		answer, err := io.ReadAll(io.LimitReader(r.Body, sdp.MaxSize+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sess, err := counter.Accept(answer)
		if err != nil {
			t.Errorf("counteroffer: accept: %v\nanswer:\n%s", err, answer)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answers["counteroffer"], offers["counteroffer"] = sess, string(counter.SDP)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		var res sdpBrowserResult
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&res); err != nil {
			t.Errorf("bad result: %v", err)
			return
		}
		mu.Lock()
		results[res.Shape] = res
		if len(results) == len(sdpBrowserShapes) {
			close(done)
		}
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	start(t, srv.URL+"/")
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("browser reported %d of %d shapes in 90s: %+v", len(results), len(sdpBrowserShapes), results)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, shape := range sdpBrowserShapes {
		t.Logf("%s: %+v", shape, results[shape])
		sdpCheckBrowserResult(t, results[shape], answers[shape], offers[shape], chromium)
	}
}

// sdpCheckBrowserResult checks that the browser accepted the answer and agrees with
// it: every media transceiver has the mirror of the server's direction and, where
// the browser exposes them (RTCRtpSender.getParameters), the negotiated codecs.
func sdpCheckBrowserResult(t *testing.T, res sdpBrowserResult, sess *sdp.Session, offer string, chromium bool) {
	t.Helper()
	if !res.OK {
		t.Errorf("%s: browser rejected the answer: %s", res.Shape, res.Error)
		return
	}
	if res.Shape == "counteroffer" {
		sdpCheckCounterOffer(t, res, sess, chromium)
		return
	}
	want := map[string]string{"recvonly": "recvonly", "sendonly": "sendonly", "sendrecv": "sendrecv",
		"sendrecv_datachannel": "sendrecv", "rejected": "sendrecv"}[res.Shape]
	media := 0
	for _, tr := range res.Transceivers {
		if res.Shape == "rejected" && tr.Kind == "audio" {
			// A rejected m-section stops the transceiver (JSEP §5.10); Chromium
			// then drops it from getTransceivers(), Firefox keeps it as stopped.
			if tr.Direction != "stopped" && tr.Direction != "inactive" {
				t.Errorf("rejected: audio currentDirection %q, want stopped or inactive", tr.Direction)
			}
			continue
		}
		media++
		if tr.Direction != want {
			t.Errorf("%s: mid %s (%s) currentDirection %q, want %q", res.Shape, tr.Mid, tr.Kind, tr.Direction, want)
		}
		var sec *sdp.Section
		for i := range sess.Sections {
			if sess.Sections[i].Mid == tr.Mid {
				sec = &sess.Sections[i]
			}
		}
		if sec == nil || sec.Rejected {
			t.Errorf("%s: mid %s not accepted in the answer", res.Shape, tr.Mid)
			continue
		}
		// The default video codecs are H.264 then VP8; headless Firefox ESR has no
		// H.264 until it downloads OpenH264, so it gets VP8.
		wantCodec := map[string]string{"audio": "audio/opus", "video": "video/VP8"}[tr.Kind]
		if tr.Kind == "video" && strings.Contains(offer, " H264/90000") {
			wantCodec = "video/H264"
		}
		if !strings.EqualFold(tr.Kind+"/"+sec.Codec.Name, wantCodec) {
			t.Errorf("%s: mid %s answered %s, want %s", res.Shape, tr.Mid, sec.Codec.Name, wantCodec)
		}
		if chromium && strings.HasPrefix(tr.Direction, "send") && len(tr.Codecs) == 0 {
			t.Errorf("%s: mid %s: the browser reports no send codecs", res.Shape, tr.Mid)
		}
		for _, c := range tr.Codecs {
			if !strings.EqualFold(c, wantCodec) && !strings.HasSuffix(c, "/rtx") {
				t.Errorf("%s: mid %s: browser negotiated %v, want only %s (+rtx)", res.Shape, tr.Mid, tr.Codecs, wantCodec)
				break
			}
		}
	}
	wantMedia := map[string]int{"datachannel": 0, "rejected": 1}[res.Shape]
	if res.Shape != "datachannel" && res.Shape != "rejected" {
		wantMedia = 2
	}
	if media != wantMedia {
		t.Errorf("%s: %d transceivers, want %d", res.Shape, media, wantMedia)
	}
	if strings.HasSuffix(res.Shape, "datachannel") != res.SCTP { // "rejected" has none
		t.Errorf("%s: sctp transport present = %v", res.Shape, res.SCTP)
	}
}

func TestSDPChromiumOffers(t *testing.T) { sdpRunBrowserOffers(t, startChromium, true) }

func TestSDPFirefoxOffers(t *testing.T) { sdpRunBrowserOffers(t, startFirefox, false) }

// sdpCheckCounterOffer checks the server-offers case: the browser took the offer
// (recvonly transceivers, a data channel) and Accept read its answer: audio and
// video sendonly with one codec each (H.264 for Chromium, VP8 for a Firefox without
// OpenH264) plus RTX for video, everything bundled, opposite DTLS roles.
func sdpCheckCounterOffer(t *testing.T, res sdpBrowserResult, sess *sdp.Session, chromium bool) {
	t.Helper()
	if len(res.Transceivers) != 2 || !res.SCTP {
		t.Errorf("counteroffer: browser has %d transceivers, sctp %v; want 2 and a data channel", len(res.Transceivers), res.SCTP)
	}
	for _, tr := range res.Transceivers {
		if tr.Direction != "recvonly" {
			t.Errorf("counteroffer: mid %s currentDirection %q, want recvonly", tr.Mid, tr.Direction)
		}
	}
	if sess == nil || len(sess.Sections) != 3 {
		t.Fatalf("counteroffer: no accepted session: %+v", sess)
	}
	video := "VP8"
	if chromium {
		video = "H264"
	}
	for i, want := range []string{"opus", video, ""} {
		s := sess.Sections[i]
		if s.Rejected || s.LocalSetup == s.RemoteSetup || s.RemoteUfrag == "" || len(s.RemoteFingerprints) == 0 {
			t.Errorf("counteroffer: section %d: %+v", i, s)
		}
		if want == "" {
			continue
		}
		if s.Direction != sdp.SendOnly || !strings.EqualFold(s.Codec.Name, want) || (s.Kind == sdp.KindVideo) != (s.RTX != 0) {
			t.Errorf("counteroffer: section %d: %s %s/%d rtx %d, want sendonly %s", i, s.Direction, s.Codec.Name, s.Codec.PayloadType, s.RTX, want)
		}
	}
	if strings.Join(sess.Bundle, " ") != "0 1 2" {
		t.Errorf("counteroffer: bundle %v", sess.Bundle)
	}
}
