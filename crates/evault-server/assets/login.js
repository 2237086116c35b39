// The login form: posts JSON, remembers the station name on this device.
const form = document.getElementById('login');
const error = document.getElementById('error');
form.station.value = localStorage.getItem('evault.station') || '';
(form.station.value ? form.user : form.station).focus();

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { user: form.user.value.trim(), password: form.password.value, station: form.station.value.trim() };
  try {
    const r = await fetch('/api/v1/session', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (r.ok) {
      localStorage.setItem('evault.station', body.station);
      // Back to the page that asked for the login (same origin only), else home.
      const next = new URLSearchParams(location.search).get('next') || '/';
      location.assign(/^\/(?![\/\\])/.test(next) ? next : '/');
      return;
    }
    const e = await r.json().catch(() => ({ message: `the server answered ${r.status}` }));
    error.textContent = e.message;
  } catch (e) {
    error.textContent = 'The server cannot be reached. Check the Wi-Fi and try again.';
  }
  error.hidden = false;
  form.password.select();
});
