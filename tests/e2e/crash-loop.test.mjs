// A job that makes the engine die on every run (README: The durable store,
// max_crash_recoveries): here the test kills the engine with SIGKILL each
// time the job's handler starts, and starts it again on the same port and
// file_based store. Without a bound the job would run forever, since an
// attempt cut off by a crash is not charged. With max_crash_recoveries 2
// and max_retries 2, each second crash charges the cut-off attempt with the
// error engine_crash, so after four crashes the job is in the DLQ with that
// error; a job enqueued beside it, and one enqueued after, succeed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineConfig, startEngine, storeDir } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { dlqMessages, enqueue, queueStats, statsEventually } from './lib/queues.mjs';
import { deferred, eventually, sleep, within } from './lib/util.mjs';

cleanUpAfterAll();

const FAST_RECONNECT = { reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 500, jitterFactor: 0.2 } };
// An attempt's start is written to the store asynchronously (next group
// commit, a few ms): the kill waits this long so that it is on disk.
const START_WRITTEN_MS = 300;

test('a job that crashes the engine on every run ends in the DLQ with engine_crash; other jobs are unaffected', { timeout: 90000 }, async () => {
  const storePath = storeDir();
  const queues = {
    loop: { type: 'standard', max_retries: 2, max_crash_recoveries: 2, backoff_ms: 50, concurrency: 5 },
  };
  let engine = await startEngine({ config: engineConfig({ queues, storePath }) });
  const port = engine.port;
  const config = engineConfig({ queues, storePath, port });

  let crashing = deferred(); // resolved when the poison job's handler starts
  let poisonRuns = 0;
  const done = []; // n of every job that succeeded
  const worker = await connectWorker(engine.url, {
    name: 'loop-worker',
    options: FAST_RECONNECT,
    functions: {
      'loop::poison': async () => {
        poisonRuns += 1;
        crashing.resolve();
        await sleep(60000); // the engine dies first
        return {};
      },
      'loop::ok': async ({ n }) => {
        done.push(n);
        return { n };
      },
    },
  });

  const poison = await enqueue(worker, 'loop', 'loop::poison', { what: 'poison' });
  const ok1 = await enqueue(worker, 'loop', 'loop::ok', { n: 1 });
  assert.ok(ok1);

  const logs = [];
  for (let crash = 1; crash <= 4; crash += 1) {
    await within(20000, crashing.promise, `the poison job's run ${crash}`);
    crashing = deferred();
    await sleep(START_WRITTEN_MS);
    assert.equal(await engine.kill9(), 'SIGKILL');
    engine = await startEngine({ config });
    assert.equal(engine.port, port);
    await eventually(() => worker.trigger({ function_id: 'engine::queue::stats', payload: {}, timeoutMs: 500 }), {
      timeoutMs: 15000,
      intervalMs: 50,
      what: 'the worker back on the restarted engine',
    });
    logs.push(engine.logs());
  }
  // Crashes 1 and 3 are recovered uncharged; 2 and 4 charge attempts 1 and 2.
  assert.match(logs[0], /job\(s\) were running when the engine last stopped/);
  assert.doesNotMatch(logs[0], /charged as failed/);
  assert.match(logs[1], new RegExp(`job ${poison} was running at 2 engine crashes in a row; its attempt 1 is charged as failed \\(engine_crash\\)`));
  assert.match(logs[3], new RegExp(`job ${poison} was running at 2 engine crashes in a row; its attempt 2 is charged as failed`));
  assert.match(logs[3], new RegExp(`job ${poison} moved to the dead-letter queue after 2 attempts; last error engine_crash`));

  const stats = await statsEventually(worker, 'loop', (s) => assert.equal(s.dlq, 1, JSON.stringify(s)), { what: 'the poison job dead' });
  assert.equal(stats.waiting + stats.delayed + stats.in_flight, 0, JSON.stringify(stats));
  const [entry] = await dlqMessages(worker, 'loop');
  assert.equal(entry.id, poison);
  assert.equal(entry.retries, 2);
  assert.equal(entry.error?.code, 'engine_crash');
  assert.match(entry.error?.message, /the engine stopped without finishing attempt 2 of this job, 2 times in a row \(max_crash_recoveries 2\)/);
  assert.equal(poisonRuns, 4, 'four runs, four crashes, then never again');

  // The other jobs: the one enqueued beside it succeeded, and the queue works.
  await eventually(() => assert.ok(done.includes(1), `done: ${done}`), { timeoutMs: 10000, what: 'job 1' });
  await enqueue(worker, 'loop', 'loop::ok', { n: 2 });
  await eventually(() => assert.ok(done.includes(2), `done: ${done}`), { timeoutMs: 10000, what: 'job 2' });
  await sleep(300);
  assert.equal(poisonRuns, 4);
  assert.equal((await queueStats(worker, 'loop')).dlq, 1);

  await closeWorker(worker);
  assert.equal(await engine.stop('SIGTERM'), 0);
});
