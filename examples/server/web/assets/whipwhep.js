// A WHIP (RFC 9725) and WHEP client in plain JavaScript: POST the offer,
// keep the session URL (Location) and entity tag (ETag), trickle the
// candidates in one PATCH, DELETE at the end. The server is ICE-lite and
// answers with all its candidates, so the offer goes out at once, without
// waiting for candidate gathering.

export class HTTPError extends Error {
  constructor(status, text, retryAfter) {
    super(`${status}: ${text.trim() || 'request failed'}`);
    this.status = status;
    this.retryAfter = retryAfter; // seconds, from Retry-After (409, 503)
  }
}

export class Session {
  // endpoint: the WHIP or WHEP URL; token: bearer token or "".
  constructor(endpoint, token = '') {
    this.endpoint = new URL(endpoint, location.href).href;
    this.token = token;
    this.location = null;
    this.etag = null;
    this.timing = null; // ms from start: offer created, set locally, POST answered
  }

  headers(type) {
    const h = { 'Content-Type': type };
    if (this.token) h.Authorization = 'Bearer ' + this.token;
    return h;
  }

  // start sends pc's offer and applies the answer. pc has its transceivers.
  async start(pc) {
    const candidates = [];
    let gathered;
    const done = new Promise((resolve) => { gathered = resolve; });
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && e.candidate.candidate) candidates.push(e.candidate);
      else gathered();
    });
    const t0 = performance.now();
    const offer = await pc.createOffer();
    this.timing = { offerMs: Math.round(performance.now() - t0) };
    await pc.setLocalDescription(offer);
    this.timing.localMs = Math.round(performance.now() - t0);
    const res = await fetch(this.endpoint, {
      method: 'POST', headers: this.headers('application/sdp'), body: pc.localDescription.sdp,
    });
    const body = await res.text();
    this.timing.postMs = Math.round(performance.now() - t0);
    if (res.status !== 201) {
      throw new HTTPError(res.status, body, Number(res.headers.get('Retry-After')) || 0);
    }
    this.location = new URL(res.headers.get('Location'), this.endpoint).href;
    this.etag = res.headers.get('ETag');
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    done.then(() => this.trickle(pc, candidates)).catch(() => {});
  }

  // trickle sends the gathered candidates in one PATCH
  // (application/trickle-ice-sdpfrag, RFC 8840). An ICE-lite server learns
  // the addresses from the checks anyway, so a failure is not fatal.
  async trickle(pc, candidates) {
    if (!this.location || candidates.length === 0) return;
    const sdp = pc.localDescription.sdp;
    const ufrag = sdp.match(/a=ice-ufrag:(.*)\r\n/);
    const pwd = sdp.match(/a=ice-pwd:(.*)\r\n/);
    const first = pc.getTransceivers()[0];
    if (!ufrag || !pwd || !first || first.mid === null) return;
    let frag = `a=ice-ufrag:${ufrag[1]}\r\na=ice-pwd:${pwd[1]}\r\n` +
      `m=${first.receiver.track.kind} 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${first.mid}\r\n`;
    for (const c of candidates) {
      if (c.sdpMid === first.mid || c.sdpMLineIndex === 0) frag += `a=${c.candidate}\r\n`;
    }
    frag += 'a=end-of-candidates\r\n';
    const headers = this.headers('application/trickle-ice-sdpfrag');
    if (this.etag) headers['If-Match'] = this.etag;
    await fetch(this.location, { method: 'PATCH', headers, body: frag });
  }

  // stop deletes the session; keepalive lets it leave with a closing page.
  stop() {
    if (!this.location) return;
    const headers = {};
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    fetch(this.location, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
    this.location = null;
  }
}
