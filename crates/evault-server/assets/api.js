// The JSON API as the pages use it: the session's CSRF token on every change,
// errors as {status, code, message}.
let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  /** Worth retrying later (network, server busy, session to renew) rather than a refusal. */
  get transient() { return this.status === 0 || this.status === 401 || this.status === 429 || this.status >= 500; }
}

export async function call(method, path, { headers = {}, body } = {}) {
  const h = { ...headers };
  if (method !== 'GET' && csrf) h['x-csrf-token'] = csrf;
  let r;
  try {
    r = await fetch(path, { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'offline', 'The server cannot be reached (Wi-Fi?). Captures wait on this device.');
  }
  const isJson = (r.headers.get('content-type') || '').startsWith('application/json');
  const data = isJson ? await r.json().catch(() => ({})) : {};
  if (!r.ok) throw new ApiError(r.status, data.code || 'http', data.message || `the server answered ${r.status}`);
  return data;
}

/** Uses a CSRF token kept from an earlier session (the page started offline). */
export function useCsrf(token) { csrf = token; }

/** The session, or null when logged out; keeps its CSRF token. */
export async function session() {
  try {
    const me = await call('GET', '/api/v1/session');
    csrf = me.csrf;
    return me;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
