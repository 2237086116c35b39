// Order barcodes: a USB keyboard-wedge scanner (a burst of keys ending with
// Enter, far faster than typing), or the camera where the browser has
// BarcodeDetector. The same code again within 2 s is one scan.
const MAX_GAP_MS = 50;   // scanners send a key every few ms; people take 100+
const MIN_LENGTH = 4;
const REPEAT_MS = 2000;

export function listen(onScan, { ignore = () => false } = {}) {
  let buffer = '';
  let last = 0;
  let lastScan = { code: '', at: 0 };
  const fire = (code) => {
    const now = performance.now();
    if (code === lastScan.code && now - lastScan.at < REPEAT_MS) return;
    lastScan = { code, at: now };
    onScan(code);
  };
  document.addEventListener('keydown', (e) => {
    if (ignore(e)) return;
    const now = performance.now();
    if (now - last > MAX_GAP_MS) buffer = '';
    last = now;
    if (e.key === 'Enter') {
      if (buffer.length >= MIN_LENGTH) {
        e.preventDefault();
        fire(buffer);
      }
      buffer = '';
    } else if (e.key.length === 1) {
      buffer += e.key;
    }
  }, true);
  return { fire };
}

/** Watches a <video> for barcodes with BarcodeDetector; false when the browser has none. */
export async function watchCamera(video, onScan) {
  if (!('BarcodeDetector' in window)) return false;
  let detector;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    detector = new window.BarcodeDetector({ formats });
  } catch { return false; }
  // A label stays in view: its code counts again only after it was out of view for 3 s.
  let seen = { code: '', at: 0 };
  const tick = async () => {
    if (video.readyState >= 2) {
      try {
        const codes = await detector.detect(video);
        const code = codes.length ? codes[0].rawValue.trim() : '';
        const now = performance.now();
        if (code && (code !== seen.code || now - seen.at > 3000)) onScan(code);
        if (code) seen = { code, at: now };
      } catch { /* a frame that cannot be read */ }
    }
    setTimeout(tick, 400);
  };
  tick();
  return true;
}
