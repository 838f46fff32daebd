// The admin listener (README: Operating troupe): the real binary with
// `troupe-admin: {port: 0}` and real iii-sdk workers. A scripted workload
// (enqueues through the API, a job that goes dead, a delayed retry, a FIFO
// group blocked behind a retry) and every route: queues with their counts,
// jobs per state with paging, a job's attempts with their errors, groups,
// the DLQ, workers; pause, resume, redrive, discard, retry_now, enqueue;
// the refusals (401 without or with a wrong token, 403 read_only, 403 for a
// cross-origin or non-JSON POST, 404, 405, 400); and /readyz answering 503
// "recovering" with its figures while a large file_based store loads.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { httpRequest } from './lib/http.mjs';
import { captureOutput, exited, stopProcess, tempDirCleanup, track } from './lib/procs.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { toYaml } from './lib/yaml.mjs';
import { deferred, eventually, sleep } from './lib/util.mjs';

const ADMIN_LISTENING = /admin listening on http:\/\/127\.0\.0\.1:(\d+)/;
const TOKEN = 's3cr3t-token';

cleanUpAfterAll();

/** The engine config with `troupe-admin` (port 0) and `admin` settings. */
function adminConfig(options, admin = {}) {
  const cfg = engineConfig(options);
  cfg.workers.push({ name: 'troupe-admin', config: { port: 0, ...admin } });
  return cfg;
}

function adminUrl(engine) {
  const m = ADMIN_LISTENING.exec(engine.logs());
  assert.ok(m, `no admin line in:\n${engine.logs()}`);
  return `http://127.0.0.1:${m[1]}`;
}

/** An API client for `base`: sends the token unless told otherwise. */
function client(base, token) {
  return (p, { method = 'GET', body, headers = {}, auth = token } = {}) => {
    const h = { ...headers };
    if (auth) h.authorization = `Bearer ${auth}`;
    return httpRequest(base, p, { method, body, headers: h });
  };
}

/** Asserts an error answer: status, JSON content type and code. */
function assertError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.equal(res.json?.error?.code, code, res.text);
  assert.equal(typeof res.json.error.message, 'string');
}

const calls = {};
let release = deferred();
const record = (fn) => async (payload) => {
  (calls[fn] ??= []).push(payload);
  if (fn === 'adm::fail') throw new Error(`fails on purpose (${payload.n})`);
  if (fn === 'adm::once' && calls[fn].filter((p) => p.n === payload.n).length === 1)
    throw new Error(`fails the first time (${payload.n})`);
  if (fn === 'adm::fifo' && payload.fail) throw new Error(`group ${payload.g} fails`);
  if (fn === 'adm::hold') await release.promise;
  return { n: payload.n };
};
const count = (fn) => (calls[fn] ?? []).length;

let engine;
let api;
let base;

async function main() {
  if (engine) return;
  engine = await startEngine({
    config: adminConfig(
      {
        queues: {
          'adm-std': { type: 'standard', max_retries: 3, backoff_ms: 60000, concurrency: 2 },
          'adm-dead': { type: 'standard', max_retries: 1, backoff_ms: 10, concurrency: 2 },
          'adm-pause': { type: 'standard', max_retries: 3, backoff_ms: 10, concurrency: 2 },
          'adm-idle': { type: 'standard', max_retries: 3, backoff_ms: 10, concurrency: 2 },
          'adm-fifo': { type: 'fifo', message_group_field: 'g', max_retries: 3, backoff_ms: 60000, concurrency: 4 },
        },
      },
      { token: TOKEN },
    ),
  });
  base = adminUrl(engine);
  api = client(base, TOKEN);
  const functions = {};
  for (const fn of ['adm::ok', 'adm::fail', 'adm::once', 'adm::fifo', 'adm::hold']) functions[fn] = record(fn);
  await connectWorker(engine.url, { name: 'admin-worker', functions });
}

const post = (p, body, extra = {}) => api(p, { method: 'POST', body, ...extra });

