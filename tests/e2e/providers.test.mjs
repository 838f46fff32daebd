// Several workers serving one function id: sync calls and queue jobs are
// spread over all of them; a worker leaving mid-run loses no call or job;
// after an engine restart each reconnected worker is one provider again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { useEngine } from './lib/setup.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';
import { enqueue, queueIdle, queueStats } from './lib/queues.mjs';
import { eventually } from './lib/util.mjs';

const N = 300;
const WINDOW = 10; // calls in flight at once
let caller;

const env = useEngine(
  { queues: { spread: { type: 'standard', concurrency: 10, max_retries: 3, backoff_ms: 50 } } },
  async ({ url }) => {
    caller = await connectWorker(url, { name: 'caller' });
  },
);

/**
 * Starts `names.length` workers serving `id`. Each records the sync calls
 * (payload.call) and jobs (payload.job) it ran in `seen[name]`.
 */
async function startProviders(id, names) {
  const seen = {};
  const workers = {};
  for (const name of names) {
    seen[name] = { calls: [], jobs: [] };
    const iii = await connectWorker(env.url, { name });
    iii.registerFunction(id, async (payload) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (payload.call !== undefined) seen[name].calls.push(payload.call);
      if (payload.job !== undefined) seen[name].jobs.push(payload.job);
      return { by: name };
    });
    await sync(iii);
    workers[name] = iii;
  }
  return { seen, workers };
}

/**
 * Runs `n` sync calls of `id`, WINDOW at a time; `onStart(i)` before and
 * `onDone(i)` after each.
 */
async function callMany(id, n, { onStart = async () => {}, onDone = async () => {} } = {}) {
  const results = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await onStart(i);
      results[i] = await caller.trigger({ function_id: id, payload: { call: i }, timeoutMs: 10000 });
      await onDone(i);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return results;
}

function assertFairShares(counts, total, what) {
  console.log(`${what}: ${JSON.stringify(counts)}`);
  for (const [name, n] of Object.entries(counts)) {
    assert.ok(n > total * 0.2, `${name} got ${n} of ${total} ${what}: ${JSON.stringify(counts)}`);
  }
}

const counts = (seen, kind) => Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v[kind].length]));

const allOf = (seen, kind) =>
  Object.values(seen)
    .flatMap((v) => v[kind])
    .sort((a, b) => a - b);

const range = (n) => Array.from({ length: n }, (_, i) => i);

test('sync calls and queue jobs are spread over three workers serving one id', { timeout: 60000 }, async () => {
  const { seen, workers } = await startProviders('spread::fn', ['p1', 'p2', 'p3']);

  const results = await callMany('spread::fn', N);
  assert.equal(results.filter((r) => typeof r?.by === 'string').length, N);
  assert.deepEqual(allOf(seen, 'calls'), range(N), 'every call ran exactly once');
  assertFairShares(counts(seen, 'calls'), N, 'sync calls');

  for (let i = 0; i < N; i++) await enqueue(caller, 'spread', 'spread::fn', { job: i });
  await queueIdle(caller, 'spread', { timeoutMs: 30000 });
  assert.deepEqual(allOf(seen, 'jobs'), range(N), 'every job ran exactly once');
  assertFairShares(counts(seen, 'jobs'), N, 'queue jobs');
  const stats = await queueStats(caller, 'spread');
  assert.equal(stats.dlq, 0, JSON.stringify(stats));

  for (const iii of Object.values(workers)) await closeWorker(iii);
});

