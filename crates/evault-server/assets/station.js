// The packing station: scan an order, take the checklist photos, record one
// packing video per order (with stills at each scan and shutter press). Every
// capture is hashed here, queued on the device, and shown as recorded only
// once the server has acknowledged it.
import { call, session, useCsrf } from './api.js';
import { Sha256, sha256Hex } from './sha256.js';
import * as queue from './queue.js';
import { listen, watchCamera } from './scanner.js';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const pad = (n) => String(n).padStart(2, '0');
const clock = (ms) => `${pad(Math.floor(ms / 60000))}:${pad(Math.floor(ms / 1000) % 60)}`;
const stamp = (d = new Date()) => `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;

let config;
let order = null;            // the open order id
let selected = 0;            // checklist item the next photo is for
let taken = new Map();       // checklist id -> count, for the open order (acknowledged)
let stream = null;
let recording = null;        // { recorder, upload, order, started, n, hasher, chain, mime }
let uploader;

function say(text, tone = '') {
  const m = $('message');
  delete m.dataset.offline;
  delete m.dataset.backOnline;
  m.textContent = text;
  m.className = `message ${tone}`;
}

// ---- Camera -----------------------------------------------------------------

async function startCamera() {
  const video = $('preview');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return noCamera(window.isSecureContext ? 'This browser gives pages no camera.' : 'The camera needs a secure (https) page.');
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1440 } }, audio: false,
    });
  } catch (e) {
    return noCamera(`No camera: ${e.message || e.name}.`);
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  $('shutter').disabled = false;
  $('record').disabled = !window.MediaRecorder;
  // Without BarcodeDetector (desktop Chromium, Firefox, Safari) the server reads the label.
  if (!(await watchCamera(video, onScan))) $('read-label').hidden = false;
}

function noCamera(why) {
  $('no-camera').hidden = false;
  $('no-camera-why').textContent = `${why} Photos can still be taken with the camera app.`;
  $('shutter').disabled = true;
  $('record').disabled = true;
}

function grab() {
  const video = $('preview');
  if (!stream || !video.videoWidth) return Promise.resolve(null);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  const f = $('flash');
  f.classList.add('on');
  setTimeout(() => f.classList.remove('on'), 60);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
}

// ---- Captures ---------------------------------------------------------------

async function queuePhoto(blob, { frameOf = null, why = null, ext = 'jpg' } = {}) {
  if (!order) { say('Scan an order first.', 'warn'); return; }
  if (blob.size > config.limits.file_bytes) { say('That photo is larger than the server accepts.', 'bad'); return; }
  const item = config.checklist[selected] || { id: 'photo', label: 'Photo', kind: 'packing-photo' };
  const now = new Date();
  const notes = [`Checklist: ${item.label}`];
  if (why) notes.push(why);
  await queue.captures.add({
    type: 'file', order, blob, kind: item.kind, checklist: item.id,
    name: `${item.id}-${stamp(now)}.${ext}`, note: notes.join('. '),
    sha256: await sha256Hex(blob), deviceTime: now.toISOString(), capture: crypto.randomUUID(), frameOf,
  });
  // On to the next photo still missing.
  const next = config.checklist.findIndex((c, i) => i > selected && !taken.get(c.id));
  if (next >= 0) selected = next;
  renderChecklist(item.id);
  uploader.kick(true);
}

async function shutter(why = null) {
  const blob = await grab();
  if (!blob) return;
  const frameOf = recording ? `${recording.upload}@${Math.round(performance.now() - recording.started)}` : null;
  const offset = recording ? clock(performance.now() - recording.started) : null;
  await queuePhoto(blob, { frameOf, why: offset ? `${why || 'Still'} at ${offset} of the packing video` : why });
}

// ---- Packing video ----------------------------------------------------------

function pickMime() {
  for (const t of ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4']) {
    if (MediaRecorder.isTypeSupported(t)) return t;
  }
  return '';
}

function startRecording() {
  if (!stream || !window.MediaRecorder || recording || !order) return;
  const mime = pickMime();
  const recorder = new MediaRecorder(stream, { mimeType: mime, videoBitsPerSecond: 2_500_000 });
  const now = new Date();
  const r = {
    recorder, upload: crypto.randomUUID(), order, started: performance.now(), startIso: now.toISOString(),
    name: `packing-video-${stamp(now)}.${mime.includes('mp4') ? 'mp4' : 'webm'}`, n: 0,
    hasher: new Sha256(), chain: Promise.resolve(), mime,
  };
  recording = r;
  // A slice that cannot be kept (device storage full) is said at once; the chain goes on.
  const kept = (p) => p.catch((e) => say(`Part of the video could not be kept on this device: ${e.message}`, 'bad'));
  recorder.ondataavailable = (e) => {
    if (!e.data.size) return;
    r.chain = kept(r.chain.then(() => queueSlice(r, e.data)));
  };
  recorder.onstop = () => { r.chain = kept(r.chain.then(() => queueFinish(r))); };
  recorder.start(2000);
  queue.recordings.put(saved(r));
  $('rec').hidden = false;
  $('record').textContent = 'Stop video';
  $('record').classList.add('recording');
  tickRec();
}

const saved = (r) => ({ upload: r.upload, order: r.order, startIso: r.startIso, name: r.name, slices: r.n, hash: r.hasher.save() });

async function queueSlice(r, blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  r.hasher.update(bytes);
  await queue.captures.add({ type: 'slice', upload: r.upload, order: r.order, n: r.n, blob, sha256: await sha256Hex(bytes) });
  r.n += 1;
  await queue.recordings.put(saved(r));
  uploader.kick();
}

async function queueFinish(r, note = null) {
  await queue.captures.add({
    type: 'finish', upload: r.upload, order: r.order, name: r.name, slices: r.n, note,
    sha256: r.hasher.hex(), deviceTime: r.startIso,
  });
  await queue.recordings.remove(r.upload);
  uploader.kick(true);
}

function stopRecording() {
  if (!recording) return Promise.resolve();
  const r = recording;
  recording = null;
  $('rec').hidden = true;
  $('record').textContent = 'Record video';
  $('record').classList.remove('recording');
  return new Promise((resolve) => {
    r.recorder.addEventListener('stop', () => setTimeout(() => r.chain.then(resolve), 0), { once: true });
    r.recorder.stop();
  });
}

function tickRec() {
  if (!recording) return;
  $('rec-time').textContent = clock(performance.now() - recording.started);
  setTimeout(tickRec, 500);
}

/** A recording cut short by a reload or a closed tab is finished from its saved hash state. */
async function recoverRecordings() {
  for (const r of await queue.recordings.all()) {
    if (!r.slices) { await queue.recordings.remove(r.upload); continue; }
    await queueFinish({ ...r, n: r.slices, hasher: new Sha256(r.hash) }, 'Recording cut short: the page was closed or reloaded');
  }
}

// ---- Labels read by the server ----------------------------------------------

async function readLabel(blob) {
  if (!blob) return;
  say('Reading the label…');
  try {
    const { codes } = await call('POST', '/api/v1/labels/read', { body: blob });
    const texts = codes.map((c) => c.text);
    if (!texts.length) { say('No barcode found: hold the label flat and closer, or type the order id.', 'warn'); return; }
    if (texts.length === 1) { await onScan(texts[0]); return; }
    // A label carries several codes (order, tracking, postcode): the packer picks.
    const m = $('message');
    m.className = 'message';
    m.replaceChildren('Which one is the order? ', ...texts.map((t) => el('button', { type: 'button', class: 'secondary', onclick: () => onScan(t) }, t)));
  } catch (e) {
    say(`The label could not be read: ${e.message}`, 'bad');
  }
}

// ---- Orders -----------------------------------------------------------------

async function onScan(code) {
  if (code === order) {
    if (recording) {
      await shutter('Closing scan');
      await stopRecording();
      say('Video stopped. Scan the next order.', 'ok');
    } else {
      say(`${code} is already open.`);
    }
    return;
  }
  await openOrder(code);
}

async function openOrder(code, { record = true } = {}) {
  const id = code.trim();
  if (!id) return;
  if (order) await closeOrder();
  order = id;
  localStorage.setItem('evault.order', id);
  taken = new Map();
  selected = 0;
  $('order-id').textContent = id;
  $('order-box').className = 'order-box open';
  $('close-order').hidden = false;
  $('manual-id').value = '';
  say(`Order ${id} open.`, 'ok');
  renderChecklist();
  await refreshEntries();
  if (record && stream && window.MediaRecorder) {
    startRecording();
    await shutter('Opening scan');
  }
}

async function closeOrder() {
  if (!order) return;
  if (recording) { await shutter('Closing scan'); await stopRecording(); }
  const missing = config.checklist.filter((c) => !taken.get(c.id)).map((c) => c.label);
  say(missing.length ? `${order} closed without: ${missing.join(', ')}.` : `${order} closed, all photos taken.`, missing.length ? 'warn' : 'ok');
  order = null;
  localStorage.removeItem('evault.order');
  $('order-id').textContent = 'Scan an order barcode';
  $('order-box').className = 'order-box idle';
  $('close-order').hidden = true;
  renderChecklist();
  renderEntries([]);
}

// ---- What the server has acknowledged ----------------------------------------

async function refreshEntries() {
  if (!order) return;
  const current = order;
  try {
    const log = await call('GET', `/api/v1/orders/${encodeURIComponent(current)}`);
    if (current === order) renderEntries(log.entries, log.retracted);
  } catch (e) {
    if (e.code === 'no-such-order' && current === order) renderEntries([]);
    // The network is back but shaky: show what the server has as soon as it answers.
    else if (e.transient && current === order) setTimeout(refreshEntries, 2000);
  }
}

function renderEntries(entries, retracted = []) {
  const list = $('entries');
  list.replaceChildren();
  taken = new Map();
  const files = entries.filter((e) => e.type === 'evidence' && !retracted.includes(e.seq));
  for (const e of files) {
    const id = (e.note || '').match(/^Checklist: ([^.]+)/);
    const item = id && config.checklist.find((c) => c.label === id[1]);
    if (item) taken.set(item.id, (taken.get(item.id) || 0) + 1);
  }
  $('recorded-count').textContent = files.length ? `(${files.length})` : '';
  if (!files.length) list.append(el('li', { class: 'muted empty' }, order ? 'Nothing recorded for this order yet.' : 'No order open.'));
  for (const e of files.slice().reverse()) {
    const url = `/api/v1/orders/${encodeURIComponent(e.order)}/entries/${e.seq}/thumbnail`;
    const thumb = e.image ? el('img', { src: url, alt: '' })
      : el('span', { class: 'icon' }, e.kind === 'packing-video' ? '🎬' : '📄');
    const time = new Date(e.recorded_at).toLocaleTimeString();
    const label = e.kind === 'packing-video' ? 'Packing video' : (e.note || e.kind).replace(/^Checklist: /, '');
    list.append(el('li', {}, thumb, el('div', {}, el('div', { class: 'what' }, `#${e.seq} ${label}`), el('div', { class: 'when' }, `${time} · ${e.kind} · ${Math.ceil(e.size / 1024)} KB`))));
  }
  renderChecklist();
}

