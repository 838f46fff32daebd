// FIFO queues (README: Queues): one group's jobs run one after another in
// enqueue order, retries included; different groups run side by side.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { enqueue, queueIdle } from './lib/queues.mjs';
import { deferred, seededRandom, sleep, testSeed, within } from './lib/util.mjs';

const GROUPS = 50;
const PER_GROUP = 40;
const JOBS = GROUPS * PER_GROUP;
const BLOCK_BACKOFF_MS = 400;

let consumer;
let producer;
let onOrdered = () => {};
let onBlocking = () => {};

const env = useEngine(
  {
    queues: {
      ordered: { type: 'fifo', message_group_field: 'g', concurrency: 10, max_retries: 5, backoff_ms: 20 },
      blocking: {
        type: 'fifo',
        message_group_field: 'g',
        concurrency: 10,
        max_retries: 3,
        backoff_ms: BLOCK_BACKOFF_MS,
      },
    },
  },
  async ({ url }) => {
    consumer = await connectWorker(url, {
      name: 'consumer',
      functions: {
        'fifo::ordered': (payload) => onOrdered(payload),
        'fifo::blocking': (payload) => onBlocking(payload),
      },
    });
    producer = await connectWorker(url, { name: 'producer' });
  },
);

test(`${GROUPS} groups x ${PER_GROUP} jobs with ~15% failing once or twice: per-group order holds`, { timeout: 50000 }, async () => {
  const seed = testSeed();
  console.log(`fifo seed ${seed} (replay with E2E_SEED=${seed})`);
  const random = seededRandom(seed);
  // failuresOf[g][s]: how often job s of group g fails before it succeeds.
  const failuresOf = Array.from({ length: GROUPS }, () =>
    Array.from({ length: PER_GROUP }, () => (random() < 0.15 ? (random() < 0.5 ? 1 : 2) : 0)),
  );
  const plannedFailures = failuresOf.flat().reduce((a, b) => a + b, 0);
  const failingJobs = failuresOf.flat().filter((n) => n > 0).length;

  const calls = new Map(); // `${g}/${s}` -> handler calls so far
  const succeeded = new Set(); // `${g}/${s}`
  const firstSuccesses = Array.from({ length: GROUPS }, () => []); // per group: seq in order of first success
  const violations = [];
  const active = new Map(); // group -> handlers of it running now
  let maxGroupsAtOnce = 0;
  let done = 0;
  const allDone = deferred();

  onOrdered = async ({ g, s }) => {
    const key = `${g}/${s}`;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    if (succeeded.has(key)) violations.push(`${key} ran again (call ${n}) after it succeeded`);
    const group = Number(g.slice(1));
    if (s > 0 && !succeeded.has(`${g}/${s - 1}`)) violations.push(`${key} started before ${g}/${s - 1} succeeded`);
    active.set(g, (active.get(g) ?? 0) + 1);
    if (active.get(g) > 1) violations.push(`${active.get(g)} handlers of group ${g} at once (at ${key})`);
    maxGroupsAtOnce = Math.max(maxGroupsAtOnce, active.size);
    try {
      await sleep(Math.floor(Math.random() * 3)); // 0-2 ms of "work" (not from the seeded plan)
    } finally {
      if (active.get(g) === 1) active.delete(g);
      else active.set(g, active.get(g) - 1);
    }
    if (n <= failuresOf[group][s]) throw new Error(`planned failure ${n} of ${key}`);
    if (!succeeded.has(key)) {
      succeeded.add(key);
      firstSuccesses[group].push(s);
      if (++done === JOBS) allDone.resolve();
    }
    return { ok: key };
  };

  // Interleaved: one chain per group, all chains at once, so consecutive
  // enqueues come from different groups. Within a chain each enqueue waits
  // for the previous receipt, which fixes the group's enqueue order.
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: GROUPS }, async (_, group) => {
      for (let s = 0; s < PER_GROUP; s++) await enqueue(producer, 'ordered', 'fifo::ordered', { g: `g${group}`, s });
    }),
  );
  const enqueuedMs = performance.now() - t0;
  await within(40000, allDone.promise, `all ${JOBS} jobs succeeding (${done} did)`);
  const elapsedMs = performance.now() - t0;
  await sleep(200); // a late duplicate would show up here
  const stats = await queueIdle(producer, 'ordered');

  const outOfOrder = firstSuccesses
    .map((seqs, group) => ({ group, seqs }))
    .filter(({ seqs }) => seqs.some((s, i) => s !== i));
  console.log(
    `fifo: ${JOBS} jobs (${failingJobs} failing, ${plannedFailures} planned failures) enqueued in ${enqueuedMs.toFixed(0)} ms, ` +
      `all succeeded after ${elapsedMs.toFixed(0)} ms; max groups in a handler at once ${maxGroupsAtOnce}; ` +
      `groups out of order ${outOfOrder.length}; violations ${violations.length}; ` +
      `stats ${JSON.stringify(stats)}`,
  );

  assert.deepEqual(violations.slice(0, 20), [], `${violations.length} ordering violations`);
  assert.deepEqual(
    outOfOrder.slice(0, 3).map(({ group, seqs }) => `g${group}: ${seqs.join(',')}`),
    [],
    'first successes per group in enqueue order',
  );
  assert.equal(succeeded.size, JOBS, 'every job succeeded');
  for (let group = 0; group < GROUPS; group++) {
    for (let s = 0; s < PER_GROUP; s++) {
      assert.equal(calls.get(`g${group}/${s}`), failuresOf[group][s] + 1, `handler calls of g${group}/${s}`);
    }
  }
  assert.ok(maxGroupsAtOnce >= 2, `groups ran in parallel: at most ${maxGroupsAtOnce} group(s) in a handler at once`);
  assert.ok(maxGroupsAtOnce <= 10, `at most concurrency (10) groups at once, saw ${maxGroupsAtOnce}`);
  assert.equal(stats.enqueued_total, JOBS);
  assert.equal(stats.succeeded_total, JOBS);
  assert.equal(stats.failed_attempts_total, plannedFailures);
  assert.equal(stats.dlq, 0);
});

