// The dead-letter queue and delayed jobs of a file_based store across engine
// restarts (README: Queues, The durable store): a graceful (SIGTERM) restart
// and a kill -9 keep the DLQ as it was; redrive_message works on a recovered
// dead job; a discarded job stays gone; a job waiting for its retry keeps its
// due time and its attempt count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineConfig, startEngine, storeDir } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import {
  discardMessage,
  dlqMessages,
  enqueue,
  queueIdle,
  queueStats,
  redriveMessage,
  statsEventually,
} from './lib/queues.mjs';
import { deferred, eventually, sleep, within } from './lib/util.mjs';

cleanUpAfterAll();

// The SDK's own reconnect, only quicker than its default (1 s, 2 s, 4 s ...).
const FAST_RECONNECT = { reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 500, jitterFactor: 0.2 } };

/** `[queue Q] recovered W waiting (...), D delayed, X dead` from an engine log. */
function recovered(engine, queue) {
  const m = new RegExp(`\\[queue ${queue}\\] recovered (\\d+) waiting .*?, (\\d+) delayed, (\\d+) dead`).exec(engine.logs());
  assert.ok(m, `no recovery line for queue ${queue} in:\n${engine.logs()}`);
  return { waiting: Number(m[1]), delayed: Number(m[2]), dead: Number(m[3]) };
}

/**
 * Stops `engine` (SIGTERM: exit 0 expected; SIGKILL: kill -9) and starts a new
 * one with `config` on the same port, then waits until `worker` talks to it.
 */
async function restart(engine, how, config, worker) {
  if (how === 'SIGTERM') assert.equal(await engine.stop('SIGTERM'), 0, 'exit status after SIGTERM');
  else assert.equal(await engine.kill9(), 'SIGKILL');
  const next = await startEngine({ config });
  assert.equal(next.port, engine.port);
  await eventually(() => worker.trigger({ function_id: 'engine::queue::stats', payload: {}, timeoutMs: 500 }), {
    timeoutMs: 10000,
    intervalMs: 50,
    what: 'the worker back on the restarted engine',
  });
  return next;
}

test('the DLQ survives a SIGTERM restart and a kill -9; redrive_message and discard work across them', { timeout: 45000 }, async () => {
  const storePath = storeDir();
  const queues = { dead: { type: 'standard', max_retries: 2, backoff_ms: 10, concurrency: 5 } };
  let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
  const config = engineConfig({ queues, storePath, port: engine.port });

  let healed = false;
  const calls = []; // payload.n of every attempt
  let succeeded = deferred();
  const worker = await connectWorker(engine.url, {
    name: 'dlq-worker',
    options: FAST_RECONNECT,
    functions: {
      'dead::job': async ({ n }) => {
        calls.push(n);
        if (!healed) throw new Error(`job ${n} fails (call ${calls.length})`);
        succeeded.resolve(n);
        return { n };
      },
    },
  });

  const ids = {};
  for (const n of [1, 2, 3]) {
    ids[n] = await enqueue(worker, 'dead', 'dead::job', { n, text: `payload ${n} é✓` });
    // One at a time: the DLQ lists newest first, by failed_at.
    await statsEventually(worker, 'dead', (s) => assert.equal(s.dlq, n, JSON.stringify(s)), { what: `job ${n} dead` });
  }
  assert.equal(calls.length, 6, 'two attempts each');
  const before = await dlqMessages(worker, 'dead');
  assert.deepEqual(before.map((d) => d.id), [ids[3], ids[2], ids[1]], 'newest first');
  for (const d of before) {
    assert.equal(d.retries, 2);
    assert.equal(d.error?.code, 'invocation_failed');
    assert.match(d.error?.message, /^job \d fails \(call \d\)$/);
  }

  // Discarded before the restarts: it must not come back.
  assert.deepEqual(await discardMessage(worker, 'dead', ids[2]), { queue: 'dead', message_id: ids[2], discarded: 1 });
  const kept = before.filter((d) => d.id !== ids[2]);
  assert.deepEqual(await dlqMessages(worker, 'dead'), kept);

  for (const how of ['SIGTERM', 'SIGKILL']) {
    if (how === 'SIGKILL') await sleep(300); // the discard is written asynchronously (next group commit)
    engine = await restart(engine, how, config, worker);
    assert.deepEqual(recovered(engine, 'dead'), { waiting: 0, delayed: 0, dead: 2 }, `recovery after ${how}`);
    const after = await dlqMessages(worker, 'dead');
    // The same entries: ids, payloads, the last error, retries, timestamps.
    assert.deepEqual(after, kept, `the DLQ after a ${how} restart`);
    const stats = await queueStats(worker, 'dead');
    assert.equal(stats.dlq, 2, `stats after ${how}: ${JSON.stringify(stats)}`);
    assert.equal(stats.waiting + stats.delayed + stats.in_flight, 0, JSON.stringify(stats));
    assert.equal(calls.length, 6, `no dead job ran again after the ${how} restart`);
    assert.deepEqual(await redriveMessage(worker, 'dead', ids[2]), { queue: 'dead', message_id: ids[2], redriven: 0 }, 'discarded stays gone');
  }

  // The handler succeeds now: redrive job 1 out of the recovered DLQ.
  healed = true;
  assert.deepEqual(await redriveMessage(worker, 'dead', ids[1]), { queue: 'dead', message_id: ids[1], redriven: 1 });
  assert.equal(await within(5000, succeeded.promise, 'the redriven job'), 1);
  const idle = await queueIdle(worker, 'dead');
  assert.equal(idle.dlq, 1);
  assert.equal(idle.succeeded_total, 1);
  assert.deepEqual((await dlqMessages(worker, 'dead')).map((d) => d.id), [ids[3]], 'job 1 left the DLQ');

  // And that is on disk too: after one more kill -9, only job 3 is dead and
  // job 1 does not run again.
  await sleep(300); // the ack is written asynchronously (next group commit)
  succeeded = deferred();
  engine = await restart(engine, 'SIGKILL', config, worker);
  assert.deepEqual(recovered(engine, 'dead'), { waiting: 0, delayed: 0, dead: 1 });
  assert.deepEqual(await dlqMessages(worker, 'dead'), kept.filter((d) => d.id === ids[3]));
  await sleep(300);
  assert.deepEqual(calls, [1, 1, 2, 2, 3, 3, 1], 'every attempt, in order: job 1 ran once after its redrive');

  await closeWorker(worker);
  assert.equal(await engine.stop('SIGTERM'), 0);
});