async function enqueueVia(queue, functionId, payload) {
  const res = await post(`/api/queues/${queue}/enqueue`, { function_id: functionId, payload });
  assert.equal(res.status, 200, res.text);
  assert.match(res.json.messageReceiptId, /^[0-9a-f-]{36}$/);
  return res.json.messageReceiptId;
}

test('health checks, status, the dashboard and the token', { timeout: 30000 }, async () => {
  await main();
  const health = await httpRequest(base, '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.text, 'ok');
  assert.match(health.headers['content-type'], /^text\/plain/);
  const ready = await httpRequest(base, '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.json, { status: 'ready' });

  const page = await httpRequest(base, '/');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.equal(page.headers['content-security-policy'], "default-src 'self'; frame-ancestors 'none'");
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.match(page.text, /<html/i);
  assertError(await httpRequest(base, '/no-such-file.js'), 404, 'not_found');

  for (const p of ['/api/status', '/api/queues', '/api/workers', '/metrics']) {
    const none = await api(p, { auth: null });
    assertError(none, 401, 'unauthorized');
    assert.match(none.headers['www-authenticate'], /^Bearer/);
    assertError(await api(p, { auth: 'wrong-token' }), 401, 'unauthorized');
  }
  assertError(await post('/api/queues/adm-std/pause', {}, { auth: 'nope' }), 401, 'unauthorized');

  const status = await api('/api/status');
  assert.equal(status.status, 200);
  assert.equal(status.json.ready, true);
  assert.equal(status.json.status, 'ready');
  assert.equal(status.json.auth, true);
  assert.equal(status.json.read_only, false);
  assert.equal(status.json.node, null);
  assert.match(status.json.version, /^\d+\.\d+\.\d+/);
  assert.equal(typeof status.json.uptime_seconds, 'number');
  assert.deepEqual(status.json.recovery, { loaded: 0, total: 0 });

  // With the token, /metrics answers Prometheus text (metrics.test.mjs checks the figures).
  const scraped = await api('/metrics');
  assert.equal(scraped.status, 200);
  assert.equal(scraped.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(scraped.text, /^troupe_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
  assertError(await api('/api/nope'), 404, 'not_found');
  assertError(await api('/api/queues/adm-std/nope'), 404, 'not_found');
  assertError(await api('/api/queues/no-such-queue/jobs'), 404, 'queue_not_found');
  const wrong = await api('/api/queues/adm-std/pause');
  assertError(wrong, 405, 'method_not_allowed');
  assert.equal(wrong.headers.allow, 'POST');
  assertError(await post('/api/queues', {}), 405, 'method_not_allowed');
});

test('a failing job goes dead: dlq, job detail with its errors, redrive and discard', { timeout: 30000 }, async () => {
  await main();
  const id = await enqueueVia('adm-dead', 'adm::fail', { n: 'd1' });
  const dlq = await eventually(async () => {
    const r = await api('/api/queues/adm-dead/dlq');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.messages.length, 1, r.text);
    return r.json;
  });
  assert.equal(dlq.queue, 'adm-dead');
  assert.equal(dlq.messages[0].id, id);
  assert.deepEqual(dlq.messages[0].payload, { n: 'd1' });
  assert.match(JSON.stringify(dlq.messages[0].error), /fails on purpose/);

  const job = await api(`/api/jobs/${id}`);
  assert.equal(job.status, 200, job.text);
  assert.equal(job.json.state, 'dead');
  assert.equal(job.json.queue, 'adm-dead');
  assert.deepEqual(job.json.payload, { n: 'd1' });
  assert.equal(job.json.attempts_log.length, 1);
  assert.match(job.json.attempts_log[0].error.message, /fails on purpose/);
  assert.equal((await api(`/api/jobs/${id}?queue=adm-dead`)).json.id, id);
  assertError(await api('/api/jobs/00000000-0000-4000-8000-000000000000'), 404, 'job_not_found');

  const dead = await api('/api/queues/adm-dead/jobs?state=dead');
  assert.equal(dead.json.total, 1);
  assert.equal(dead.json.jobs[0].id, id);

  // Redrive by id: it runs again (and fails again).
  const before = count('adm::fail');
  const red = await post('/api/queues/adm-dead/redrive', { ids: [id, 'not-there'] });
  assert.equal(red.status, 200, red.text);
  assert.deepEqual(red.json, { queue: 'adm-dead', redriven: 1 });
  await eventually(async () => {
    assert.equal(count('adm::fail'), before + 1);
    assert.equal((await api('/api/queues/adm-dead/dlq')).json.messages.length, 1);
  });
  // Redrive all ({}), then discard.
  const all = await post('/api/queues/adm-dead/redrive', {});
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.redriven, 1);
  await eventually(async () => {
    assert.equal(count('adm::fail'), before + 2);
    assert.equal((await api('/api/queues/adm-dead/dlq')).json.messages.length, 1);
  });
  const gone = await post('/api/queues/adm-dead/discard', { ids: [id] });
  assert.deepEqual(gone.json, { queue: 'adm-dead', discarded: 1 });
  assert.equal((await api('/api/queues/adm-dead/dlq')).json.messages.length, 0);
  assertError(await api(`/api/jobs/${id}`), 404, 'job_not_found');
});

test('a delayed retry is listed and retry_now runs it at once', { timeout: 30000 }, async () => {
  await main();
  const id = await enqueueVia('adm-std', 'adm::once', { n: 'r1' });
  await eventually(async () => {
    const r = await api('/api/queues/adm-std/jobs?state=delayed');
    assert.deepEqual(r.json.jobs.map((j) => j.id), [id]);
  });
  const job = (await api(`/api/jobs/${id}`)).json;
  assert.equal(job.state, 'delayed');
  assert.ok(job.next_attempt_at > Date.now() + 50000);
  assert.match(job.attempts_log[0].error.message, /fails the first time/);
  const q = (await api('/api/queues')).json.queues.find((x) => x.name === 'adm-std');
  assert.equal(q.delayed, 1);

  const r = await post('/api/queues/adm-std/retry_now', { id });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { queue: 'adm-std', id, retried: 1 });
  await eventually(async () => assert.equal((await api(`/api/jobs/${id}`)).status, 404, 'done'));
  assert.equal((await post('/api/queues/adm-std/retry_now', { id })).json.retried, 0);
});

test('pause stops dispatch, the queue list and paging show the waiting jobs, resume restarts', { timeout: 30000 }, async () => {
  await main();
  const p = await post('/api/queues/adm-pause/pause', {});
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.paused, true);
  const ids = [];
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) ids.push(await enqueueVia('adm-pause', 'adm::ok', { n: `p${i}` }));
  await sleep(300);
  assert.equal(count('adm::ok'), 0, 'nothing ran while paused');

  // A job whose function nobody serves, on a queue that stays paused.
  assert.equal((await post('/api/queues/adm-idle/pause', {})).status, 200);
  await enqueueVia('adm-idle', 'adm::nobody', { n: 'x' });

  const list = await api('/api/queues');
  assert.equal(list.status, 200, list.text);
  const names = list.json.queues.map((x) => x.name);
  assert.deepEqual(names, ['adm-dead', 'adm-fifo', 'adm-idle', 'adm-pause', 'adm-std', 'default']);
  const q = list.json.queues.find((x) => x.name === 'adm-pause');
  assert.equal(q.type, 'standard');
  assert.equal(q.message_group_field, null);
  assert.equal(q.concurrency, 2);
  assert.equal(q.max_retries, 3);
  assert.equal(q.backoff_ms, 10);
  assert.equal(q.paused, true);
  assert.equal(q.waiting, 5);
  assert.equal(q.in_flight, 0);
  assert.equal(q.dead, 0);
  assert.ok(q.oldest_waiting_at >= t0 - 1000 && q.oldest_waiting_at <= Date.now(), `oldest ${q.oldest_waiting_at}`);
  assert.deepEqual(q.function_ids, ['adm::ok']);
  assert.deepEqual(q.unserved_functions, []);
  const idle = list.json.queues.find((x) => x.name === 'adm-idle');
  assert.deepEqual(idle.unserved_functions, ['adm::nobody']);
  const fifo = list.json.queues.find((x) => x.name === 'adm-fifo');
  assert.equal(fifo.type, 'fifo');
  assert.equal(fifo.message_group_field, 'g');

  const page = await api('/api/queues/adm-pause/jobs?state=waiting&offset=1&limit=2');
  assert.equal(page.status, 200, page.text);
  assert.equal(page.json.total, 5);
  assert.equal(page.json.offset, 1);
  assert.equal(page.json.limit, 2);
  assert.deepEqual(page.json.jobs.map((j) => j.id), ids.slice(1, 3));
  assert.equal((await api('/api/queues/adm-pause/jobs?limit=100000')).json.limit, 500, 'capped');
  assertError(await api('/api/queues/adm-pause/jobs?state=sleeping'), 400, 'invalid_argument');
  assertError(await api('/api/queues/adm-pause/jobs?limit=-3'), 400, 'bad_request');

  const r = await post('/api/queues/adm-pause/resume', {});
  assert.equal(r.json.paused, false);
  await eventually(() => assert.equal(count('adm::ok'), 5));
  const after = (await api('/api/queues')).json.queues.find((x) => x.name === 'adm-pause');
  assert.equal(after.paused, false);
  assert.equal(after.oldest_waiting_at, null);
});

