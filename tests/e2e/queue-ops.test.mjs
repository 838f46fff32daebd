// The queue operations a dashboard builds on (README: Queues, operations):
// engine::queue::job in each state with its attempts, engine::queue::jobs
// with paging and the limit cap, engine::queue::groups of a FIFO queue with
// one group blocked behind a retry, pause and resume (also across a restart
// with file_based), retry_now, and invalid_argument for bad input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForLog } from './lib/cluster.mjs';
import { engineConfig, startEngine, storeDir } from './lib/engine.mjs';
import { useEngine } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import {
  dlqMessages,
  enqueue,
  groupList,
  jobList,
  jobLookup,
  pauseQueue,
  queueIdle,
  queueStats,
  resumeQueue,
  retryNow,
  statsEventually,
} from './lib/queues.mjs';
import { deferred, eventually, rejection, sleep } from './lib/util.mjs';

// Retries wait a minute: a failed job stays delayed for the whole test.
const SLOW_RETRY = { type: 'standard', max_retries: 3, backoff_ms: 60000, concurrency: 2 };

let iii;
const calls = {}; // function id -> payloads, in call order
let release = deferred(); // ops::hold answers once this resolves
const record = (fn) => async (payload) => {
  (calls[fn] ??= []).push(payload);
  if (fn === 'ops::fail') throw new Error(`fails on purpose (${payload.n})`);
  if (fn === 'ops::once' && calls[fn].filter((p) => p.n === payload.n).length === 1)
    throw new Error(`fails the first time (${payload.n})`);
  if (fn === 'ops::hold' || (fn === 'ops::fifo' && payload.hold)) await release.promise;
  if (fn === 'ops::fifo' && payload.fail) throw new Error(`group ${payload.g} fails`);
  return { n: payload.n };
};
const count = (fn, n) => (calls[fn] ?? []).filter((p) => p.n === n).length;

useEngine(
  {
    queues: {
      'ops-states': SLOW_RETRY,
      'ops-dead': { type: 'standard', max_retries: 1, backoff_ms: 10, concurrency: 2 },
      'ops-pause': { type: 'standard', max_retries: 3, backoff_ms: 10, concurrency: 2 },
      'ops-retry': SLOW_RETRY,
      'ops-fifo': { type: 'fifo', message_group_field: 'g', max_retries: 3, backoff_ms: 60000, concurrency: 4 },
    },
  },
  async ({ url }) => {
    const functions = {};
    for (const fn of ['ops::ok', 'ops::fail', 'ops::hold', 'ops::once', 'ops::fifo']) functions[fn] = record(fn);
    iii = await connectWorker(url, { name: 'ops-worker', functions });
  },
);