test('a job waiting for its retry survives a kill -9: it runs when due, with its attempts counted', { timeout: 30000 }, async () => {
  const BACKOFF_MS = 1500;
  // max_backoff_ms caps the 2nd wait at 1.5 s too (instead of 3 s).
  const queues = { later: { type: 'standard', max_retries: 3, backoff_ms: BACKOFF_MS, max_backoff_ms: BACKOFF_MS, concurrency: 5 } };
  const storePath = storeDir();
  let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
  const config = engineConfig({ queues, storePath, port: engine.port });

  const attempts = []; // Date.now() of each attempt's start
  const worker = await connectWorker(engine.url, {
    name: 'later-worker',
    options: FAST_RECONNECT,
    functions: {
      'later::job': async () => {
        attempts.push(Date.now());
        throw new Error(`attempt ${attempts.length} fails`);
      },
    },
  });

  const id = await enqueue(worker, 'later', 'later::job', { what: 'survive in backoff' });
  await statsEventually(worker, 'later', (s) => assert.equal(s.delayed, 1, JSON.stringify(s)), { what: 'the job in backoff' });
  assert.equal(attempts.length, 1);
  const due = attempts[0] + BACKOFF_MS;
  await sleep(300); // the retry is written asynchronously (next group commit)

  const killedAt = Date.now();
  engine = await restart(engine, 'SIGKILL', config, worker);
  const backAt = Date.now();
  assert.deepEqual(recovered(engine, 'later'), { waiting: 0, delayed: 1, dead: 0 });
  const s0 = await queueStats(worker, 'later');
  assert.equal(s0.delayed, 1, `still waiting for its due time: ${JSON.stringify(s0)}`);
  assert.equal(attempts.length, 1, 'not run at once after the restart');
  console.log(`killed ${killedAt - attempts[0]} ms after attempt 1, engine and worker back after ${backAt - killedAt} ms, due ${due - backAt} ms later`);

  // Attempt 2 when it is due (not before; not much after), attempt 3 one
  // backoff later, then the DLQ: 3 attempts in all, not 1 + 3.
  const dead = await statsEventually(worker, 'later', (s) => assert.equal(s.dlq, 1, JSON.stringify(s)), {
    timeoutMs: 3 * BACKOFF_MS + 3000,
    what: 'the job in the DLQ',
  });
  await sleep(200);
  assert.equal(attempts.length, 3, `attempts: ${attempts.map((t) => t - attempts[0]).join(', ')} ms`);
  const late = attempts[1] - due;
  console.log(`attempt 2 at +${attempts[1] - attempts[0]} ms (due +${BACKOFF_MS}), attempt 3 at +${attempts[2] - attempts[0]} ms`);
  assert.ok(late >= -5, `attempt 2 came ${-late} ms before its due time`);
  assert.ok(late < 500, `attempt 2 came ${late} ms after its due time`);
  assert.ok(attempts[2] - attempts[1] >= BACKOFF_MS - 5, 'attempt 3 one backoff after attempt 2');
  // Stats count from the restart on: two failed attempts there, then dead.
  assert.equal(dead.failed_attempts_total, 2, JSON.stringify(dead));
  assert.equal(dead.dead_total, 1);
  const [entry] = await dlqMessages(worker, 'later');
  assert.equal(entry.id, id);
  assert.equal(entry.retries, 3, 'the attempt before the crash is counted');
  assert.equal(entry.error?.message, 'attempt 3 fails');

  await closeWorker(worker);
  assert.equal(await engine.stop('SIGTERM'), 0);
});

