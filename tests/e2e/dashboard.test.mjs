// The dashboard in a real browser: Debian's chromium, headless, driven by
// puppeteer-core, against the troupe binary with the admin listener on a free
// port and real iii-sdk workers. It reads the queue table and its counts,
// opens a dead job and its error, redrives it and sees it done, pauses a
// queue and sees dispatch stop until resume, and shows a FIFO group blocked
// behind a retry. Screenshots go to the output folder ($TROUPE_E2E_OUTPUT, or
// a kept temp dir), and the queue table also to $TROUPE_SCREENSHOT if set
// (that is how docs/dashboard.png is made).
//
// Without chromium (set CHROMIUM to its path) the tests are skipped, unless
// CI=true, where they fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { enqueue, jobLookup, pauseQueue, queueStats, statsEventually } from './lib/queues.mjs';
import { deferred, eventually, rejection, sleep } from './lib/util.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';
const SKIP = !HAVE_CHROMIUM && !IN_CI ? `no chromium at ${CHROMIUM} (install Debian's chromium or set CHROMIUM)` : false;
if (SKIP) console.log(`dashboard tests skipped: ${SKIP}`);

const ADMIN = /admin listening on (http:\/\/127\.0\.0\.1:\d+)/;
const UI_TIMEOUT = 15000;

const QUEUES = {
  orders: { type: 'standard', max_retries: 1, backoff_ms: 10, concurrency: 4 },
  payment: { type: 'fifo', message_group_field: 'orderId', max_retries: 5, backoff_ms: 60000, concurrency: 4 },
  email: { type: 'standard', max_retries: 3, backoff_ms: 100, concurrency: 5 },
  reports: { type: 'standard', max_retries: 3, backoff_ms: 1000, concurrency: 1 },
};

const env = { engine: null, adminUrl: null, iii: null, browser: null, page: null, outDir: null };
const runs = {}; // function id -> payloads, in call order
const problems = []; // console errors, page errors, CSP refusals
const hold = deferred(); // shop::pack answers once this resolves
const ran = (fn, key, value) => (runs[fn] ?? []).filter((p) => p[key] === value).length;