test('engine::queue::job finds a job in each state, with its attempts', { timeout: 30000 }, async () => {
  const dead = await enqueue(iii, 'ops-dead', 'ops::fail', { n: 'dead' });
  await statsEventually(iii, 'ops-dead', (s) => assert.equal(s.dlq, 1));
  const d = await jobLookup(iii, dead, 'ops-dead');
  assert.equal(d.id, dead);
  assert.equal(d.queue, 'ops-dead');
  assert.equal(d.state, 'dead');
  assert.equal(d.function_id, 'ops::fail');
  assert.deepEqual(d.payload, { n: 'dead' });
  assert.equal(d.attempts, 1);
  assert.equal(d.max_attempts, 1);
  assert.equal(typeof d.failed_at, 'number');
  assert.equal(d.next_attempt_at, null);
  assert.match(d.error.message, /fails on purpose/);
  assert.equal(d.attempts_log.length, 1);
  assert.equal(d.attempts_log[0].number, 1);
  assert.equal(d.attempts_log[0].ok, false);
  assert.equal(typeof d.attempts_log[0].duration_ms, 'number');
  assert.match(d.attempts_log[0].error.message, /fails on purpose/);

  const t0 = Date.now();
  const delayed = await enqueue(iii, 'ops-states', 'ops::fail', { n: 'delayed' });
  const x = await eventually(async () => {
    const j = await jobLookup(iii, delayed, 'ops-states');
    assert.equal(j.state, 'delayed');
    return j;
  });
  assert.equal(x.attempts, 1);
  assert.equal(x.max_attempts, 3);
  assert.ok(x.next_attempt_at >= t0 + 59000 && x.next_attempt_at <= Date.now() + 61000, `next_attempt_at ${x.next_attempt_at}`);
  assert.match(x.error.message, /fails on purpose/);

  const running = await enqueue(iii, 'ops-states', 'ops::hold', { n: 'running' });
  const r = await eventually(async () => {
    const j = await jobLookup(iii, running, 'ops-states');
    assert.equal(j.state, 'in_flight');
    return j;
  });
  assert.equal(r.attempts_log.length, 1);
  assert.equal(r.attempts_log[0].duration_ms, null, 'still running');
  assert.equal(r.attempts_log[0].ok, null);

  assert.deepEqual(await pauseQueue(iii, 'ops-states'), { queue: 'ops-states', paused: true });
  const waiting = await enqueue(iii, 'ops-states', 'ops::ok', { n: 'waiting' });
  const w = await jobLookup(iii, waiting);
  assert.equal(w.state, 'waiting', 'without a queue, every queue is searched');
  assert.equal(w.queue, 'ops-states');
  assert.deepEqual(w.attempts_log, []);
  assert.equal(w.error, null);
  assert.equal(w.group, null);

  const nf = await rejection(jobLookup(iii, '00000000-0000-4000-8000-000000000000'));
  assert.equal(nf.code, 'job_not_found');

  // Lists: each state, and paging over waiting jobs.
  const more = [waiting];
  for (let i = 0; i < 5; i++) more.push(await enqueue(iii, 'ops-states', 'ops::ok', { n: `w${i}` }));
  const all = await jobList(iii, 'ops-states', 'waiting');
  assert.equal(all.total, 6);
  assert.equal(all.limit, 50);
  assert.deepEqual(all.jobs.map((j) => j.id), more, 'in enqueue order');
  assert.equal(all.jobs[0].payload, undefined, 'no payload in a list');
  assert.equal(all.jobs[0].payload_size, JSON.stringify({ n: 'waiting' }).length);
  const page = await jobList(iii, 'ops-states', 'waiting', { offset: 2, limit: 2 });
  assert.deepEqual(
    { total: page.total, offset: page.offset, limit: page.limit, ids: page.jobs.map((j) => j.id) },
    { total: 6, offset: 2, limit: 2, ids: more.slice(2, 4) },
  );
  const capped = await jobList(iii, 'ops-states', 'waiting', { limit: 100000 });
  assert.equal(capped.limit, 500, 'a larger limit is capped, not refused');
  assert.equal(capped.jobs.length, 6);
  assert.deepEqual((await jobList(iii, 'ops-states', 'delayed')).jobs.map((j) => j.id), [delayed]);
  assert.deepEqual((await jobList(iii, 'ops-states', 'in_flight')).jobs.map((j) => j.id), [running]);
  const deadList = await jobList(iii, 'ops-dead', 'dead', { limit: 1000 });
  assert.equal(deadList.limit, 500);
  assert.equal(deadList.jobs[0].state, 'dead');
  assert.equal((await dlqMessages(iii, 'ops-dead', { limit: 100000 })).length, 1);

  // Resume: the waiting jobs run; the held one finishes.
  await resumeQueue(iii, 'ops-states');
  release.resolve();
  await statsEventually(iii, 'ops-states', (s) => {
    assert.equal(s.waiting + s.in_flight, 0);
    assert.equal(s.succeeded_total, 7);
  });
  release = deferred();
});

