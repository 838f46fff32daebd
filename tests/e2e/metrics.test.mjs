// Prometheus /metrics on the admin listener (README: Metrics): real iii-sdk
// workers run a scripted workload (jobs that succeed, jobs that fail and are
// retried, jobs that go dead, a discard and a redrive, sync, Void and enqueue
// calls, HTTP trigger requests), then /metrics must show exactly the counts
// the workload implies, and `promtool check metrics` must accept the text.
// Without promtool that check is skipped with a message, except under
// CI=true, where a missing promtool fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { engineConfig, startEngine, storeDir } from './lib/engine.mjs';
import { httpRequest } from './lib/http.mjs';
import { dlqMessages, discardMessage, enqueue, redrive } from './lib/queues.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { eventually, rejection } from './lib/util.mjs';
import { connectWorker, sync } from './lib/workers.mjs';

const ADMIN = /admin listening on http:\/\/127\.0\.0\.1:(\d+)/;
const N_OK = 5;
const N_FLAKY = 2; // each fails twice, then succeeds
const N_SYNC = 3;
const N_HTTP = 3;

cleanUpAfterAll();

/** The text format as {"name{labels}": value}; the series text is the key. */
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The value of one series; fails when it is absent. */
function value(m, series) {
  assert.ok(m.has(series), `series ${series} missing`);
  return m.get(series);
}

async function scrape(adminUrl) {
  const res = await httpRequest(adminUrl, '/metrics');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return { text: res.text, m: parseMetrics(res.text) };
}

/** The admin listener's base URL, from the line the engine logs. */
function adminUrlOf(engine) {
  return eventually(
    async () => {
      const m = ADMIN.exec(engine.logs());
      assert.ok(m, 'no admin line yet');
      return `http://127.0.0.1:${m[1]}`;
    },
    { timeoutMs: 10000, intervalMs: 50, what: 'the admin listener' },
  );
}

function promtool(text) {
  const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  return spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
}