test('a FIFO group waiting for its head job’s retry still waits after a kill -9, then runs in order', { timeout: 30000 }, async () => {
  const BACKOFF_MS = 1000;
  const queues = { ordered: { type: 'fifo', message_group_field: 'g', max_retries: 3, backoff_ms: BACKOFF_MS, concurrency: 5 } };
  const storePath = storeDir();
  let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
  const config = engineConfig({ queues, storePath, port: engine.port });

  const runs = []; // {n, at, ok}
  const worker = await connectWorker(engine.url, {
    name: 'fifo-worker',
    options: FAST_RECONNECT,
    functions: {
      'ordered::job': async ({ n }) => {
        const ok = !(n === 1 && !runs.some((r) => r.n === 1)); // job 1 fails once
        runs.push({ n, at: Date.now(), ok });
        if (!ok) throw new Error('job 1 fails once');
        return { n };
      },
    },
  });
  for (const n of [1, 2, 3]) await enqueue(worker, 'ordered', 'ordered::job', { g: 'a', n });
  await enqueue(worker, 'ordered', 'ordered::job', { g: 'b', n: 10 }); // another group: not held back
  await statsEventually(
    worker,
    'ordered',
    (s) => {
      assert.equal(s.delayed, 1, JSON.stringify(s));
      assert.equal(s.succeeded_total, 1, JSON.stringify(s));
    },
    { what: 'group a in backoff, group b done' },
  );
  await sleep(300); // the retry and the ack are written asynchronously (next group commit)

  engine = await restart(engine, 'SIGKILL', config, worker);
  // Job 1 waits for its retry; 2 and 3 wait behind it.
  assert.deepEqual(recovered(engine, 'ordered'), { waiting: 2, delayed: 1, dead: 0 });
  await queueIdle(worker, 'ordered', { timeoutMs: BACKOFF_MS + 5000 });
  await sleep(100);
  assert.deepEqual(
    runs.map((r) => [r.n, r.ok]),
    [[1, false], [10, true], [1, true], [2, true], [3, true]],
    'group a in order through the retry and the kill; group b once',
  );
  const gap = runs[2].at - runs[0].at;
  assert.ok(gap >= BACKOFF_MS - 5, `job 1's retry came ${gap} ms after its failure`);
  assert.deepEqual(await dlqMessages(worker, 'ordered'), [], 'nothing dead');

  await closeWorker(worker);
  assert.equal(await engine.stop('SIGTERM'), 0);
});

// The engine dispatches the jobs it recovered as soon as it starts, before
// any worker could reconnect. During the start-up grace period (10 s by
// default) a function_not_found failure is not charged, so with max_retries 1
// the recovered jobs, also the one in flight at the crash, still run (a
// recovered job "runs again", README: The durable store). The SDK's default
// reconnect is used: ~1 s.
test(
  'jobs recovered after a kill -9 wait for their worker instead of failing with function_not_found',
  { timeout: 30000 },
  async () => {
    const queues = { once: { type: 'standard', max_retries: 1, concurrency: 1 } };
    const storePath = storeDir();
    let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
    const config = engineConfig({ queues, storePath, port: engine.port });
    const ran = [];
    const release = deferred();
    const worker = await connectWorker(engine.url, {
      name: 'once-worker',
      functions: {
        'once::job': async ({ n }) => {
          ran.push(n);
          if (ran.length === 1) await release.promise; // job 1 holds the only slot until the kill
          return { n };
        },
      },
    });
    for (const n of [1, 2, 3]) await enqueue(worker, 'once', 'once::job', { n });
    await eventually(() => assert.deepEqual(ran, [1]), { timeoutMs: 5000, intervalMs: 20, what: 'job 1 running' });

    assert.equal(await engine.kill9(), 'SIGKILL');
    engine = await startEngine({ config });
    await eventually(() => worker.trigger({ function_id: 'engine::queue::stats', payload: {}, timeoutMs: 500 }), {
      timeoutMs: 10000,
      intervalMs: 50,
      what: 'the worker back on the restarted engine',
    });
    release.resolve();
    const stats = await queueIdle(worker, 'once', { timeoutMs: 5000 });
    const dead = await dlqMessages(worker, 'once');
    await closeWorker(worker);
    await engine.stop('SIGTERM');
    assert.deepEqual(
      dead.map((d) => [d.payload.n, d.error.code]),
      [],
      `dead after the restart (stats ${JSON.stringify(stats)})`,
    );
    assert.deepEqual(ran, [1, 1, 2, 3], 'job 1 ran again, then 2 and 3');
  },
);