test('pause stops starting attempts and resume starts them again', { timeout: 20000 }, async () => {
  assert.deepEqual(await pauseQueue(iii, 'ops-pause'), { queue: 'ops-pause', paused: true });
  for (const n of [1, 2, 3]) await enqueue(iii, 'ops-pause', 'ops::ok', { n: `p${n}` });
  await sleep(300);
  assert.equal(count('ops::ok', 'p1') + count('ops::ok', 'p2') + count('ops::ok', 'p3'), 0, 'nothing ran while paused');
  const s = await queueStats(iii, 'ops-pause');
  assert.equal(s.paused, true);
  assert.equal(s.waiting, 3);
  assert.deepEqual(await resumeQueue(iii, 'ops-pause'), { queue: 'ops-pause', paused: false });
  await statsEventually(iii, 'ops-pause', (x) => assert.equal(x.succeeded_total, 3));
  assert.equal((await queueStats(iii, 'ops-pause')).paused, false);
});

test('retry_now runs a delayed job at once', { timeout: 20000 }, async () => {
  const id = await enqueue(iii, 'ops-retry', 'ops::once', { n: 'r1' });
  await statsEventually(iii, 'ops-retry', (s) => assert.equal(s.delayed, 1));
  const t0 = Date.now();
  assert.deepEqual(await retryNow(iii, 'ops-retry', id), { queue: 'ops-retry', id, retried: 1 });
  await statsEventually(iii, 'ops-retry', (s) => assert.equal(s.succeeded_total, 1));
  assert.ok(Date.now() - t0 < 5000, 'long before its 60 s backoff');
  assert.equal(count('ops::once', 'r1'), 2);
  assert.equal((await retryNow(iii, 'ops-retry', id)).retried, 0, 'not delayed any more');
  assert.equal((await rejection(jobLookup(iii, id, 'ops-retry'))).code, 'job_not_found', 'it succeeded');
});

test('groups of a FIFO queue show the one blocked behind a retry first; retry_now frees it', { timeout: 20000 }, async () => {
  const a1 = await enqueue(iii, 'ops-fifo', 'ops::fifo', { g: 'a', n: 'a1', fail: true });
  const a2 = await enqueue(iii, 'ops-fifo', 'ops::fifo', { g: 'a', n: 'a2' });
  const b1 = await enqueue(iii, 'ops-fifo', 'ops::fifo', { g: 'b', n: 'b1', hold: true });
  await enqueue(iii, 'ops-fifo', 'ops::fifo', { g: 'c', n: 'c1' });
  const groups = await eventually(async () => {
    const gs = await groupList(iii, 'ops-fifo');
    assert.equal(gs.length, 2, JSON.stringify(gs)); // c is done
    assert.equal(gs[0].blocked_by_retry, true, JSON.stringify(gs));
    assert.equal(gs[1].running, true, JSON.stringify(gs));
    return gs;
  });
  assert.deepEqual(
    groups.map(({ group, jobs, head_id, running, blocked_by_retry }) => ({ group, jobs, head_id, running, blocked_by_retry })),
    [
      { group: 'a', jobs: 2, head_id: a1, running: false, blocked_by_retry: true },
      { group: 'b', jobs: 1, head_id: b1, running: true, blocked_by_retry: false },
    ],
  );
  assert.ok(groups[0].next_attempt_at > Date.now() + 50000);
  assert.equal(groups[1].next_attempt_at, null);
  assert.equal((await groupList(iii, 'ops-fifo', { offset: 1, limit: 1 }))[0].group, 'b');
  const head = await jobLookup(iii, a1, 'ops-fifo');
  assert.equal(head.state, 'delayed');
  assert.equal(head.group, 'a');
  assert.equal((await jobLookup(iii, a2, 'ops-fifo')).state, 'waiting');

  assert.equal((await retryNow(iii, 'ops-fifo', a2)).retried, 0, 'only the blocked head can be retried');
  assert.equal((await retryNow(iii, 'ops-fifo', a1)).retried, 1);
  // It fails again (attempt 2) and blocks its group again; a2 still waits.
  await eventually(async () => assert.equal(count('ops::fifo', 'a1'), 2));
  const again = await eventually(async () => {
    const j = await jobLookup(iii, a1, 'ops-fifo');
    assert.equal(j.state, 'delayed');
    assert.equal(j.attempts, 2);
    return j;
  });
  assert.deepEqual(again.attempts_log.map((a) => [a.number, a.ok]), [[1, false], [2, false]]);
  assert.equal(count('ops::fifo', 'a2'), 0);
  release.resolve();
  await eventually(async () => assert.equal(count('ops::fifo', 'b1'), 1));
  release = deferred();
});

