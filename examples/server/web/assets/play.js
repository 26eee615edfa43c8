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

async function connect() {
  pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  video.srcObject = stream;
  // The audio track joins the element after the first picture: its
  // output device takes Chromium's main thread for a few hundred ms on
  // machines without a sound server, which would hold the picture back.
  let audio = null;
  pc.ontrack = (e) => {
    if (e.track.kind === 'audio' && state.firstFrameMs === null) audio = e.track;
    else stream.addTrack(e.track);
  };
  session = new Session(`/whep/${path}`);
  state.offerAt = performance.now();
  state.answerMs = state.connectedMs = state.firstFrameMs = null;
  watchFirstFrame(() => { if (audio) stream.addTrack(audio); });
  await session.start(pc);
  state.answerMs = Math.round(performance.now() - state.offerAt);
  state.timing = session.timing;
  setStatus('connecting to media…');
  await new Promise((resolve, reject) => {
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') {
        state.connectedMs = Math.round(performance.now() - state.offerAt);
        setStatus('playing');
        resolve();
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        reject(new Error('connection ' + pc.connectionState));
      }
    };
  });
  await new Promise((resolve) => {
    pc.onconnectionstatechange = () => {
      if (['failed', 'closed', 'disconnected'].includes(pc.connectionState)) resolve();
    };
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
}

async function loop() {
  for (;;) {
    let wait = 2;
    try {
      setStatus('connecting…');
      await connect();
      setStatus('stream ended, reconnecting…');
    } catch (e) {
      if (e instanceof HTTPError && e.status === 409) {
        setStatus('waiting for the stream to be published…');
        wait = e.retryAfter || 2;
      } else {
        setStatus(`error: ${e.message}`);
      }
    }
    teardown();
    await new Promise((r) => setTimeout(r, wait * 1000));
  }
}

let last = null;
async function poll() {
  if (!pc) return;
  const report = await pc.getStats();
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
