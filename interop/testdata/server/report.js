// Shared by the test pages of the server's end-to-end tests: rep is the
// page's state, posted to /report every 250 ms with the RTCPeerConnection's
// video statistics, and at once when the page fails (fail) or a promise is
// rejected unhandled (a library's background request that failed).

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const q = new URLSearchParams(location.search);
export const params = q;
export const rep = { role: q.get('role') || q.get('mode'), state: 'new', userAgent: navigator.userAgent };

async function post() {
  await fetch('/report', { method: 'POST', body: JSON.stringify(rep) });
}

export async function fail(e) {
  rep.error = String((e && e.stack) || e);
  await post();
}

window.addEventListener('unhandledrejection', (e) => fail('unhandled rejection: ' + ((e.reason && e.reason.stack) || e.reason)));

// offerCodecs notes the rtpmap names of pc's offer.
export function offerCodecs(sdp) {
  rep.offerCodecs = [...new Set([...sdp.matchAll(/a=rtpmap:\d+ ([^/]+)\//g)].map((m) => m[1]))];
}

async function stats(pc) {
  rep.state = pc.connectionState;
  const s = await pc.getStats();
  s.forEach((r) => {
    if (r.kind !== 'video' || (r.type !== 'inbound-rtp' && r.type !== 'outbound-rtp')) return;
    if (r.type === 'inbound-rtp') rep.framesDecoded = r.framesDecoded || 0;
    else {
      rep.framesEncoded = Math.max(rep.framesEncoded || 0, r.framesEncoded || 0);
      rep.packetsSent = Math.max(rep.packetsSent || 0, r.packetsSent || 0);
    }
    const c = r.codecId && s.get(r.codecId);
    if (c) rep.codec = c.mimeType;
  });
}

// report posts pc's state every 250 ms, for ever.
export async function report(pc) {
  for (;;) {
    await stats(pc);
    await post();
    await sleep(250);
  }
}

// showTracks plays the tracks pc receives in the page's video element.
export function showTracks(pc) {
  pc.ontrack = (e) => {
    const v = document.getElementById('v');
    if (!v.srcObject) v.srcObject = new MediaStream();
    v.srcObject.addTrack(e.track);
  };
}
