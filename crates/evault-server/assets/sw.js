// Keeps the station page loadable when the Wi-Fi drops: the page and its
// scripts come from the network when it answers, else from this cache.
// Captures never pass through here; they wait in IndexedDB (queue.js).
const CACHE = 'evault-station-1';
const SHELL = ['/station', '/assets/app.css', '/assets/station.js', '/assets/api.js', '/assets/queue.js', '/assets/sha256.js', '/assets/scanner.js'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname !== '/station' && !url.pathname.startsWith('/assets/')) return;
  e.respondWith(fetch(e.request)
    .then((r) => {
      if (r.ok && !r.redirected) {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(e.request, copy));
      }
      return r;
    })
    .catch(() => caches.match(e.request, { ignoreSearch: true }).then((r) => r || Response.error())));
});