test('groups of a FIFO queue show the group blocked behind a retry', { timeout: 30000 }, async () => {
  await main();
  const a1 = await enqueueVia('adm-fifo', 'adm::fifo', { g: 'a', n: 'a1', fail: true });
  await enqueueVia('adm-fifo', 'adm::fifo', { g: 'a', n: 'a2' });
  const groups = await eventually(async () => {
    const r = await api('/api/queues/adm-fifo/groups');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 1, r.text);
    assert.equal(r.json[0].blocked_by_retry, true, r.text);
    return r.json;
  });
  assert.equal(groups[0].group, 'a');
  assert.equal(groups[0].jobs, 2);
  assert.equal(groups[0].head_id, a1);
  assertError(await api('/api/queues/adm-std/groups'), 400, 'invalid_argument');
  // The FIFO group field is checked like a worker's enqueue.
  assertError(await post('/api/queues/adm-fifo/enqueue', { function_id: 'adm::fifo', payload: { n: 1 } }), 400, 'enqueue_rejected');
});

test('workers and their functions', { timeout: 30000 }, async () => {
  await main();
  const r = await api('/api/workers');
  assert.equal(r.status, 200, r.text);
  const w = r.json.workers.find((x) => x.name === 'admin-worker');
  assert.ok(w, r.text);
  assert.ok(w.function_count >= 5, JSON.stringify(w));
  const f = r.json.functions.find((x) => x.function_id === 'adm::ok');
  assert.ok(f, r.text);
  assert.equal(f.worker_name, 'admin-worker');
});