test('a worker leaving mid-run loses no call and no job', { timeout: 60000 }, async () => {
  const { seen, workers } = await startProviders('leave::fn', ['l1', 'l2', 'l3']);
  const before = await queueStats(caller, 'spread');

  // Jobs are enqueued, and run, while the sync calls do.
  const enqueued = (async () => {
    for (let i = 0; i < N; i++) await enqueue(caller, 'spread', 'leave::fn', { job: i });
  })();

  // After a third of the calls l3 closes its connection, with jobs running
  // on it. A sync call the engine has sent to a worker fails when the
  // worker goes away (invocation_stopped), so the callers pause until their
  // calls are answered and the engine has seen the close; jobs do not pause.
  // Calls finish out of order, so the calls that must miss l3 are those
  // that start after it left, whatever their index.
  let gate = null;
  let inFlight = 0;
  let leaving;
  let left = false;
  const afterLeave = [];
  const results = await callMany('leave::fn', N, {
    onStart: async (i) => {
      while (gate) await gate;
      inFlight++;
      if (left) afterLeave.push(i);
    },
    onDone: async (i) => {
      inFlight--;
      if (i !== N / 3) return;
      let open;
      gate = new Promise((resolve) => (open = resolve));
      leaving = (async () => {
        await eventually(async () => assert.equal(inFlight, 0), { intervalMs: 5, what: 'calls answered' });
        await closeWorker(workers.l3);
        // The registry drops a worker's functions and its row in
        // engine::workers::list in one step.
        await eventually(
          async () => {
            const { workers: rows } = await caller.trigger({ function_id: 'engine::workers::list', payload: {}, timeoutMs: 5000 });
            assert.ok(!rows.some((w) => w.name === 'l3'));
          },
          { intervalMs: 20, what: 'l3 gone from engine::workers::list' },
        );
        left = true;
        gate = null;
        open();
      })();
    },
  });
  await leaving;
  await enqueued;
  assert.equal(results.filter((r) => typeof r?.by === 'string').length, N, 'every call answered');
  assert.deepEqual(allOf(seen, 'calls'), range(N), 'every call ran exactly once');
  assert.ok(afterLeave.length >= N / 2, `${afterLeave.length} calls started after l3 left`);
  const onL3 = afterLeave.filter((i) => results[i].by === 'l3');
  assert.deepEqual(onL3, [], 'no call reaches l3 once it has left');

  await queueIdle(caller, 'spread', { timeoutMs: 30000 });
  assert.deepEqual([...new Set(allOf(seen, 'jobs'))], range(N), 'every job ran');
  const after = await queueStats(caller, 'spread');
  assert.equal(after.dlq, before.dlq, `no job dead-lettered: ${JSON.stringify(after)}`);
  assert.equal(after.succeeded_total - before.succeeded_total, N, JSON.stringify(after));
  console.log(
    `calls: ${JSON.stringify(counts(seen, 'calls'))}, jobs: ${JSON.stringify(counts(seen, 'jobs'))}, ` +
      `failed attempts: ${after.failed_attempts_total - before.failed_attempts_total}`,
  );
  assert.ok(seen.l3.calls.length > 0, 'l3 served calls before it left');

  await closeWorker(workers.l1);
  await closeWorker(workers.l2);
});

test('after an engine restart each reconnected worker is one provider again', { timeout: 60000 }, async () => {
  const first = await startEngine();
  const byName = {};
  const workers = [];
  for (const name of ['r1', 'r2']) {
    byName[name] = 0;
    workers.push(
      await connectWorker(first.url, {
        name,
        functions: {
          'again::fn': async () => {
            byName[name]++;
            return { by: name };
          },
        },
      }),
    );
  }
  assert.equal(await first.stop('SIGTERM'), 0);
  await startEngine({ config: engineConfig({ port: first.port }) });

  // Each SDK reconnects (sending reattach) and replays its registrations.
  for (const iii of workers) await sync(iii, { timeoutMs: 20000 });
  byName.r1 = byName.r2 = 0;
  for (let i = 0; i < 20; i++) {
    const r = await workers[0].trigger({ function_id: 'again::fn', payload: { i }, timeoutMs: 5000 });
    assert.ok(r.by === 'r1' || r.by === 'r2', JSON.stringify(r));
  }
  // Round-robin over exactly two providers: a worker registered twice would
  // take two turns in three.
  assert.deepEqual(byName, { r1: 10, r2: 10 });
  for (const iii of workers) await closeWorker(iii);
});
