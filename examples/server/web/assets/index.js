// The page at /: publish the camera and microphone via WHIP, and list the
// live streams from /api/streams with a copyable URL for each way to play.
// window.streamwirePage holds the publishing state (for tests).

import { Session } from '/assets/whipwhep.js';

const $ = (id) => document.getElementById(id);
const page = { publishing: null, status: 'idle', error: null };
window.streamwirePage = page;

function setStatus(s) {
  page.status = s;
  $('publish-status').textContent = s;
}

let pc = null;
let session = null;
let media = null;

async function publish(stream, token) {
  media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  $('preview').srcObject = media;
  $('preview').hidden = false;
  pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
  session = new Session(`/whip/${stream}`, token);
  await session.start(pc);
  setStatus('connecting…');
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === 'connected') {
      page.publishing = stream;
      setStatus(`live: ${stream}`);
    } else if (pc && ['failed', 'closed'].includes(pc.connectionState)) {
      setStatus(`connection ${pc.connectionState}`);
    }
  };
}

function stop() {
  if (session) session.stop();
  if (pc) pc.close();
  if (media) media.getTracks().forEach((t) => t.stop());
  session = pc = media = null;
  page.publishing = null;
  $('preview').srcObject = null;
  $('preview').hidden = true;
  $('publish-start').disabled = false;
  $('publish-stop').disabled = true;
  setStatus('not publishing');
}

$('publish-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const stream = $('stream').value.trim().split('/').map(encodeURIComponent).join('/');
  $('publish-start').disabled = true;
  $('publish-stop').disabled = false;
  setStatus('starting…');
  publish(stream, $('token').value).catch((err) => {
    page.error = err.message;
    stop();
    setStatus(`error: ${err.message}`);
  });
});
$('publish-stop').addEventListener('click', stop);
window.addEventListener('pagehide', () => { if (session) session.stop(); });

// copyButton makes a button that copies text to the clipboard.
function copyButton(text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = 'copy';
  b.addEventListener('click', () => {
    navigator.clipboard.writeText(text).then(() => { b.textContent = 'copied'; }, () => { b.textContent = 'select it'; });
    setTimeout(() => { b.textContent = 'copy'; }, 1500);
  });
  return b;
}

function cell(...children) {
  const td = document.createElement('td');
  td.append(...children);
  return td;
}

function urlLine(label, url) {
  const div = document.createElement('div');
  const code = document.createElement('code');
  code.textContent = url;
  div.append(`${label} `, code, ' ', copyButton(url));
  return div;
}

async function refresh() {
  const res = await fetch('/api/streams', { cache: 'no-store' });
  if (!res.ok) return;
  const { streams } = await res.json();
  const body = $('streams').querySelector('tbody');
  body.replaceChildren();
  for (const s of streams) {
    const tr = document.createElement('tr');
    const open = document.createElement('a');
    open.href = s.urls.player;
    open.target = '_blank';
    open.textContent = s.path;
    const viewers = Object.entries(s.viewers).map(([p, n]) => `${p} ${n}`).join(', ');
    tr.append(cell(open), cell(s.publisher), cell(viewers),
      cell(urlLine('RTMP', s.urls.rtmp), urlLine('WHEP', s.urls.whep), urlLine('page', s.urls.player)));
    body.append(tr);
  }
  $('streams').hidden = streams.length === 0;
  $('streams-empty').hidden = streams.length > 0;
}

$('ffmpeg-hint').textContent = $('ffmpeg-hint').textContent.replace('HOST', location.hostname);
refresh().catch(() => {});
setInterval(() => refresh().catch(() => {}), 2000);