test('a job waiting for its retry holds back its own group but not another group', { timeout: 20000 }, async () => {
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const events = []; // [name, ms since t0]
  const calls = new Map();
  const a1Failed = deferred();
  let finished = 0;
  const allDone = deferred();
  onBlocking = async ({ g, s }) => {
    const key = `${g}${s}`;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    events.push([`start ${key}#${n}`, at()]);
    await sleep(5);
    if (key === 'A1' && n === 1) {
      events.push([`fail ${key}#${n}`, at()]);
      a1Failed.resolve();
      throw new Error('A1 fails its first attempt');
    }
    events.push([`done ${key}`, at()]);
    if (++finished === 6) allDone.resolve();
    return {};
  };
  // A1 A2 B1 B2 now; A3 and B3 once A1 has failed, i.e. during its backoff.
  for (const [g, s] of [['A', 1], ['A', 2], ['B', 1], ['B', 2]]) {
    await enqueue(producer, 'blocking', 'fifo::blocking', { g, s });
  }
  await within(5000, a1Failed.promise, 'A1 failing');
  await enqueue(producer, 'blocking', 'fifo::blocking', { g: 'A', s: 3 });
  await enqueue(producer, 'blocking', 'fifo::blocking', { g: 'B', s: 3 });
  await within(10000, allDone.promise, 'the six jobs');
  const when = (name) => {
    const e = events.find(([n]) => n === name);
    assert.ok(e, `no event ${name} in ${JSON.stringify(events)}`);
    return e[1];
  };
  console.log(`blocking timeline (ms): ${events.map(([n, t]) => `${n}@${t.toFixed(0)}`).join(' ')}`);

  const failedAt = when('fail A1#1');
  const a1Retry = when('start A1#2');
  // The retry waits the backoff (its timer starts when the engine has the failure).
  assert.ok(a1Retry - failedAt >= BLOCK_BACKOFF_MS - 5, `A1 retried ${(a1Retry - failedAt).toFixed(0)} ms after failing`);
  // A2 and A3 wait for A1, its retry included, and keep their order.
  assert.ok(when('start A2#1') >= when('done A1'), 'A2 started only after A1 succeeded');
  assert.ok(when('start A3#1') >= when('done A2'), 'A3 started only after A2 succeeded');
  for (const key of ['A2', 'A3', 'B1', 'B2', 'B3']) assert.equal(calls.get(key), 1, `calls of ${key}`);
  // Group B is not held back by A's backoff: all its jobs, B3 enqueued during
  // the backoff included, finish while A1 waits.
  assert.ok(when('start B2#1') >= when('done B1'), 'B2 after B1');
  assert.ok(when('start B3#1') >= when('done B2'), 'B3 after B2');
  assert.ok(when('done B3') < a1Retry, 'group B finished before A1 was retried');
  assert.ok(when('done B3') - failedAt < BLOCK_BACKOFF_MS / 2, "group B ran during A1's backoff, not after it");
});
