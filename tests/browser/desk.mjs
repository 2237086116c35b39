// Drives Debian's Chromium through the service desk, as an agent would:
// a station account is refused, an anonymous visit is sent to log in; the
// agent finds an order by a fragment of its id, reads its timeline, adds a
// note and an e-mail, retracts an entry, records a Stripe dispute, exports,
// downloads the bundle and one upload file, and checks the bundle. Run by
// tests/desk.rs, which checks the downloads with `evault verify-bundle`,
// `unzip -t` and the summary PDF's text. Prints one JSON object on stdout.
//
// Env: EVAULT_URL, CHROMIUM, SHOTS, ORDER, FRAGMENT, EML (a file to drop), DOWNLOADS.
import { chromium } from 'playwright-core';

const { EVAULT_URL: url, SHOTS: shots, ORDER: order, FRAGMENT: fragment, EML: eml, DOWNLOADS: downloads } = process.env;
const step = (s) => console.error(`step: ${s}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let page;
const fail = async (why) => {
  console.error(`FAILED: ${why}`);
  if (page) {
    console.error(`the page (${page.url()}) showed:\n${await page.innerText('body').catch(() => '')}`);
    await page.screenshot({ path: `${shots}/desk-failure.png`, fullPage: true }).catch(() => {});
  }
  await browser.close();
  process.exit(1);
};
const expect = (cond, why) => { if (!cond) throw new Error(why); };

// Both widths of every page: a desktop and a phone.
const shoot = async (name) => {
  await page.screenshot({ path: `${shots}/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });
};

