// The engine's own limit on a sync call (`invocation_timeout_ms`) answers the
// caller with `timeout` before the caller's longer timeout expires.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { deferred, rejection, sleep, within } from './lib/util.mjs';

const env = useEngine({ invocationTimeoutMs: 500 });

test('a call slower than invocation_timeout_ms fails with timeout, and a late answer is dropped', { timeout: 20000 }, async () => {
  const finished = deferred();
  await connectWorker(env.url, {
    name: 'slow-owner',
    functions: {
      'slow::three': async () => {
        await sleep(3000);
        finished.resolve();
        return { late: true };
      },
      'fast::add': async ({ a, b }) => ({ c: a + b }),
    },
  });
  const caller = await connectWorker(env.url, { name: 'caller' });

  const t0 = Date.now();
  const err = await rejection(caller.trigger({ function_id: 'slow::three', payload: {}, timeoutMs: 10000 }));
  const elapsed = Date.now() - t0;
  assert.equal(err.name, 'InvocationError');
  assert.equal(err.code, 'timeout', `got ${err.code}: ${err.message}`);
  assert.ok(elapsed >= 450, `rejected after ${elapsed} ms, before the 500 ms limit`);
  assert.ok(elapsed < 2000, `rejected after ${elapsed} ms (limit 500 ms, handler 3000 ms)`);

  // Fast calls are not affected by the limit.
  assert.deepEqual(await caller.trigger({ function_id: 'fast::add', payload: { a: 3, b: 4 } }), { c: 7 });

  // The handler's late result arrives at the engine after the timeout: it is
  // dropped, and the engine keeps serving.
  await within(5000, finished.promise, 'the slow handler');
  await sleep(200);
  assert.ok(env.engine.alive(), 'engine still running');
  assert.deepEqual(await caller.trigger({ function_id: 'fast::add', payload: { a: 5, b: 6 } }), { c: 11 });
});
