// The player page, /play/APP/NAME: WHEP to /whep/APP/NAME, muted with
// playsinline so that autoplay works on phones, an unmute button, and live
// statistics. It retries while the stream is not published (409) and after
// it ends. window.streamwirePlayer holds the state (for tests and
// embedders); an embedding page also gets it by postMessage every second.

import { Session, HTTPError } from '/assets/whipwhep.js';

const $ = (id) => document.getElementById(id);
const video = $('video');
const path = location.pathname.replace(/^\/play\//, '');
const state = {
  stream: decodeURIComponent(path),
  status: 'connecting',
  offerAt: 0, // performance.now() when the offer was made
  answerMs: null, // offer to answer applied
  connectedMs: null, // offer to ICE and DTLS connected
  firstFrameMs: null, // offer to first decoded frame
  audioShownMs: null, // offer to the audio track joining the element
  stats: { bitrate: 0, framesDecoded: 0, rttMs: null, packetsLost: 0, packetsReceived: 0, audioSamples: 0 },
};
window.streamwirePlayer = state;
document.title = `${state.stream} – streamwire`;

function setStatus(s) {
  state.status = s;
  $('status').textContent = s;
}

$('unmute').addEventListener('click', () => {
  video.muted = !video.muted;
  $('unmute').textContent = video.muted ? 'Unmute' : 'Mute';
  video.play().catch(() => {});
});

let pc = null;
let session = null;
let last = null; // the previous poll's time and byte count, for the bitrate

// After a stream ends the page tries again soon: a publisher that restarts
// is shown at once, and a server that closed the session for a reason
// (B-frames) tells it on the retry's POST.
const retryEndedMs = 500;
const retryErrorMs = 2000;
// With no picture within this time of the connection, the audio track
// joins the element anyway (audio-only streams, video that never comes).
const audioWaitMs = 1000;

// show adds track to the element's stream, and gives the element its
// stream with the first track only: a media element with a source delays
// the document's load event until it has data (HTML §4.8.11.5), so an
// empty stream, while the page waits for a publisher, would hold back the
// load event and an embedding iframe's onload for as long as it waits.
function show(track) {
  const stream = video.srcObject || new MediaStream();
  stream.addTrack(track);
  if (!video.srcObject) video.srcObject = stream;
}

// hasVideo reports whether pc's answer sends video.
function hasVideo(pc) {
  return pc.getTransceivers().some((t) => t.receiver.track.kind === 'video'
    && (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv'));
}

// connect plays the stream once. It returns when the session ends and
// throws when it cannot start.
async function connect() {
  const mine = pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  // The audio track joins the element after the first picture: its
  // output device takes Chromium's main thread for a few hundred ms on
  // machines without a sound server, which would hold the picture back.
  // Without a picture (audio only) it joins once connected, or at once
  // when the answer has no video.
  let audio = null;
  let audioShown = false;
  const showAudio = () => {
    if (audio && !audioShown && pc === mine) {
      audioShown = true;
      show(audio);
      state.audioShownMs = Math.round(performance.now() - state.offerAt);
    }
  };
  pc.ontrack = (e) => {
    if (e.track.kind === 'audio') audio = e.track;
    else show(e.track);
  };
  session = new Session(`/whep/${path}`);
  state.offerAt = performance.now();
  state.answerMs = state.connectedMs = state.firstFrameMs = state.audioShownMs = null;
  state.stats = { bitrate: 0, framesDecoded: 0, rttMs: null, packetsLost: 0, packetsReceived: 0, audioSamples: 0 };
  last = null;
  watchFirstFrame(showAudio);
  await session.start(pc);
  state.answerMs = Math.round(performance.now() - state.offerAt);
  state.timing = session.timing;
  if (!hasVideo(mine)) showAudio();
  setStatus('connecting to media…');
  return untilEnded(mine, () => {
    state.connectedMs = Math.round(performance.now() - state.offerAt);
    setStatus('playing');
    setTimeout(showAudio, audioWaitMs);
  });
}

// untilEnded calls up once mine is connected and resolves with how the
// session ended; it rejects when ICE or DTLS fail before. The end shows
// on the receivers' DTLS transport: a server that ends the session sends a
// DTLS close_notify, and the transport is closed within milliseconds,
// while Chromium keeps connectionState "connected" until ICE consent
// times out, several seconds later.
function untilEnded(mine, up) {
  return new Promise((resolve, reject) => {
    let connected = false;
    const transports = new Set(mine.getReceivers().map((r) => r.transport).filter(Boolean));
    const check = () => {
      if (pc !== mine) return resolve('stopped');
      const cs = mine.connectionState;
      const dtls = [...transports].map((t) => t.state);
      if (dtls.includes('closed')) return resolve(connected ? 'stream ended' : 'session closed by the server');
      if (!connected && (cs === 'failed' || cs === 'closed' || dtls.includes('failed'))) {
        return reject(new Error('connection ' + (cs === 'failed' || cs === 'closed' ? cs : 'failed (DTLS)')));
      }
      if (connected && (cs === 'failed' || cs === 'closed' || cs === 'disconnected' || dtls.includes('failed'))) {
        return resolve('connection ' + cs);
      }
      if (!connected && cs === 'connected') {
        connected = true;
        up();
      }
      return undefined;
    };
    mine.addEventListener('connectionstatechange', check);
    for (const t of transports) t.addEventListener('statechange', check);
    check();
  });
}

// watchFirstFrame records the time from the offer to the first picture
// shown, then calls then.
function watchFirstFrame(then) {
  const started = state.offerAt;
  const mark = () => {
    if (state.offerAt === started && state.firstFrameMs === null) {
      state.firstFrameMs = Math.round(performance.now() - started);
      $('first').textContent = `${state.firstFrameMs} ms after the offer`;
      then();
    }
  };
  if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(mark);
  else video.addEventListener('loadeddata', mark, { once: true });
}

function teardown() {
  if (session) session.stop();
  if (pc) pc.close();
  session = null;
  pc = null;
  video.srcObject = null;
}

async function loop() {
  for (;;) {
    let wait = retryErrorMs;
    try {
      setStatus('connecting…');
      const how = await connect();
      setStatus(`${how}, reconnecting…`);
      wait = retryEndedMs;
    } catch (e) {
      if (e instanceof HTTPError && e.status === 409) {
        setStatus('waiting for the stream to be published…');
        wait = (e.retryAfter || 2) * 1000;
      } else {
        setStatus(`error: ${e.message}`);
      }
    }
    teardown();
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function poll() {
  const mine = pc;
  if (!mine) return;
  const report = await mine.getStats();
  if (pc !== mine) return; // a new session has its own counters
  const s = state.stats;
  let bytes = 0;
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      bytes += r.bytesReceived || 0;
      s.framesDecoded = r.framesDecoded || 0;
      s.packetsLost = r.packetsLost || 0;
      s.packetsReceived = r.packetsReceived || 0;
    } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      bytes += r.bytesReceived || 0;
      s.audioSamples = r.totalSamplesReceived || 0;
    } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded'
      && r.currentRoundTripTime !== undefined) {
      s.rttMs = Math.round(r.currentRoundTripTime * 1000);
    }
  });
  const now = performance.now();
  if (last && now > last.t) s.bitrate = Math.max(0, Math.round((bytes - last.bytes) * 8000 / (now - last.t)));
  last = { t: now, bytes };
  $('bitrate').textContent = s.bitrate >= 1e6 ? `${(s.bitrate / 1e6).toFixed(2)} Mbit/s` : `${Math.round(s.bitrate / 1e3)} kbit/s`;
  $('frames').textContent = String(s.framesDecoded);
  $('rtt').textContent = s.rttMs === null ? '–' : `${s.rttMs} ms`;
  const total = s.packetsLost + s.packetsReceived;
  $('loss').textContent = total ? `${(100 * s.packetsLost / total).toFixed(2)} %` : '–';
}

setInterval(() => {
  poll().catch(() => {});
  if (window.parent !== window) window.parent.postMessage({ streamwirePlayer: JSON.parse(JSON.stringify(state)) }, '*');
}, 1000);
window.addEventListener('pagehide', teardown);
loop();