test('changes need a JSON body from the same origin; bad bodies get 400', { timeout: 30000 }, async () => {
  await main();
  const cross = await post('/api/queues/adm-std/pause', {}, { headers: { origin: 'http://evil.example' } });
  assertError(cross, 403, 'forbidden');
  const site = await post('/api/queues/adm-std/pause', {}, { headers: { 'sec-fetch-site': 'cross-site' } });
  assertError(site, 403, 'forbidden');
  const form = await post('/api/queues/adm-std/pause', 'a=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(form, 403, 'forbidden');
  const same = await post('/api/queues/adm-std/resume', {}, { headers: { origin: base } });
  assert.equal(same.status, 200, same.text);
  assert.equal((await api('/api/queues')).json.queues.find((x) => x.name === 'adm-std').paused, false);

  const json = { 'content-type': 'application/json' };
  assertError(await post('/api/queues/adm-std/enqueue', '{"function_id":', { headers: json }), 400, 'bad_request');
  assertError(await post('/api/queues/adm-std/enqueue', { payload: 1 }), 400, 'bad_request');
  assertError(await post('/api/queues/adm-std/redrive', { ids: 5 }), 400, 'bad_request');
  assertError(await post('/api/queues/adm-std/discard', {}), 400, 'bad_request');
  assertError(await post('/api/queues/adm-std/retry_now', { id: 7 }), 400, 'bad_request');
  assertError(await post('/api/queues/adm-std/enqueue', '[1,2]', { headers: json }), 400, 'bad_request');
  assertError(await post('/api/queues/nowhere/enqueue', { function_id: 'adm::ok' }), 404, 'queue_not_found');
  // A body over the limit (the payload limit, 1 MiB here, plus 64 KiB).
  const huge = JSON.stringify({ function_id: 'adm::ok', payload: 'x'.repeat(1200 * 1024) });
  assert.equal((await post('/api/queues/adm-std/enqueue', huge, { headers: json })).status, 413);
  // The engine is still fine.
  assert.equal((await httpRequest(base, '/healthz')).status, 200);
});

test('read_only refuses every change and still answers reads', { timeout: 30000 }, async () => {
  const ro = await startEngine({ config: adminConfig({}, { read_only: true }) });
  try {
    const roApi = client(adminUrl(ro), null);
    for (const op of ['pause', 'resume', 'redrive', 'discard', 'retry_now', 'enqueue']) {
      const r = await roApi(`/api/queues/default/${op}`, { method: 'POST', body: { ids: ['x'], id: 'x', function_id: 'f' } });
      assertError(r, 403, 'read_only');
    }
    const q = await roApi('/api/queues');
    assert.equal(q.status, 200, q.text);
    assert.equal(q.json.queues[0].name, 'default');
    assert.equal((await roApi('/api/status')).json.read_only, true);
    assert.equal((await roApi('/api/status')).json.auth, false);
  } finally {
    await ro.stop();
  }
});

test('--admin HOST:PORT opens the listener without a troupe-admin entry; a bad one exits 2', { timeout: 30000 }, async () => {
  const e = await startEngine({ config: engineConfig({}), args: ['--admin', '127.0.0.1:0'] });
  try {
    const url = adminUrl(e);
    assert.equal((await httpRequest(url, '/healthz')).text, 'ok');
    const s = await httpRequest(url, '/api/status');
    assert.equal(s.json.auth, false);
    assert.equal(s.json.ready, true);
  } finally {
    await e.stop();
  }
  const bin = path.resolve(process.env.TROUPE_BIN);
  for (const bad of ['localhost:3113', '127.0.0.1', '127.0.0.1:70000', '127.0.0.1:x']) {
    const r = spawnSync(bin, ['--admin', bad], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, `--admin ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--admin takes HOST:PORT/);
  }
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
  assert.match(help.stdout, /--admin HOST:PORT/);
});

// -- recovery ---------------------------------------------------------------

const BULK_JOBS = 1500000;

test('/readyz says recovering with its figures while a large store loads, then ready', { timeout: 200000 }, async () => {
  const sqlite = spawnSync('sqlite3', ['-version']);
  assert.equal(sqlite.status, 0, 'this test writes its store with the sqlite3 command (Debian package sqlite3; scripts/deps.sh --e2e installs it)');
  const bulk = { bulk: { type: 'standard', max_retries: 1, concurrency: 1 } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-e2e-admin-'));
  const removeDir = tempDirCleanup(dir);
  try {
    // A first run creates the store with the engine's own schema.
    const storePath = path.join(dir, 'store');
    const first = await startEngine({ config: engineConfig({ queues: bulk, storePath }) });
    assert.equal(await first.stop(), 0);
    // Then a bulk insert: a paused queue of small jobs nobody serves.
    const db = path.join(storePath, 'troupe-queue.db');
    const sql = `
      PRAGMA synchronous = OFF;
      BEGIN;
      WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${BULK_JOBS})
      INSERT INTO jobs (seq, id, queue, grp, function_id, state, attempts, enqueued_at, due_at, failed_at, last_error, payload)
      SELECT x, printf('00000000-0000-4000-8000-%012d', x), 'bulk', '', 'bulk::nobody', 0, 0,
             1700000000000 + x, 0, 0, '', '{"n":' || x || '}' FROM c;
      INSERT OR REPLACE INTO queues (name, paused) VALUES ('bulk', 1);
      COMMIT;`;
    const ins = spawnSync('sqlite3', [db], { input: sql, encoding: 'utf8', timeout: 60000 });
    assert.equal(ins.status, 0, ins.stderr);

    const bin = path.resolve(process.env.TROUPE_BIN);
    const configPath = path.join(dir, 'iii-config.yaml');
    fs.writeFileSync(configPath, toYaml(adminConfig({ queues: bulk, storePath })));
    const proc = track(spawn(bin, ['--config', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    const adminPort = deferred();
    const logs = captureOutput(proc, '[troupe] ', (line) => {
      const m = ADMIN_LISTENING.exec(line);
      if (m) adminPort.resolve(Number(m[1]));
    });
    try {
      const port = await Promise.race([
        adminPort.promise,
        exited(proc).then((c) => {
          throw new Error(`engine exited (${c}):\n${logs()}`);
        }),
      ]);
      const adminBase = `http://127.0.0.1:${port}`;
      // While it recovers: alive, not ready, with figures that grow.
      const seen = [];
      let ready;
      const deadline = Date.now() + 120000;
      while (Date.now() < deadline) {
        const r = await httpRequest(adminBase, '/readyz');
        if (r.status === 200) {
          ready = r.json;
          break;
        }
        assert.equal(r.status, 503, r.text);
        assert.equal((await httpRequest(adminBase, '/healthz')).status, 200);
        if (r.json.status === 'recovering') {
          assert.equal(r.json.total, BULK_JOBS, r.text);
          assert.ok(r.json.loaded >= 0 && r.json.loaded <= BULK_JOBS, r.text);
          seen.push(r.json.loaded);
          if (seen.length === 1) {
            const s = await httpRequest(adminBase, '/api/status');
            assert.equal(s.json.ready, false);
            assert.equal(s.json.status, 'recovering');
            assert.equal(s.json.recovery.total, BULK_JOBS);
            assertError(await httpRequest(adminBase, '/api/queues'), 503, 'not_ready');
          }
        } else {
          assert.equal(r.json.status, 'starting', r.text);
        }
        await sleep(50);
      }
      assert.deepEqual(ready, { status: 'ready' });
      assert.ok(seen.length >= 2, `recovering seen ${seen.length} times: ${seen}`);
      assert.ok(seen[seen.length - 1] > seen[0], `the figures grow: ${seen}`);
      // Logged every second: at the start and at least once more.
      const lines = logs().match(/recovering: \d+ of \d+ jobs loaded/g) ?? [];
      assert.ok(lines.length >= 2, logs());
      assert.equal(lines[0], `recovering: 0 of ${BULK_JOBS} jobs loaded`);
      assert.match(lines[1], new RegExp(`recovering: [1-9]\\d* of ${BULK_JOBS} jobs loaded`));
      const q = await httpRequest(adminBase, '/api/queues');
      const b = q.json.queues.find((x) => x.name === 'bulk');
      assert.equal(b.waiting, BULK_JOBS);
      assert.equal(b.paused, true);
      assert.deepEqual(b.unserved_functions, ['bulk::nobody']);
      const st = await httpRequest(adminBase, '/api/status');
      assert.deepEqual(st.json.recovery, { loaded: BULK_JOBS, total: BULK_JOBS });
    } finally {
      await stopProcess(proc, 'SIGTERM', 30000);
    }
  } finally {
    removeDir();
  }
});