test('bad arguments give invalid_argument', { timeout: 10000 }, async () => {
  const code = async (fn, payload) => (await rejection(iii.trigger({ function_id: fn, payload, timeoutMs: 5000 }))).code;
  assert.equal(await code('engine::queue::jobs', { queue: 'ops-states' }), 'invalid_argument', 'no state');
  assert.equal(await code('engine::queue::jobs', { queue: 'ops-states', state: 'done' }), 'invalid_argument');
  assert.equal(await code('engine::queue::jobs', { queue: 'ops-states', state: 'dead', limit: -1 }), 'invalid_argument');
  assert.equal(await code('engine::queue::jobs', { queue: 'ops-states', state: 'dead', offset: 'x' }), 'invalid_argument');
  assert.equal(await code('engine::queue::groups', { queue: 'ops-states' }), 'invalid_argument', 'a standard queue');
  assert.equal(await code('engine::queue::job', {}), 'invalid_argument', 'no id');
  assert.equal(await code('engine::queue::job', { id: 7 }), 'invalid_argument');
  assert.equal(await code('engine::queue::retry_now', { queue: 'ops-retry' }), 'invalid_argument');
  assert.equal(await code('engine::queue::pause', { queue: 5 }), 'invalid_argument');
  assert.equal(await code('engine::queue::pause', 'ops-retry'), 'invalid_argument', 'data not an object');
  assert.equal(await code('engine::queue::resume', {}), 'queue_not_set');
  assert.equal(await code('engine::queue::jobs', { queue: 'nope', state: 'dead' }), 'queue_not_found');
});

test('a paused queue stays paused across a restart with file_based', { timeout: 45000 }, async () => {
  const storePath = storeDir();
  const queues = { durable: { type: 'standard', max_retries: 3, backoff_ms: 10, concurrency: 2 } };
  const ran = [];
  let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
  const options = { reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 500, jitterFactor: 0.2 } };
  const worker = await connectWorker(engine.url, {
    name: 'durable-worker',
    options,
    functions: { 'durable::job': async ({ n }) => (ran.push(n), { n }) },
  });
  assert.equal((await pauseQueue(worker, 'durable')).paused, true);
  const id = await enqueue(worker, 'durable', 'durable::job', { n: 1 });
  assert.equal(await engine.stop('SIGTERM'), 0);
  engine = await startEngine({ config: engineConfig({ queues, storePath, port: engine.port }) });
  // The queue logs it as it starts, which may come after the listening line.
  await waitForLog(engine, /\[queue durable\] paused \(stored\)/);
  const stats = await eventually(() => queueStats(worker, 'durable'), { timeoutMs: 10000, intervalMs: 100, what: 'the worker back' });
  assert.equal(stats.paused, true);
  assert.equal(stats.waiting, 1);
  await enqueue(worker, 'durable', 'durable::job', { n: 2 });
  await sleep(300);
  assert.deepEqual(ran, [], 'nothing runs while paused');
  assert.equal((await jobLookup(worker, id, 'durable')).state, 'waiting');
  assert.equal((await resumeQueue(worker, 'durable')).paused, false);
  await queueIdle(worker, 'durable');
  assert.deepEqual(ran.sort(), [1, 2]);
  // Resumed is stored too.
  assert.equal(await engine.stop('SIGTERM'), 0);
  engine = await startEngine({ config: engineConfig({ queues, storePath, port: engine.port }) });
  const after = await eventually(() => queueStats(worker, 'durable'), { timeoutMs: 10000, intervalMs: 100, what: 'the worker back' });
  assert.equal(after.paused, false);
  await closeWorker(worker);
});