before(async () => {
  if (SKIP) return;
  if (!HAVE_CHROMIUM) throw new Error(`CI=true and no chromium at ${CHROMIUM}: the dashboard test needs it`);
  const { default: puppeteer } = await import('puppeteer-core');

  const config = engineConfig({ queues: QUEUES });
  config.workers.push({ name: 'troupe-admin', config: { host: '127.0.0.1', port: 0 } });
  env.engine = await startEngine({ config });
  env.adminUrl = await eventually(() => {
    const m = ADMIN.exec(env.engine.logs());
    assert.ok(m, 'the admin listener logged its address');
    return m[1];
  }, { timeoutMs: 10000, intervalMs: 50, what: 'the admin listening line' });

  const record = (fn, behaviour) => async (payload) => {
    (runs[fn] ??= []).push(payload);
    return behaviour(payload, (runs[fn] ?? []).filter((p) => p.n === payload.n).length);
  };
  env.iii = await connectWorker(env.engine.url, {
    name: 'shop-worker',
    functions: {
      // Fails the first time for each order: with one attempt the job dies;
      // a redrive runs it a second time, and that succeeds.
      'shop::charge': record('shop::charge', (p, nth) => {
        if (nth === 1) throw new Error(`card declined for ${p.n}`);
        return { charged: p.amount };
      }),
      'shop::pack': record('shop::pack', async () => {
        await hold.promise;
        return { packed: true };
      }),
      'pay::capture': record('pay::capture', (p) => {
        if (p.orderId === 'ord_17') throw new Error(`gateway timeout capturing ${p.orderId}`);
        return { captured: p.amount };
      }),
      'email::send': record('email::send', (p) => ({ sent: p.to })),
    },
  });

  // A realistic state: dead orders, two in flight, a FIFO group blocked
  // behind its retry, a paused queue whose function has no worker.
  env.dead = [];
  for (const n of ['ord_101', 'ord_102', 'ord_103', 'ord_104', 'ord_105', 'ord_106']) {
    env.dead.push(await enqueue(env.iii, 'orders', 'shop::charge', { n, amount: 42.5 }));
  }
  for (const n of ['box_1', 'box_2']) await enqueue(env.iii, 'orders', 'shop::pack', { n });
  await enqueue(env.iii, 'payment', 'pay::capture', { orderId: 'ord_17', n: 'p1', amount: 10 });
  await enqueue(env.iii, 'payment', 'pay::capture', { orderId: 'ord_17', n: 'p2', amount: 11 });
  await enqueue(env.iii, 'payment', 'pay::capture', { orderId: 'ord_18', n: 'p3', amount: 12 });
  for (let i = 0; i < 6; i++) await enqueue(env.iii, 'email', 'email::send', { n: `welcome_${i}`, to: `user${i}@example.com` });
  await pauseQueue(env.iii, 'reports');
  for (let i = 0; i < 4; i++) await enqueue(env.iii, 'reports', 'reports::build', { n: `r${i}`, day: `2026-12-0${i + 1}` });
  await statsEventually(env.iii, 'orders', (s) => {
    assert.equal(s.dlq, 6);
    assert.equal(s.in_flight, 2);
  });
  await statsEventually(env.iii, 'payment', (s) => assert.equal(s.delayed, 1));
  await statsEventually(env.iii, 'email', (s) => assert.equal(s.succeeded_total, 6));

  env.outDir = process.env.TROUPE_E2E_OUTPUT
    ? path.resolve(process.env.TROUPE_E2E_OUTPUT, 'dashboard')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-e2e-dashboard-'));
  fs.mkdirSync(env.outDir, { recursive: true });
  console.log(`dashboard screenshots in ${env.outDir}`);

  env.browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  env.page = await env.browser.newPage();
  await env.page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
  env.page.setDefaultTimeout(UI_TIMEOUT);
  env.page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The browser logs every 404 it fetches: a finished job's page asks for
    // the job and gets 404 by design, and there is no favicon.
    const url = m.location()?.url ?? '';
    if (/Failed to load resource.*404/.test(m.text()) && /\/api\/jobs\/|\/favicon\.ico$/.test(url)) return;
    problems.push(`console: ${m.text()} (${url})`);
  });
  env.page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  env.page.on('dialog', (d) => d.accept());
});

after(async () => {
  hold.resolve(); // lets the held attempts finish before the engine stops
  await env.browser?.close();
});
cleanUpAfterAll();

const page = () => env.page;

