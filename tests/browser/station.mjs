// Drives Debian's Chromium through the station page, as a packer would:
// log in, scan an order with a (simulated) wedge scanner, record the packing
// video with stills, take photos offline, reload, come back online. Run by
// tests/browser.rs, which then checks the vault with `evault log` and `verify`.
//
// Env: EVAULT_URL, CHROMIUM, FAKE_VIDEO (.y4m), SHOTS (screenshot folder).
import { chromium } from 'playwright-core';

const url = process.env.EVAULT_URL;
const shots = process.env.SHOTS;
const step = (s) => console.error(`step: ${s}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${process.env.FAKE_VIDEO}`,
  ],
});
let page;
const fail = async (why) => {
  console.error(`FAILED: ${why}`);
  if (page) {
    const seen = await page.evaluate(() => ['queue', 'message', 'failed', 'entries']
      .map((id) => `${id}: ${document.getElementById(id)?.innerText}`).join('\n')).catch(() => '');
    console.error(`the page showed:\n${seen}`);
    await page.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
  }
  await browser.close();
  process.exit(1);
};

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['camera'], { origin: url });
  page = await context.newPage();
  page.setDefaultTimeout(90000);
  page.on('console', (m) => console.error(`page ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const queueSays = (text, timeout = 90000) => page.waitForFunction(
    (t) => document.getElementById('queue').textContent === t, text, { timeout });
  const scan = async (code) => { await page.keyboard.type(code, { delay: 5 }); await page.keyboard.press('Enter'); };
  // Two shots of the same frame are the same bytes, which an order records once:
  // on a loaded machine the fake camera may not move between two presses, so wait until it has.
  const nextFrame = async () => {
    const t = await page.evaluate(() => document.getElementById('preview').currentTime);
    await page.waitForFunction((t0) => document.getElementById('preview').currentTime > t0 + 0.1, t);
  };

  step('an anonymous visit is sent to the login page');
  await page.goto(`${url}/station`);
  await page.waitForURL('**/login');
  await page.screenshot({ path: `${shots}/login-desktop.png` });

  step('log in');
  await page.fill('input[name=user]', 'mei');
  await page.fill('input[name=password]', 'password-mei');
  await page.fill('input[name=station]', 'pack-01');
  await page.click('button[type=submit]');
  await page.waitForURL('**/station');
  await page.waitForFunction(() => !document.getElementById('shutter').disabled, null, { timeout: 90000 });

  step('scan an order with the wedge scanner: the video starts');
  await scan('SO-B1');
  await page.waitForFunction(() => document.getElementById('order-id').textContent === 'SO-B1');
  await page.waitForSelector('#rec:not([hidden])');
  await page.waitForTimeout(2500);
  step('two stills while recording');
  await nextFrame();
  await page.click('#shutter');
  await page.waitForTimeout(1200);
  await nextFrame();
  await page.keyboard.press('Space');
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${shots}/station-desktop-recording.png` });
  step('scan the same order again: the video stops');
  await scan('SO-B1');
  await page.waitForSelector('#rec', { state: 'hidden' });
  await queueSays('all saved');
  await page.waitForFunction(() => document.querySelectorAll('#entries li:not(.empty)').length === 5, null, { timeout: 90000 });

  step('offline: two photos wait on the device');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 90000 });
  await context.setOffline(true);
  await page.click('#checklist li:nth-child(4) button');
  await nextFrame();
  await page.click('#shutter');
  await page.waitForTimeout(400);
  await nextFrame();
  await page.click('#shutter');
  await queueSays("2 waiting · offline");
  step('reload while offline: the page comes from the cache, the queue from IndexedDB');
  await page.reload();
  await page.waitForFunction(() => document.getElementById('queue').textContent.startsWith('2 waiting'), null, { timeout: 90000 });
  await page.screenshot({ path: `${shots}/station-desktop-offline.png` });
  step('online again: everything uploads once');
  await context.setOffline(false);
  await queueSays('all saved');
  await page.waitForFunction(() => document.querySelectorAll('#entries li:not(.empty)').length === 7, null, { timeout: 90000 });
  const thumbnails = () => page.waitForFunction(() => [...document.querySelectorAll('#entries img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  await thumbnails();
  await page.screenshot({ path: `${shots}/station-desktop.png` });

  step('phone size');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await thumbnails();
  await page.screenshot({ path: `${shots}/station-phone.png` });
  await page.screenshot({ path: `${shots}/station-phone-full.png`, fullPage: true });
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${url}/login`);
  await phone.screenshot({ path: `${shots}/login-phone.png` });

  step('no BarcodeDetector here: the server reads the label in the camera for the next order');
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.click('#read-label');
  await page.waitForFunction(() => document.getElementById('order-id').textContent === 'SO-B2');
  await page.waitForSelector('#rec:not([hidden])');
  await page.waitForTimeout(2500);
  await page.click('#close-order');
  await page.waitForSelector('#rec', { state: 'hidden' });
  await queueSays('all saved');

  step('log out');
  await page.click('#logout');
  await page.waitForURL('**/login');
  await browser.close();
  console.log('ok');
} catch (e) {
  await fail(e.stack || String(e));
}
