// The file_based store against configuration changes and a second engine:
//   - jobs stored for a queue that is no longer configured stay in the store
//     (a warning with their count) and run once the queue is configured again;
//   - a second engine on the same file_path exits with status 3 and says why,
//     without disturbing the first; so does a store that cannot be opened.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { engineConfig, runEngineToExit, startEngine, storeDir } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { enqueue, queueIdle, queueStats } from './lib/queues.mjs';
import { deferred, eventually, rejection, sleep } from './lib/util.mjs';

cleanUpAfterAll();

const FAST_RECONNECT = { reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 500, jitterFactor: 0.2 } };
const KEEP = { type: 'standard', max_retries: 3, backoff_ms: 100, concurrency: 5 };
const GONE = { type: 'standard', max_retries: 3, backoff_ms: 100, concurrency: 1 };

/** Restarts on `port` with `queues`, then waits until `worker` talks to the new engine. */
async function startOn(port, queues, storePath, worker) {
  const engine = await startEngine({ config: engineConfig({ port, queues, storePath }) });
  assert.equal(engine.port, port);
  await eventually(() => worker.trigger({ function_id: 'engine::queue::stats', payload: {}, timeoutMs: 500 }), {
    timeoutMs: 10000,
    intervalMs: 50,
    what: 'the worker back on the restarted engine',
  });
  return engine;
}

test('jobs of a queue removed from the config stay stored and run when it is configured again', { timeout: 45000 }, async () => {
  const storePath = storeDir();
  let engine = await startEngine({ config: engineConfig({ queues: { keep: KEEP, gone: GONE }, storePath }) });
  const port = engine.port;

  // gone::job blocks the first engine's only slot of queue `gone`, so that
  // jobs 2..5 stay waiting (and job 1 in flight) until the kill.
  let mode = 'block';
  const blocked = deferred();
  const ran = { gone: [], keep: [] };
  const worker = await connectWorker(engine.url, {
    name: 'store-config-worker',
    options: FAST_RECONNECT,
    functions: {
      'gone::job': async ({ n }) => {
        ran.gone.push(n);
        if (mode === 'block') return blocked.promise;
        return { n };
      },
      'keep::job': async ({ n }) => {
        ran.keep.push(n);
        return { n };
      },
    },
  });
  for (const n of [1, 2, 3, 4, 5]) await enqueue(worker, 'gone', 'gone::job', { n });
  await eventually(() => assert.deepEqual(ran.gone, [1]), { timeoutMs: 5000, intervalMs: 20, what: 'job 1 running' });
  assert.equal((await queueStats(worker, 'gone')).waiting, 4);

  // kill -9, then a config without `gone`.
  await engine.kill9();
  engine = await startOn(port, { keep: KEEP }, storePath, worker);
  const warning = await eventually(
    () => {
      const line = engine.logs().split('\n').find((l) => /stored jobs belong to queue/.test(l));
      assert.ok(line, 'the warning');
      return line;
    },
    { timeoutMs: 2000, intervalMs: 20, what: 'the warning about queue gone' },
  );
  console.log(`warning: ${warning}`);
  assert.match(warning, /WARN/);
  assert.match(warning, /\b5 stored jobs belong to queue 'gone'/);
  assert.match(engine.logs(), /loaded 5 stored jobs from /);
  // The engine works: `keep` runs jobs; `gone` is unknown.
  await enqueue(worker, 'keep', 'keep::job', { n: 1 });
  await queueIdle(worker, 'keep');
  assert.deepEqual(ran.keep, [1]);
  const err = await rejection(enqueue(worker, 'gone', 'gone::job', { n: 6 }));
  assert.equal(err.code, 'enqueue_error');
  assert.match(err.message, /Queue 'gone' not found/);
  await sleep(300); // keep's ack is written asynchronously (next group commit)

  // A graceful stop of that engine must not touch gone's jobs either.
  assert.equal(await engine.stop('SIGTERM'), 0);
  mode = 'run';
  engine = await startOn(port, { keep: KEEP, gone: GONE }, storePath, worker);
  assert.match(engine.logs(), /loaded 5 stored jobs from /);
  assert.doesNotMatch(engine.logs(), /stored jobs belong to queue/);
  await queueIdle(worker, 'gone', { timeoutMs: 10000 });
  await sleep(100);
  // Job 1 (in flight at the kill) runs again, then 2..5, in order (concurrency 1).
  assert.deepEqual(ran.gone, [1, 1, 2, 3, 4, 5]);
  assert.deepEqual(ran.keep, [1], 'keep’s job did not run again');
  const stats = await queueStats(worker, 'gone');
  assert.equal(stats.succeeded_total, 5, JSON.stringify(stats));
  assert.equal(stats.dlq, 0);

  blocked.resolve({ late: true }); // the first engine's attempt: its result goes nowhere
  await closeWorker(worker);
  assert.equal(await engine.stop('SIGTERM'), 0);
});