function renderChecklist(justTaken = null) {
  const ol = $('checklist');
  ol.replaceChildren();
  config.checklist.forEach((c, i) => {
    // Ticked only once the server acknowledged it; a photo still queued shows as pending.
    const done = taken.get(c.id);
    const pending = !done && justTaken === c.id;
    const b = el('button', { class: `${i === selected ? 'selected' : ''} ${done ? 'done' : ''} ${pending ? 'pending' : ''}`, type: 'button', onclick: () => { selected = i; renderChecklist(); } },
      el('span', { class: 'tick' }, done ? '✓' : (pending ? '…' : String(i + 1))), c.label);
    ol.append(el('li', {}, b));
  });
}

let lastWaiting = 0;
function renderQueue(waiting, failed, offline) {
  // The queue just emptied: the list shows what the server acknowledged.
  if (lastWaiting && !waiting) {
    refreshEntries();
    if ($('message').dataset.backOnline) say('Everything waiting is recorded.', 'ok');
  }
  lastWaiting = waiting;
  const q = $('queue');
  q.textContent = waiting ? `${waiting} waiting${offline ? ' · offline' : ''}` : (failed.length ? `${failed.length} not recorded` : 'all saved');
  q.className = `badge ${waiting ? (offline ? 'offline' : 'waiting') : (failed.length ? 'offline' : 'ok')}`;
  $('failed-box').hidden = !failed.length;
  $('failed').replaceChildren(...failed.map((f) => el('li', {},
    el('div', {}, el('div', { class: 'what' }, `${f.order}: ${f.name || `video slice ${f.n}`}`), el('div', { class: 'when' }, f.error)),
    el('button', { type: 'button', onclick: () => uploader.retry(f.qseq) }, 'Retry'))));
}

