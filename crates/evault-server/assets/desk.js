// The service desk's pages: forms post JSON to the API (with the session's
// CSRF token), files are sent as they are, and long work is polled.
const csrf = document.querySelector('meta[name="csrf"]')?.content || '';
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

async function call(method, path, { json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (method !== 'GET') h['x-csrf-token'] = csrf;
  if (json !== undefined) { h['content-type'] = 'application/json'; body = JSON.stringify(json); }
  let r;
  try {
    r = await fetch(path, { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new Error('The server cannot be reached. Check the connection and try again.');
  }
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search)); }
  if (!r.ok) throw Object.assign(new Error(data.message || `the server answered ${r.status}`), { code: data.code });
  return data;
}

function showError(form, message) {
  const p = $('.form-error', form);
  if (p) { p.textContent = message; p.hidden = !message; }
}

// Forms: <form data-api="POST /api/v1/..." data-done="reload|job">
for (const form of $$('form[data-api]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [method, path] = form.dataset.api.split(' ');
    const json = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.dataset.type === 'bool') json[el.name] = el.checked;
      else if (el.dataset.type === 'number') json[el.name] = Number(el.value);
      else if (el.value.trim() !== '') json[el.name] = el.value;
    }
    const button = $('button[type="submit"]', form);
    button.disabled = true;
    showError(form, '');
    try {
      const r = await call(method, path, { json });
      if (form.dataset.done === 'job') location.assign('/exports/' + encodeURIComponent(r.job));
      else location.reload();
    } catch (e) {
      showError(form, e.message);
      button.disabled = false;
    }
  });
}

$('#logout')?.addEventListener('click', async () => {
  await call('DELETE', '/api/v1/session').catch(() => {});
  location.assign('/login');
});

// Retracting: a confirm step with the reason.
const dialog = $('#retract-dialog');
for (const b of $$('button.retract')) {
  b.addEventListener('click', () => {
    const form = $('#retract-form');
    form.seq.value = b.dataset.seq;
    $('#retract-seq').textContent = b.dataset.seq;
    $('#retract-what').textContent = b.dataset.what;
    showError(form, '');
    dialog.showModal();
    form.reason.focus();
  });
}
$('#retract-cancel')?.addEventListener('click', () => dialog.close());

// The order's integrity: a fast check on open, a full re-hash on request.
const verifyBox = $('#verify');
async function verify(full) {
  const status = $('#verify-status');
  const list = $('#verify-findings');
  status.className = 'verify-status checking';
  status.textContent = full ? 'Re-hashing every file with SHA-256 and BLAKE3…' : 'Checking the log and re-hashing every file (BLAKE3)…';
  list.replaceChildren();
  try {
    const r = await call('GET', `/api/v1/orders/${verifyBox.dataset.order}/verify${full ? '?full=true' : ''}`);
    const problems = r.findings.filter((f) => f.severity === 'problem');
    status.className = 'verify-status ' + (r.ok ? 'ok' : 'bad');
    status.textContent = r.ok
      ? `Intact: the log's chain holds and every file matches its recorded ${full ? 'SHA-256 and BLAKE3' : 'BLAKE3'}.`
      : `${problems.length} problem(s) found: this order's records were changed outside evault.`;
    for (const f of r.findings) {
      const li = document.createElement('li');
      li.className = f.severity;
      li.dataset.code = f.code;
      li.textContent = f.text;
      list.append(li);
    }
  } catch (e) {
    status.className = 'verify-status bad';
    status.textContent = e.message;
  }
}
if (verifyBox) {
  verify(false);
  $('#verify-full').addEventListener('click', () => verify(true));
}

// Adding files by drag and drop.
const drop = $('#dropzone');
async function send(files) {
  const list = $('#drop-list');
  const kind = $('#drop-kind').value;
  let ok = 0;
  for (const file of files) {
    const li = document.createElement('li');
    li.textContent = `${file.name}: sending…`;
    list.append(li);
    const headers = { 'x-evault-name': encodeURIComponent(file.name), 'content-type': 'application/octet-stream' };
    if (kind) headers['x-evault-kind'] = kind;
    try {
      const r = await call('POST', `/api/v1/orders/${drop.dataset.order}/evidence`, { body: file, headers });
      li.textContent = `${file.name}: ${r.status === 'already-recorded' ? 'already recorded as' : 'recorded as'} entry ${r.entry.seq}`;
      li.className = 'ok';
      ok += 1;
    } catch (e) {
      li.textContent = `${file.name}: not recorded: ${e.message}`;
      li.className = 'bad';
    }
  }
  if (ok === files.length) setTimeout(() => location.reload(), 600);
}
if (drop) {
  for (const t of ['dragenter', 'dragover']) drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); send([...e.dataTransfer.files]); });
  $('#drop-input').addEventListener('change', (e) => send([...e.target.files]));
}

// The export form: the profile's limits, the reason's statement template.
const profile = $('#profile');
if (profile) {
  const limits = () => { $('#limits').textContent = profile.selectedOptions[0]?.dataset.limits || ''; };
  profile.addEventListener('change', limits);
  limits();
  const reason = $('#reason');
  const statement = $('#statement');
  let edited = false;
  statement.addEventListener('input', () => { edited = true; });
  reason.addEventListener('change', () => {
    if (!edited) statement.value = reason.selectedOptions[0].dataset.template;
  });
}

// An export running: follow it, then show its result.
const progress = $('#export-progress');
if (progress) {
  const tick = async () => {
    try {
      const r = await call('GET', `/api/v1/exports/${encodeURIComponent(progress.dataset.job)}`);
      if (r.state !== 'running') { location.reload(); return; }
      $('#stage').textContent = r.stage;
      $('#bar').max = Math.max(r.total, 1);
      $('#bar').value = r.done;
    } catch { /* try again */ }
    setTimeout(tick, 500);
  };
  setTimeout(tick, 300);
}

// Checking a bundle.
const check = $('#check-form');
if (check) {
  check.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append('bundle', check.bundle.files[0]);
    if (check.previous.files[0]) body.append('previous', check.previous.files[0]);
    const button = $('button[type="submit"]', check);
    button.disabled = true;
    showError(check, '');
    try {
      const r = await call('POST', check.dataset.upload, { body });
      const box = $('#check-report');
      box.hidden = false;
      const verdict = $('#check-verdict');
      verdict.className = 'verify-status ' + (r.ok ? 'ok' : 'bad');
      verdict.textContent = r.ok
        ? `Intact: every file matches its hashes and the log's chain holds${r.previous ? '; its history extends the earlier bundle' : ''}.`
        : `${r.findings.length} problem(s): this bundle is not as evault wrote it${r.previous ? ', or its history does not extend the earlier bundle' : ''}.`;
      const list = $('#check-findings');
      list.replaceChildren(...r.findings.map((f) => {
        const li = document.createElement('li');
        li.className = 'problem';
        li.dataset.code = f.code;
        li.textContent = f.text;
        return li;
      }));
      $('#check-facts').textContent = `${r.top}: ${r.members} files, ${r.log_entries} log entries checked; ${r.signatures.length} signature(s) and ${r.stamps.length} time-stamp(s) verified.`;
    } catch (e) {
      showError(check, e.message);
    }
    button.disabled = false;
  });
}