test('a second engine on the same file_path exits with status 3 and says the store is in use', { timeout: 30000 }, async () => {
  const storePath = storeDir();
  const queues = { q: KEEP };
  const first = await startEngine({ config: engineConfig({ queues, storePath }) });
  const done = [];
  const worker = await connectWorker(first.url, {
    name: 'first-engine-worker',
    functions: { 'q::job': async ({ n }) => done.push(n) },
  });
  await enqueue(worker, 'q', 'q::job', { n: 1 });

  const second = await runEngineToExit({ config: engineConfig({ queues, storePath }), timeoutMs: 10000 });
  console.log(`second engine: exit ${second.code}; ${second.output.trim().split('\n').at(-1)}`);
  assert.equal(second.code, 3, `exit status; output:\n${second.output}`);
  assert.match(second.output, /cannot open the job store/);
  assert.ok(second.output.includes(storePath), `the message names the store: ${second.output}`);
  assert.match(second.output, /in use|locked/i, 'the message says why');
  assert.doesNotMatch(second.output, /listening for workers/);

  // The first engine goes on as before, with its store.
  await enqueue(worker, 'q', 'q::job', { n: 2 });
  await queueIdle(worker, 'q');
  assert.deepEqual(done, [1, 2]);
  assert.ok(first.alive());
  await closeWorker(worker);
  assert.equal(await first.stop('SIGTERM'), 0);

  // Once the first one is gone, the store opens again.
  const third = await startEngine({ config: engineConfig({ queues, storePath }) });
  assert.match(third.logs(), /loaded 0 stored jobs from /);
  assert.equal(await third.stop('SIGTERM'), 0);
});

test('a store that cannot be opened exits with status 3 and says why', { timeout: 30000 }, async () => {
  const queues = { q: KEEP };
  // A regular file where the store directory should be.
  const notADir = storeDir();
  fs.mkdirSync(path.dirname(notADir), { recursive: true });
  fs.writeFileSync(notADir, 'not a directory\n');
  // A troupe-queue.db that is not a SQLite database.
  const garbage = storeDir();
  fs.mkdirSync(garbage, { recursive: true });
  fs.writeFileSync(path.join(garbage, 'troupe-queue.db'), Buffer.alloc(8192, 0x5a));
  for (const [storePath, why] of [
    [notADir, /Not a directory/i],
    [garbage, /not a database/i],
  ]) {
    const r = await runEngineToExit({ config: engineConfig({ queues, storePath }), timeoutMs: 10000 });
    assert.equal(r.code, 3, `exit status; output:\n${r.output}`);
    assert.match(r.output, /cannot open the job store/);
    assert.ok(r.output.includes(storePath), `the message names the store: ${r.output}`);
    assert.match(r.output, why);
    assert.doesNotMatch(r.output, /listening for workers/);
  }
  // The garbage file is left as it was.
  assert.deepEqual(fs.readFileSync(path.join(garbage, 'troupe-queue.db')), Buffer.alloc(8192, 0x5a));
});