// ---- Start ------------------------------------------------------------------

/** The session and station settings: from the server, or (offline) as last seen on this device. */
async function start() {
  try {
    const me = await session();
    if (!me) return null;
    const cfg = await call('GET', '/api/v1/station');
    localStorage.setItem('evault.me', JSON.stringify(me));
    localStorage.setItem('evault.config', JSON.stringify(cfg));
    return { me, cfg, offline: false };
  } catch (e) {
    const me = JSON.parse(localStorage.getItem('evault.me') || 'null');
    const cfg = JSON.parse(localStorage.getItem('evault.config') || 'null');
    if (e.status !== 0 || !me || !cfg) throw e;
    useCsrf(me.csrf);
    return { me, cfg, offline: true };
  }
}

async function main() {
  const started = await start();
  if (!started) { location.assign('/login'); return; }
  const { me } = started;
  config = started.cfg;
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
  $('station-name').textContent = me.station;
  $('user-name').textContent = me.user;
  await queue.open();
  uploader = new queue.Uploader({
    changed: renderQueue,
    problem: (message) => say(`The server cannot record now: ${message}`, 'bad'),
    acked: (item) => {
      if ($('message').dataset.offline) {
        say('Back online: the waiting captures are being recorded.', 'ok');
        $('message').dataset.backOnline = '1';
      }
      if (item.order === order && item.type !== 'slice') refreshEntries();
    },
    authLost: () => { say('Your login has ended: log in again. Captures wait on this device.', 'bad'); setTimeout(() => location.assign('/login'), 2500); },
  });
  renderChecklist();
  listen(onScan);
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && e.target.tagName !== 'INPUT' && e.target.tagName !== 'BUTTON') { e.preventDefault(); shutter(); }
  });
  $('shutter').addEventListener('click', () => shutter());
  $('record').addEventListener('click', () => (recording ? stopRecording() : startRecording()));
  $('close-order').addEventListener('click', () => closeOrder());
  $('manual').addEventListener('submit', (e) => { e.preventDefault(); openOrder($('manual-id').value); });
  $('read-label').addEventListener('click', async () => readLabel(await grab()));
  $('label-input').addEventListener('change', async (e) => {
    if (e.target.files[0]) await readLabel(e.target.files[0]);
    e.target.value = '';
  });
  $('file-input').addEventListener('change', async (e) => {
    for (const f of e.target.files) await queuePhoto(f, { ext: (f.name.split('.').pop() || 'jpg').toLowerCase() });
    e.target.value = '';
  });
  $('logout').addEventListener('click', async () => {
    await stopRecording();
    await call('DELETE', '/api/v1/session').catch(() => {});
    location.assign('/login');
  });
  await recoverRecordings();
  uploader.kick(true);
  await startCamera();
  const reopened = localStorage.getItem('evault.order');
  if (reopened) {
    await openOrder(reopened, { record: false });
    say(`Order ${reopened} reopened after a reload${recording ? '' : '; press Record video to film again'}.`, 'warn');
  }
  if (started.offline) {
    say('Offline: captures wait on this device and upload when the server is back.', 'warn');
    $('message').dataset.offline = '1';
  }
}

main().catch((e) => say(`The station could not start: ${e.message}`, 'bad'));
