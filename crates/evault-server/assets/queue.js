// Captures wait in IndexedDB until the server acknowledges a durable entry:
// they survive a lost connection, a reload or a closed tab. Uploads go in
// capture order, one at a time, retried with backoff; a capture is deleted
// from the device only after the server's acknowledgement.
import { call, ApiError } from './api.js';

const DB = 'evault-station';
let db;

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

export async function open() {
  db = await new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore('captures', { keyPath: 'qseq', autoIncrement: true });
      r.result.createObjectStore('recordings', { keyPath: 'upload' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  // Ask the browser not to evict the queue under storage pressure.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
}

function store(name, mode = 'readonly') { return db.transaction(name, mode).objectStore(name); }

export const captures = {
  add: (item) => req(store('captures', 'readwrite').add({ ...item, state: 'waiting' })),
  all: () => req(store('captures').getAll()),
  put: (item) => req(store('captures', 'readwrite').put(item)),
  remove: (qseq) => req(store('captures', 'readwrite').delete(qseq)),
};

export const recordings = {
  put: (r) => req(store('recordings', 'readwrite').put(r)),
  all: () => req(store('recordings').getAll()),
  remove: (upload) => req(store('recordings', 'readwrite').delete(upload)),
};

const enc = encodeURIComponent;
const note = (item) => (item.note ? { 'x-evault-note': enc(item.note) } : {});

/** Sends one capture; resolves with the server's answer. */
function send(item) {
  switch (item.type) {
    case 'file':
      return call('POST', `/api/v1/orders/${enc(item.order)}/evidence`, {
        headers: {
          'x-evault-name': enc(item.name), 'x-evault-kind': item.kind, ...note(item),
          'x-evault-device-sha256': item.sha256, 'x-evault-device-time': item.deviceTime,
          'idempotency-key': item.capture, ...(item.frameOf ? { 'x-evault-frame-of': item.frameOf } : {}),
        },
        body: item.blob,
      });
    case 'slice':
      return call('PUT', `/api/v1/uploads/${enc(item.upload)}/${item.n}`, {
        headers: { 'x-evault-device-sha256': item.sha256 }, body: item.blob,
      });
    case 'finish':
      return call('POST', `/api/v1/orders/${enc(item.order)}/uploads/${enc(item.upload)}/finish`, {
        headers: {
          'x-evault-name': enc(item.name), 'x-evault-kind': 'packing-video', ...note(item),
          'x-evault-device-sha256': item.sha256, 'x-evault-device-time': item.deviceTime,
          'x-evault-slices': String(item.slices),
        },
      });
    default:
      return Promise.reject(new ApiError(400, 'unknown', `unknown capture type ${item.type}`));
  }
}

/** Whether the server answers that this device's login has ended. */
async function loggedOut() {
  try {
    await call('GET', '/api/v1/session');
    return false;
  } catch (e) {
    return e.status === 401;
  }
}

/** Works through the queue; tells `hooks` what happens. */
export class Uploader {
  constructor(hooks) {
    this.hooks = hooks; // { changed(waiting, failed, offline), acked(item, answer), authLost() }
    this.running = false;
    this.delay = 0;
    this.offline = false;
    this.paused = false;
    window.addEventListener('online', () => this.kick(true));
    setInterval(() => this.kick(), 5000);
  }

  async report() {
    const all = await captures.all();
    const failed = all.filter((c) => c.state === 'failed');
    this.hooks.changed(all.length - failed.length, failed, this.offline);
  }

  async kick(now = false) {
    if (now) this.delay = 0;
    if (this.running || this.paused) return;
    this.running = true;
    try {
      for (;;) {
        const next = (await captures.all()).find((c) => c.state === 'waiting');
        if (!next) break;
        try {
          const answer = await send(next);
          await captures.remove(next.qseq);
          this.offline = false;
          this.delay = 0;
          this.hooks.acked(next, answer);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          if (e.status === 401) { this.paused = true; this.hooks.authLost(); break; }
          if (e.transient) {
            this.offline = e.status === 0;
            // Say why the queue waits when the server said so (a full disk, a read-only vault).
            if (e.status >= 500 && this.hooks.problem) this.hooks.problem(e.message);
            // A server that refuses a request before reading its body closes the
            // connection, which a browser reports as a network error: ask whether
            // the login is still good before calling it offline.
            if (this.offline && (await loggedOut())) { this.paused = true; this.hooks.authLost(); break; }
            this.delay = Math.min(30000, Math.max(1000, this.delay * 2));
            await this.report();
            await new Promise((r) => setTimeout(r, this.delay));
            continue;
          }
          // Refused for good (too large, bad data): kept on the device, shown, skipped.
          await captures.put({ ...next, state: 'failed', error: e.message });
        }
        await this.report();
      }
    } finally {
      this.running = false;
      await this.report();
    }
  }

  async retry(qseq) {
    const item = (await captures.all()).find((c) => c.qseq === qseq);
    if (item) await captures.put({ ...item, state: 'waiting', error: undefined });
    this.kick(true);
  }
}