const login = async (user, station) => {
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', `password-${user}`);
  await page.fill('input[name=station]', station);
  await page.click('button[type=submit]');
};

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('console', (m) => console.error(`page ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const result = {};

  step('an anonymous visit is sent to the login page, and back after it');
  await page.goto(`${url}/orders`);
  await page.waitForURL(/\/login\?next=/);

  step('a station account sees none of the desk (403)');
  await login('mei', 'pack-01');
  await page.waitForURL('**/orders');
  for (const path of ['/desk', '/orders', `/orders/${encodeURIComponent(order)}`, '/check']) {
    const r = await page.goto(`${url}${path}`);
    expect(r.status() === 403, `${path} answered ${r.status()} to a station account`);
    expect((await page.textContent('#forbidden')).includes('mei is a station account'), 'the 403 page names the account');
  }
  result.station_refused = true;
  await context.clearCookies();

  step('the agent logs in and lands on the disputes due');
  await page.goto(`${url}/`);
  await page.waitForURL('**/login');
  await login('lin', 'desk-berlin');
  await page.waitForURL('**/desk');
  result.disputes = await page.$$eval('#disputes tbody tr', (rows) => rows.map((r) => ({
    order: r.dataset.order, urgency: r.className, text: r.innerText.replace(/\s+/g, ' ').trim(),
  })));
  await shoot('desk-disputes');

  step('find the order by a fragment of its id');
  await page.click('nav a[href="/orders"]');
  await page.fill('input[name=q]', fragment);
  await page.click('form.search button[type=submit]');
  await page.waitForSelector('#orders');
  result.found = await page.$$eval('#orders tbody tr td:first-child', (tds) => tds.map((t) => t.innerText.trim()));
  await shoot('desk-orders');
  await page.click(`#orders a:text-is("${order}")`);
  await page.waitForSelector('#timeline');
  await page.waitForSelector('#verify-status.ok', { timeout: 60000 });

  step('add a note');
  await page.fill('#note-form input[name=text]', 'Buyer called: parcel left with a neighbour');
  await Promise.all([page.waitForEvent('load'), page.click('#note-form button[type=submit]')]);
  await page.waitForSelector('#timeline li.note');

  step('drop an e-mail the agent received');
  await page.selectOption('#drop-kind', 'email');
  await Promise.all([page.waitForEvent('load', { timeout: 60000 }), page.setInputFiles('#drop-input', eml)]);
  await page.waitForSelector('#timeline li.email');

  step('retract an entry, with a confirm step');
  const note = page.locator('#timeline li.note button.retract').first();
  await note.click();
  await page.waitForSelector('#retract-dialog[open]');
  await page.fill('#retract-form input[name=reason]', 'noted on the wrong order');
  await page.screenshot({ path: `${shots}/desk-retract-desktop.png` });
  await Promise.all([page.waitForEvent('load'), page.click('#retract-form button[type=submit]')]);
  await page.waitForSelector('#timeline li.retracted');
  result.retracted = await page.$$eval('#timeline li.retracted', (li) => li.map((l) => l.innerText.replace(/\s+/g, ' ')));

  step('full re-hash on request');
  await page.click('#verify-full');
  await page.waitForSelector('#verify-status.ok');
  await page.waitForFunction(() => document.getElementById('verify-status').textContent.includes('SHA-256'));

  step('answer the dispute: record it, then export for Stripe');
  await page.click('#answer');
  await page.waitForSelector('#dispute-form');
  await page.selectOption('#dispute-form select[name=platform]', 'stripe');
  await page.selectOption('#dispute-form select[name=reason]', 'not-received');
  await page.fill('#dispute-form input[name=case_id]', 'dp_1QX9k2');
  await page.fill('#dispute-form input[name=amount]', '49.90 USD');
  await page.fill('#dispute-form input[name=due]', '2026-12-20');
  await Promise.all([page.waitForEvent('load'), page.click('#dispute-form button[type=submit]')]);
  await page.waitForSelector('#export-form button[type=submit]:not([disabled])');
  result.statement = await page.inputValue('#statement');
  result.limits = await page.textContent('#limits');
  await shoot('desk-answer');
  await page.selectOption('#profile', 'stripe');
  await page.click('#export-form button[type=submit]');
  await page.waitForURL('**/exports/**');
  await page.waitForSelector('#export-done', { timeout: 120000 });
  result.uploads = await page.$$eval('#uploads li', (li) => li.map((l) => ({
    name: l.dataset.name, bytes: Number(l.dataset.bytes), pages: l.dataset.pages ? Number(l.dataset.pages) : null,
  })));
  result.fit_rows = await page.$$eval('#fit tbody tr', (r) => r.length);
  await page.waitForTimeout(500);
  await shoot('desk-export');

  step('download the bundle and the first upload file');
  const [zip] = await Promise.all([page.waitForEvent('download'), page.click('#bundle')]);
  result.bundle = `${downloads}/${zip.suggestedFilename()}`;
  await zip.saveAs(result.bundle);
  const [first] = await Promise.all([page.waitForEvent('download'), page.click('#uploads li:first-child a')]);
  result.first_upload = `${downloads}/${first.suggestedFilename()}`;
  await first.saveAs(result.first_upload);

  step('the order page after the export: its timeline, for comparison with the PDF');
  await page.goto(`${url}/orders/${encodeURIComponent(order)}`);
  await page.waitForSelector('#verify-status.ok');
  result.timeline = await page.$$eval('#timeline li[data-pdf]', (li) => li.map((l) => ({
    when: l.querySelector('.when').innerText.trim(), what: l.querySelector('.what').innerText.trim(), seq: Number(l.dataset.seq),
  })));
  result.log_rows = await page.$$eval('#timeline li:not([data-pdf])', (li) => li.map((l) => l.dataset.kind));
  await shoot('desk-order');

  step('check the downloaded bundle');
  await page.click('nav a[href="/check"]');
  await page.setInputFiles('#check-form input[name=bundle]', result.bundle);
  await page.click('#check-form button[type=submit]');
  await page.waitForSelector('#check-report:not([hidden])');
  result.check = await page.textContent('#check-verdict');
  await shoot('desk-check');

  step('the disputes due no longer list the answered dispute');
  await page.goto(`${url}/desk`);
  result.disputes_after = await page.$$eval('#disputes tbody tr', (rows) => rows.map((r) => r.dataset.order)).catch(() => []);

  console.log(JSON.stringify(result));
  await browser.close();
} catch (e) {
  await fail(e.stack || String(e));
}