/** Goes to a dashboard route (`#/...`) and waits until its data is shown. */
async function open(route) {
  const key = route.replace(/^#/, '');
  if (page().url().startsWith(env.adminUrl)) {
    await page().evaluate((h) => {
      if (location.hash === h) document.querySelector('#refresh-now').click();
      else location.hash = h;
    }, route);
  } else {
    await page().goto(`${env.adminUrl}/${route}`, { waitUntil: 'domcontentloaded' });
  }
  await page().waitForFunction((k) => document.querySelector('#view').dataset.loaded === k, { timeout: UI_TIMEOUT }, key);
}

/**
 * Clicks `sel` once no refresh is under way: a refresh that brings new data
 * rebuilds the list it shows, and a click must not land in between.
 */
async function click(sel) {
  await page().waitForFunction(() => !document.querySelector('#view').dataset.busy, { timeout: UI_TIMEOUT, polling: 20 });
  await page().waitForSelector(sel);
  await page().click(sel);
}

/** Text of the first element matching `sel`, or null. */
const textOf = (sel) => page().$eval(sel, (el) => el.textContent).catch(() => null);

/** Waits until `sel`'s text satisfies `pred` (a regex, or a string it must equal). */
async function waitText(sel, pred, what) {
  const src = pred instanceof RegExp ? { re: pred.source, flags: pred.flags } : { eq: pred };
  try {
    await page().waitForFunction((s, p) => {
      const el = document.querySelector(s);
      if (!el) return false;
      const t = el.textContent.trim();
      return p.eq !== undefined ? t === p.eq : new RegExp(p.re, p.flags).test(t);
    }, { timeout: UI_TIMEOUT, polling: 100 }, sel, src);
  } catch (err) {
    throw new Error(`${what ?? sel}: wanted ${pred}, saw ${JSON.stringify(await textOf(sel))} (${err.message})`);
  }
}

const cell = (queue, col) => `#queues tr[data-queue="${queue}"] td[data-col="${col}"]`;

test('the queue table shows every queue with its counts, a paused badge and a missing worker', { skip: SKIP, timeout: 40000 }, async () => {
  const res = await page().goto(`${env.adminUrl}/`, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'self'/);
  await page().waitForSelector('#queues tbody tr');
  const names = await page().$$eval('#queues tbody tr', (rows) => rows.map((r) => r.dataset.queue));
  for (const q of Object.keys(QUEUES)) assert.ok(names.includes(q), `queue ${q} in ${names}`);

  await waitText(cell('orders', 'dead'), '6', 'dead orders');
  await waitText(cell('orders', 'in_flight'), '2', 'orders in flight');
  await waitText(cell('payment', 'delayed'), '1', 'payment delayed');
  await waitText(cell('reports', 'waiting'), '4', 'reports waiting');
  const fifo = await page().$$eval('#queues tr[data-queue="payment"] td', (tds) => tds.map((t) => t.textContent.trim()));
  assert.equal(fifo[0], 'fifo');
  assert.equal(fifo[1], 'orderId');
  assert.equal(fifo[2], '4', 'concurrency');
  await waitText(cell('reports', 'state'), /Paused/, 'reports paused badge');
  await waitText(cell('reports', 'state'), /No worker for reports::build/, 'the unserved warning');
  await waitText(cell('email', 'state'), /^Running$/, 'email is running and served');
  await waitText('#warnings', /reports: reports::build/, 'the warning above the table');

  // The same figures as the engine's own stats.
  const s = await queueStats(env.iii, 'orders');
  assert.equal(await textOf(cell('orders', 'dead')), String(s.dlq));
  assert.equal(await textOf(cell('orders', 'waiting')), String(s.waiting));
});

test('a dead job shows its error; redriving it runs it again and it is done', { skip: SKIP, timeout: 40000 }, async () => {
  const [id] = env.dead;
  await click(`${cell('orders', 'dead')} a`);
  await page().waitForSelector(`#jobs tr[data-id="${id}"]`);
  assert.equal(await page().$$eval('#jobs tbody tr', (r) => r.length), 6);
  assert.match(await textOf(`#jobs tr[data-id="${id}"] td.error`), /card declined for ord_101/);

  await click(`#jobs tr[data-id="${id}"] a[href^="#/jobs/"]`);
  await waitText('[data-field="state"]', 'Dead', 'the job state');
  await waitText('[data-field="error"]', /card declined for ord_101/, 'the job error');
  await waitText('#attempts li', /Attempt 1\s*Failed[\s\S]*card declined for ord_101/, 'the attempt timeline');
  assert.match(await textOf('pre.payload'), /"n": "ord_101"/);
  assert.equal(ran('shop::charge', 'n', 'ord_101'), 1);

  await click('#job-redrive');
  await waitText('#notice', /Redriven: 1 job/, 'the redrive notice');
  // It ran again and succeeded, so the engine no longer has it.
  await eventually(() => assert.equal(ran('shop::charge', 'n', 'ord_101'), 2), { what: 'the second run' });
  await click('#refresh-now');
  await page().waitForSelector('#job .gone');
  assert.equal((await rejection(jobLookup(env.iii, id, 'orders'))).code, 'job_not_found');

  await open('#/queues/orders/dead');
  await page().waitForFunction((gone) => {
    const rows = [...document.querySelectorAll('#jobs tbody tr')];
    return rows.length === 5 && !rows.some((r) => r.dataset.id === gone);
  }, { timeout: UI_TIMEOUT }, id);
  await waitText('.tabs a[href$="/dead"]', 'Dead (5)');
});

test('dead jobs ticked in the list are redriven together; one is discarded from its row', { skip: SKIP, timeout: 40000 }, async () => {
  const [, , , ord104, ord105, ord106] = env.dead;
  await open('#/queues/orders/dead');
  await page().waitForSelector(`#jobs input[data-id="${ord104}"]`);
  await click(`#jobs input[data-id="${ord104}"]`);
  await click(`#jobs input[data-id="${ord105}"]`);
  await click('#redrive-selected');
  await waitText('#notice', /Redriven: 2 jobs/, 'the redrive notice');
  await eventually(() => {
    assert.equal(ran('shop::charge', 'n', 'ord_104'), 2);
    assert.equal(ran('shop::charge', 'n', 'ord_105'), 2);
  }, { what: 'both ran again' });
  assert.equal(ran('shop::charge', 'n', 'ord_106'), 1, 'an unticked one stays dead');
  await waitText('.tabs a[href$="/dead"]', 'Dead (3)');

  await click(`#jobs tr[data-id="${ord106}"] button[aria-label^="Discard"]`); // confirmed by the dialog handler
  await waitText('#notice', /Discarded: 1 job/, 'the discard notice');
  assert.equal((await rejection(jobLookup(env.iii, ord106, 'orders'))).code, 'job_not_found');
  await statsEventually(env.iii, 'orders', (x) => assert.equal(x.dlq, 2));
  await waitText('.tabs a[href$="/dead"]', 'Dead (2)');
  assert.equal(ran('shop::charge', 'n', 'ord_106'), 1, 'a discarded job does not run');
});

test('the workers page lists the worker and its functions', { skip: SKIP, timeout: 20000 }, async () => {
  await open('#/workers');
  await page().waitForSelector('#workers tr[data-worker="shop-worker"]');
  const row = await textOf('#workers tr[data-worker="shop-worker"]');
  for (const fn of ['shop::charge', 'pay::capture', 'email::send']) assert.ok(row.includes(fn), `${fn} in ${row}`);
  await waitText('#view', /reports::build \(queue reports\)/, 'the function nobody serves');
  await page().screenshot({ path: path.join(env.outDir, 'workers.png') });
});

test('pausing a queue in the dashboard stops dispatch until it is resumed', { skip: SKIP, timeout: 40000 }, async () => {
  await open('#/queues/email/waiting');
  await click('#pause');
  await page().waitForSelector('#resume');
  assert.equal((await queueStats(env.iii, 'email')).paused, true);

  // One job through the dashboard's form, two through a worker.
  await page().$eval('#enqueue-function', (el) => (el.value = ''));
  await page().type('#enqueue-function', 'email::send');
  await page().$eval('#enqueue-payload', (el) => (el.value = ''));
  await page().type('#enqueue-payload', '{"n": "held_ui", "to": "ann@example.com"}');
  await click('#enqueue button[type="submit"]');
  await waitText('#enqueue-result', /Enqueued as [0-9a-f-]{36}/, 'the receipt');
  await enqueue(env.iii, 'email', 'email::send', { n: 'held_1', to: 'bob@example.com' });
  await enqueue(env.iii, 'email', 'email::send', { n: 'held_2', to: 'cy@example.com' });

  await sleep(1500);
  const held = () => ['held_ui', 'held_1', 'held_2'].map((n) => ran('email::send', 'n', n));
  assert.deepEqual(held(), [0, 0, 0], 'nothing is dispatched while paused');
  const s = await queueStats(env.iii, 'email');
  assert.equal(s.waiting, 3);
  await click('#refresh-now');
  await waitText('.tabs a[href$="/waiting"]', 'Waiting (3)');
  await page().waitForFunction(() => document.querySelectorAll('#jobs tbody tr').length === 3, { timeout: UI_TIMEOUT });

  await click('#resume');
  await page().waitForSelector('#pause');
  await eventually(() => assert.deepEqual(held(), [1, 1, 1]), { what: 'the held jobs run after resume' });
  await click('#refresh-now');
  await waitText('.tabs a[href$="/waiting"]', 'Waiting (0)');
  assert.equal((await queueStats(env.iii, 'email')).paused, false);
});

test('a FIFO queue shows the group blocked behind a retry; screenshots', { skip: SKIP, timeout: 40000 }, async () => {
  await open('#/queues/payment/groups');
  await page().waitForSelector('#groups tr[data-group="ord_17"]');
  assert.match(await textOf('#groups tr[data-group="ord_17"]'), /Blocked behind a retry/);
  assert.match(await textOf('#groups tbody tr'), /ord_17/, 'blocked groups come first');
  // Retry now: the head runs again at once (and fails again, so the group
  // stays blocked, now after two attempts); the job behind it still waits.
  assert.equal(ran('pay::capture', 'n', 'p1'), 1);
  await click('#groups tr[data-group="ord_17"] button');
  await waitText('#notice', /runs again now/, 'the retry notice');
  await eventually(() => assert.equal(ran('pay::capture', 'n', 'p1'), 2), { what: 'the second attempt' });
  assert.equal(ran('pay::capture', 'n', 'p2'), 0, 'the rest of the group waits');
  await statsEventually(env.iii, 'payment', (x) => assert.equal(x.delayed, 1));
  await open('#/queues/payment/groups');
  assert.match(await textOf('#groups tr[data-group="ord_17"]'), /Blocked behind a retry/);
  await page().screenshot({ path: path.join(env.outDir, 'groups.png') });

  await open(`#/jobs/${env.dead[1]}?queue=orders`);
  await waitText('[data-field="error"]', /card declined for ord_102/);
  await page().screenshot({ path: path.join(env.outDir, 'job.png') });

  // The queue table with some traffic, so that the rates have figures.
  const trickle = setInterval(() => {
    enqueue(env.iii, 'email', 'email::send', { n: `t${Date.now()}`, to: 'news@example.com' }).catch(() => {});
  }, 100);
  try {
    await open('#/');
    await page().waitForSelector('#queues tbody tr');
    await sleep(1200);
    await click('#refresh-now');
    await sleep(1200);
    await click('#refresh-now');
    await waitText(cell('email', 'enqueued_rate'), /^[1-9][0-9.]*\/s$/, 'the email enqueue rate');
  } finally {
    clearInterval(trickle);
  }
  await page().$$eval('#notice button', (bs) => bs.forEach((b) => b.click()));
  const shot = path.join(env.outDir, 'dashboard.png');
  await page().screenshot({ path: shot });
  assert.ok(fs.statSync(shot).size > 10000, 'a real screenshot');
  if (process.env.TROUPE_SCREENSHOT) {
    fs.mkdirSync(path.dirname(path.resolve(process.env.TROUPE_SCREENSHOT)), { recursive: true });
    fs.copyFileSync(shot, process.env.TROUPE_SCREENSHOT);
    console.log(`screenshot copied to ${process.env.TROUPE_SCREENSHOT}`);
  }
});

test('redrive all sends every dead job of a queue back', { skip: SKIP, timeout: 20000 }, async () => {
  await open('#/queues/orders/dead');
  await waitText('#redrive-all', 'Redrive all dead (2)');
  await click('#redrive-all'); // confirmed by the dialog handler
  await waitText('#notice', /Redriven: 2 jobs/, 'the redrive notice');
  await eventually(() => {
    assert.equal(ran('shop::charge', 'n', 'ord_102'), 2);
    assert.equal(ran('shop::charge', 'n', 'ord_103'), 2);
  }, { what: 'both ran again' });
  await waitText('.tabs a[href$="/dead"]', 'Dead (0)');
  await page().waitForSelector('#list .empty');
});

test('live refresh every 5 s stops while the tab is hidden and resumes when it shows', { skip: SKIP, timeout: 30000 }, async () => {
  await open('#/');
  await page().waitForSelector('#queues tbody tr');
  let asked = 0;
  const count = (r) => {
    if (r.url().endsWith('/api/queues')) asked++;
  };
  page().on('request', count);
  const setHidden = (hidden) => page().evaluate((x) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => x });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  try {
    await sleep(5600);
    assert.ok(asked >= 1, `refreshed on its own while shown (${asked})`);
    await setHidden(true);
    await waitText('#live', /Paused while this tab is hidden/);
    asked = 0;
    await sleep(6000);
    assert.equal(asked, 0, 'no refresh while hidden');
    await setHidden(false);
    await eventually(() => assert.ok(asked >= 1), { timeoutMs: 2000, what: 'a refresh once shown' });
    await waitText('#live', /^Live/);
  } finally {
    page().off('request', count);
  }
});