test('/metrics after a scripted workload has its exact counts and passes promtool', { timeout: 90000 }, async (t) => {
  const config = engineConfig({
    startupGraceMs: 0,
    http: { defaultTimeoutMs: 2000 },
    queues: {
      'm-ok': { type: 'standard', concurrency: 4, max_retries: 3, backoff_ms: 10 },
      'm-retry': { type: 'standard', concurrency: 2, max_retries: 3, backoff_ms: 10 },
      'm-dead': { type: 'fifo', message_group_field: 'g', concurrency: 2, max_retries: 2, backoff_ms: 10 },
    },
  });
  config.workers.push({ name: 'troupe-admin', config: { host: '127.0.0.1', port: 0 } });
  const engine = await startEngine({ config });
  const adminUrl = await adminUrlOf(engine);

  const flakyTries = new Map();
  let healed = false;
  const consumer = await connectWorker(engine.url, {
    name: 'metrics-consumer',
    functions: {
      'm::ok': async ({ n }) => ({ n }),
      'm::flaky': async ({ n }) => {
        const k = (flakyTries.get(n) ?? 0) + 1;
        flakyTries.set(n, k);
        if (k <= 2) throw new Error(`flaky ${n} try ${k}`);
        return { n, k };
      },
      'm::sometimes': async () => {
        if (!healed) throw new Error('not yet');
        return { healed };
      },
      'm::never': async () => {
        throw new Error('never works');
      },
      'm::echo': async (x) => x,
      'm::hello': async () => ({ status_code: 200, body: { hello: true } }),
      'm::fail': async () => {
        throw new Error('route handler failed');
      },
    },
  });
  consumer.registerTrigger({ type: 'http', function_id: 'm::hello', config: { api_path: '/m/hello', http_method: 'GET' } });
  consumer.registerTrigger({ type: 'http', function_id: 'm::fail', config: { api_path: '/m/fail/:id', http_method: 'POST' } });
  await sync(consumer);
  const producer = await connectWorker(engine.url, { name: 'metrics-producer' });

  // Calls so far (the two workers' readiness pings) are the baseline.
  const before = (await scrape(adminUrl)).m;
  const calls = (m, kind, outcome) => value(m, `troupe_calls_total{kind="${kind}",outcome="${outcome}"}`);
  assert.equal(value(before, 'troupe_workers_connected'), 2);
  assert.equal(value(before, 'troupe_worker_connections_total'), 2);

  // The workload.
  for (let n = 0; n < N_OK; n++) await enqueue(producer, 'm-ok', 'm::ok', { n });
  for (let n = 0; n < N_FLAKY; n++) await enqueue(producer, 'm-retry', 'm::flaky', { n });
  await enqueue(producer, 'm-dead', 'm::sometimes', { g: 'a' });
  const doomed = await enqueue(producer, 'm-dead', 'm::never', { g: 'b' });
  const enqueueErr = await rejection(enqueue(producer, 'no-such-queue', 'm::ok', {}));
  assert.match(String(enqueueErr?.message ?? enqueueErr), /not found/);
  for (let n = 0; n < N_SYNC; n++) {
    const echoed = await producer.trigger({ function_id: 'm::echo', payload: { n }, timeoutMs: 5000 });
    assert.equal(echoed.n, n);
  }
  const missing = await rejection(producer.trigger({ function_id: 'm::missing', payload: {}, timeoutMs: 5000 }));
  assert.equal(missing?.code, 'function_not_found');
  await producer.trigger({ function_id: 'm::echo', payload: { v: 1 }, action: TriggerAction.Void() });
  for (let n = 0; n < N_HTTP; n++) {
    const res = await httpRequest(engine.httpUrl, '/m/hello');
    assert.equal(res.status, 200, res.text);
  }
  assert.equal((await httpRequest(engine.httpUrl, '/m/fail/7', { method: 'POST', body: {} })).status, 500);
  assert.equal((await httpRequest(engine.httpUrl, '/nowhere')).status, 404);

  // Both m-dead jobs go dead (2 attempts each); discard one, heal and
  // redrive the other, which then succeeds.
  await eventually(
    async () => {
      const { m } = await scrape(adminUrl);
      assert.equal(value(m, 'troupe_queue_jobs{queue="m-dead",state="dead"}'), 2);
      assert.equal(value(m, 'troupe_queue_jobs{queue="m-ok",state="waiting"}')
        + value(m, 'troupe_queue_jobs{queue="m-ok",state="in_flight"}'), 0);
      assert.equal(value(m, 'troupe_job_completion_seconds_count{outcome="succeeded",queue="m-retry"}'), N_FLAKY);
    },
    { timeoutMs: 20000, intervalMs: 100, what: 'the jobs to settle' },
  );
  const dead = await dlqMessages(producer, 'm-dead');
  assert.equal(dead.length, 2, JSON.stringify(dead));
  await discardMessage(producer, 'm-dead', doomed);
  healed = true;
  await redrive(producer, 'm-dead');
  const { text, m } = await eventually(
    async () => {
      const s = await scrape(adminUrl);
      assert.equal(value(s.m, 'troupe_job_completion_seconds_count{outcome="succeeded",queue="m-dead"}'), 1);
      assert.equal(value(s.m, 'troupe_queue_jobs{queue="m-dead",state="dead"}'), 0);
      return s;
    },
    { timeoutMs: 10000, intervalMs: 100, what: 'the redriven job to succeed' },
  );

  // Queues: the gauges.
  for (const [q, type, group, conc] of [
    ['m-ok', 'standard', '', 4],
    ['m-retry', 'standard', '', 2],
    ['m-dead', 'fifo', 'g', 2],
  ]) {
    assert.equal(value(m, `troupe_queue_info{group_field="${group}",queue="${q}",type="${type}"}`), 1);
    assert.equal(value(m, `troupe_queue_concurrency{queue="${q}"}`), conc);
    assert.equal(value(m, `troupe_queue_paused{queue="${q}"}`), 0);
    for (const state of ['waiting', 'in_flight', 'delayed', 'dead']) {
      assert.equal(value(m, `troupe_queue_jobs{queue="${q}",state="${state}"}`), 0, `${q} ${state}`);
    }
    // Nothing waits: the scrape time, within this test's run.
    const oldest = value(m, `troupe_queue_oldest_waiting_timestamp_seconds{queue="${q}"}`);
    assert.ok(Math.abs(oldest - Date.now() / 1000) < 60, `oldest ${oldest}`);
  }

  // Queues: the counters.
  const attempts = (q, fn, result) => value(m, `troupe_job_attempts_total{function="${fn}",queue="${q}",result="${result}"}`);
  assert.equal(value(m, 'troupe_jobs_enqueued_total{queue="m-ok"}'), N_OK);
  assert.equal(value(m, 'troupe_jobs_enqueued_total{queue="m-retry"}'), N_FLAKY);
  assert.equal(value(m, 'troupe_jobs_enqueued_total{queue="m-dead"}'), 2);
  assert.equal(attempts('m-ok', 'm::ok', 'ok'), N_OK);
  assert.equal(attempts('m-ok', 'm::ok', 'error'), 0);
  assert.equal(attempts('m-retry', 'm::flaky', 'ok'), N_FLAKY);
  assert.equal(attempts('m-retry', 'm::flaky', 'error'), 2 * N_FLAKY);
  assert.equal(attempts('m-dead', 'm::sometimes', 'error'), 2);
  assert.equal(attempts('m-dead', 'm::sometimes', 'ok'), 1);
  assert.equal(attempts('m-dead', 'm::never', 'error'), 2);
  assert.equal(attempts('m-dead', 'm::never', 'ok'), 0);
  for (const r of ['timeout', 'stopped', 'not_found']) assert.equal(attempts('m-dead', 'm::never', r), 0);
  assert.equal(value(m, 'troupe_jobs_dead_lettered_total{queue="m-dead"}'), 2);
  assert.equal(value(m, 'troupe_jobs_dead_lettered_total{queue="m-retry"}'), 0);
  assert.equal(value(m, 'troupe_jobs_redriven_total{queue="m-dead"}'), 1);
  assert.equal(value(m, 'troupe_jobs_discarded_total{queue="m-dead"}'), 1);

  // Queues: the histograms count what happened.
  assert.equal(value(m, 'troupe_job_wait_seconds_count{queue="m-ok"}'), N_OK);
  assert.equal(value(m, 'troupe_job_wait_seconds_count{queue="m-retry"}'), N_FLAKY);
  assert.equal(value(m, 'troupe_job_attempt_duration_seconds_count{function="m::flaky",queue="m-retry"}'), 3 * N_FLAKY);
  assert.equal(value(m, 'troupe_job_attempt_duration_seconds_bucket{function="m::ok",queue="m-ok",le="+Inf"}'), N_OK);
  assert.equal(value(m, 'troupe_job_completion_seconds_count{outcome="succeeded",queue="m-ok"}'), N_OK);
  assert.equal(value(m, 'troupe_job_completion_seconds_count{outcome="dead",queue="m-dead"}'), 2);
  assert.equal(value(m, 'troupe_job_completion_seconds_count{outcome="dead",queue="m-retry"}'), 0);

  // Calls by the workers since the baseline: N_SYNC echo calls, the
  // dlq_messages, discard and redrive calls, one unknown function; every
  // enqueue, one of them to a missing queue; one Void call.
  assert.equal(calls(m, 'sync', 'ok') - calls(before, 'sync', 'ok'), N_SYNC + 3);
  assert.equal(calls(m, 'sync', 'not_found') - calls(before, 'sync', 'not_found'), 1);
  assert.equal(calls(m, 'sync', 'error') - calls(before, 'sync', 'error'), 0);
  assert.equal(calls(m, 'enqueue', 'ok') - calls(before, 'enqueue', 'ok'), N_OK + N_FLAKY + 2);
  assert.equal(calls(m, 'enqueue', 'error') - calls(before, 'enqueue', 'error'), 1);
  assert.equal(calls(m, 'void', 'sent') - calls(before, 'void', 'sent'), 1);
  assert.equal(value(m, 'troupe_workers_connected'), 2);

  // HTTP requests by route pattern, method and status.
  assert.equal(value(m, 'troupe_http_requests_total{code="200",method="GET",route="/m/hello"}'), N_HTTP);
  assert.equal(value(m, 'troupe_http_requests_total{code="500",method="POST",route="/m/fail/:id"}'), 1);
  assert.equal(value(m, 'troupe_http_requests_total{code="404",method="GET",route=""}'), 1);

  // The in-memory store has no store series; build_info names the version.
  assert.ok(![...m.keys()].some((k) => k.startsWith('troupe_store_')), 'store series without a store');
  assert.ok([...m.keys()].some((k) => /^troupe_build_info\{version="\d+\.\d+\.\d+"\}$/.test(k)), 'build_info');

  const checked = promtool(text);
  if (checked === null) {
    if (process.env.CI === 'true') assert.fail('promtool is missing (Debian package prometheus); CI needs it');
    t.diagnostic('promtool not found: skipped `promtool check metrics` (install Debian package prometheus)');
  } else {
    assert.equal(checked.status, 0, `promtool check metrics: ${checked.stdout}${checked.stderr}\n${text}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'promtool found problems');
  }
  await engine.stop();
});

test('a durable store adds its commit series', { timeout: 60000 }, async () => {
  const config = engineConfig({
    storePath: storeDir(),
    queues: { durable: { type: 'standard', concurrency: 2, max_retries: 1 } },
  });
  config.workers.push({ name: 'troupe-admin', config: { port: 0 } });
  const engine = await startEngine({ config });
  const adminUrl = await adminUrlOf(engine);
  const w = await connectWorker(engine.url, { name: 'store-worker', functions: { 'd::ok': async () => ({}) } });
  for (let n = 0; n < 3; n++) await enqueue(w, 'durable', 'd::ok', { n });
  const { m, text } = await eventually(
    async () => {
      const s = await scrape(adminUrl);
      assert.equal(value(s.m, 'troupe_job_completion_seconds_count{outcome="succeeded",queue="durable"}'), 3);
      // Three puts, three attempt starts (crash-loop accounting) and three
      // acks, in however many commits.
      assert.equal(value(s.m, 'troupe_store_commit_writes_total'), 9);
      return s;
    },
    { timeoutMs: 10000, intervalMs: 100, what: 'the jobs and their acks to be committed' },
  );
  const commits = value(m, 'troupe_store_commits_total');
  assert.ok(commits >= 2 && commits <= 9, `commits ${commits}`);
  assert.equal(value(m, 'troupe_store_commit_errors_total'), 0);
  assert.equal(value(m, 'troupe_store_commit_duration_seconds_count'), commits);
  assert.equal(value(m, 'troupe_store_writes_per_commit_count'), commits);
  assert.equal(value(m, 'troupe_store_writes_per_commit_sum'), 9);
  const checked = promtool(text);
  if (checked !== null) assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
  await engine.stop();
});
