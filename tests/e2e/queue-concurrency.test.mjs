// A standard queue never has more than `concurrency` jobs in flight, runs
// every job exactly once, and starts a job on an idle queue at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { enqueue, queueIdle, queueStats } from './lib/queues.mjs';
import { deferred, sleep, UUID_V4, within } from './lib/util.mjs';

const CONCURRENCY = 3;
const JOBS = 300;

let consumer; // owns the queues' target functions
let producer; // enqueues
let onJob = () => {}; // what conc::job does besides counting, per test
let onPing = () => {};

const env = useEngine(
  {
    queues: {
      limited: { type: 'standard', concurrency: CONCURRENCY, max_retries: 3, backoff_ms: 50 },
      idle: { type: 'standard', concurrency: 10, max_retries: 1 },
    },
  },
  async ({ url }) => {
    consumer = await connectWorker(url, {
      name: 'consumer',
      functions: {
        'conc::job': (payload) => onJob(payload),
        'idle::ping': async (payload) => onPing(payload),
      },
    });
    producer = await connectWorker(url, { name: 'producer' });
  },
);

test('a job enqueued to an idle queue with a ready worker starts at once', { timeout: 15000 }, async () => {
  const figures = [];
  for (let i = 0; i < 5; i++) {
    const started = deferred();
    onPing = (payload) => {
      started.resolve({ at: performance.now(), payload });
      return { ok: true };
    };
    const t0 = performance.now();
    await enqueue(producer, 'idle', 'idle::ping', { i });
    const { at, payload } = await within(5000, started.promise, `job ${i} starting`);
    assert.deepEqual(payload, { i }, 'the handler gets exactly the enqueued payload');
    figures.push(at - t0);
    await queueIdle(producer, 'idle');
  }
  const fmt = figures.map((ms) => ms.toFixed(1)).join(', ');
  console.log(`enqueue -> handler start (ms, incl. the enqueue round trip): ${fmt}`);
  // The spec promises ~1 ms; 500 ms keeps a loaded 2-core machine from
  // failing this while still catching a poll interval-style delay.
  for (const ms of figures) assert.ok(ms < 500, `a job started ${ms.toFixed(1)} ms after its enqueue (${fmt})`);
});

test(`concurrency ${CONCURRENCY}: ${JOBS} jobs, never more than ${CONCURRENCY} in flight, each run once`, { timeout: 45000 }, async () => {
  const runs = new Map(); // payload id -> handler calls
  let inFlight = 0;
  let maxInFlight = 0;
  let finished = 0;
  const allDone = deferred();
  onJob = async ({ id }) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    runs.set(id, (runs.get(id) ?? 0) + 1);
    try {
      await sleep(1 + Math.floor(Math.random() * 10)); // 1-10 ms of "work"
    } finally {
      inFlight--;
    }
    if (++finished === JOBS) allDone.resolve();
    return { id };
  };

  const t0 = performance.now();
  const receipts = await Promise.all(
    Array.from({ length: JOBS }, (_, id) => enqueue(producer, 'limited', 'conc::job', { id })),
  );
  const enqueuedMs = performance.now() - t0;
  await within(40000, allDone.promise, `all ${JOBS} jobs finishing (${finished} finished)`);
  const elapsedMs = performance.now() - t0;
  console.log(
    `max in flight ${maxInFlight} (limit ${CONCURRENCY}); ${JOBS} jobs enqueued in ${enqueuedMs.toFixed(0)} ms, ` +
      `all done after ${elapsedMs.toFixed(0)} ms`,
  );

  // Leave time for a duplicate delivery to show up before counting runs.
  await sleep(300);
  const stats = await queueIdle(producer, 'limited');

  assert.equal(maxInFlight, CONCURRENCY, `observed max in flight ${maxInFlight}, limit ${CONCURRENCY}`);
  const missing = [];
  const twice = [];
  for (let id = 0; id < JOBS; id++) {
    const n = runs.get(id) ?? 0;
    if (n === 0) missing.push(id);
    if (n > 1) twice.push(`${id}x${n}`);
  }
  assert.deepEqual(missing, [], 'jobs never run');
  assert.deepEqual(twice, [], 'jobs run more than once');
  assert.equal(runs.size, JOBS, 'no job with an unknown id ran');

  for (const r of receipts) assert.match(r, UUID_V4);
  assert.equal(new Set(receipts).size, JOBS, 'every receipt is distinct');

  assert.equal(stats.enqueued_total, JOBS);
  assert.equal(stats.succeeded_total, JOBS);
  assert.equal(stats.failed_attempts_total, 0);
  assert.equal(stats.dlq, 0);
});

test('stats of the limited queue while it is busy never show more than concurrency in flight', { timeout: 20000 }, async () => {
  // The engine's own view of the limit, sampled while 60 slow-ish jobs run.
  let done = 0;
  const allDone = deferred();
  onJob = async () => {
    await sleep(20);
    if (++done === 60) allDone.resolve();
    return {};
  };
  await Promise.all(Array.from({ length: 60 }, (_, id) => enqueue(producer, 'limited', 'conc::job', { id })));
  const seen = [];
  while (done < 60) {
    const s = await queueStats(producer, 'limited');
    seen.push(s.in_flight);
    assert.ok(s.in_flight <= CONCURRENCY, `stats in_flight ${s.in_flight}: ${JSON.stringify(s)}`);
    await sleep(10);
  }
  await within(10000, allDone.promise, 'the 60 jobs');
  assert.ok(seen.some((n) => n === CONCURRENCY), `stats showed in_flight ${[...new Set(seen)]}`);
});