test('with a token the page asks for it once; read_only shows no actions', { skip: SKIP, timeout: 40000 }, async () => {
  const config = engineConfig({ queues: { jobs: { type: 'standard', max_retries: 1, backoff_ms: 10, concurrency: 1 } } });
  config.workers.push({ name: 'troupe-admin', config: { host: '127.0.0.1', port: 0, token: 'open-sesame', read_only: true } });
  const engine = await startEngine({ config });
  const url = await eventually(() => ADMIN.exec(engine.logs())[1], { timeoutMs: 10000, intervalMs: 50, what: 'the admin line' });
  const worker = await connectWorker(engine.url, { name: 'ro-worker', functions: { 'ro::fail': async () => { throw new Error('always'); } } });
  await enqueue(worker, 'jobs', 'ro::fail', { n: 1 });
  await statsEventually(worker, 'jobs', (x) => assert.equal(x.dlq, 1));

  const p = await env.browser.newPage();
  const seen = [];
  p.on('request', (r) => {
    if (r.url().includes('/api/')) seen.push(r.headers().authorization ?? null);
  });
  try {
    await p.goto(`${url}/#/queues/jobs/dead`, { waitUntil: 'domcontentloaded' });
    await p.waitForSelector('#token-form:not([hidden])', { timeout: UI_TIMEOUT });
    await p.type('#token-input', 'wrong');
    await p.click('#token-form button[type="submit"]');
    await p.waitForFunction(() => /refused/.test(document.querySelector('#token-why').textContent) &&
      !document.querySelector('#token-form').hidden, { timeout: UI_TIMEOUT });
    await p.type('#token-input', 'open-sesame');
    await p.click('#token-form button[type="submit"]');
    await p.waitForSelector('#jobs tbody tr', { timeout: UI_TIMEOUT });
    assert.equal(await p.$eval('#token-form', (f) => f.hidden), true);
    assert.ok(seen.includes('Bearer open-sesame'), 'sent as a Bearer token');
    // read_only: no change buttons, no enqueue form.
    assert.equal(await p.$('#redrive-all'), null);
    assert.equal(await p.$('#pause'), null);
    assert.equal(await p.$$eval('#jobs button', (b) => b.length), 0);
    assert.equal(await p.$eval('#enqueue', (f) => f.hidden), true);
    // Kept for the tab: a reload does not ask again.
    await p.reload({ waitUntil: 'domcontentloaded' });
    await p.waitForSelector('#jobs tbody tr', { timeout: UI_TIMEOUT });
    assert.equal(await p.$eval('#token-form', (f) => f.hidden), true);
    assert.equal(await p.evaluate(() => sessionStorage.getItem('troupe.admin.token')), 'open-sesame');
  } finally {
    await p.close();
    await engine.stop();
  }
});

test('the page ran without script errors or CSP refusals', { skip: SKIP }, () => {
  assert.deepEqual(problems, []);
});
