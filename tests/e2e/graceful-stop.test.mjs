// SIGTERM stops troupe gracefully (README: Running troupe): queues dispatch no
// new job, a running attempt is allowed to finish (its result still counts),
// and the engine exits 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { enqueue } from './lib/queues.mjs';
import { deferred, within } from './lib/util.mjs';

test('SIGTERM lets a running job finish, starts no new one, exits 0', { timeout: 30000 }, async () => {
  const engine = await startEngine({
    config: engineConfig({ queues: { slow: { type: 'standard', concurrency: 1, max_retries: 1 } } }),
  });
  const started = deferred();
  const ran = [];
  let finished = 0;
  const worker = await connectWorker(engine.url, {
    name: 'slow-worker',
    functions: {
      'slow::job': async (p) => {
        ran.push(p.n);
        started.resolve();
        await new Promise((r) => setTimeout(r, 800));
        finished += 1;
        return { done: p.n };
      },
    },
  });
  try {
    await enqueue(worker, 'slow', 'slow::job', { n: 1 });
    await enqueue(worker, 'slow', 'slow::job', { n: 2 });
    await within(5000, started.promise, 'first job start');
    const t0 = Date.now();
    const code = await engine.stop('SIGTERM');
    const took = Date.now() - t0;
    assert.equal(code, 0, `exit status (log:\n${engine.logs()})`);
    assert.equal(finished, 1, 'the running job finished before the engine exited');
    assert.deepEqual(ran, [1], 'the waiting job was not started');
    assert.ok(took >= 500, `the engine waited for the running job (${took} ms)`);
    assert.match(engine.logs(), /received SIGTERM, stopping/);
  } finally {
    await closeWorker(worker);
  }
});
