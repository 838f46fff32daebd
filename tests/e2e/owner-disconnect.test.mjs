// The worker that owns a function dies in the middle of a call: the caller is
// told at once (invocation_stopped), not when its own timeout expires.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker, spawnWorker } from './lib/workers.mjs';
import { eventually, rejection } from './lib/util.mjs';

const env = useEngine();

test('a call in flight when its owner is SIGKILLed fails with invocation_stopped', { timeout: 30000 }, async () => {
  const owner = await spawnWorker(env.url, { name: 'owner', functions: { 'slow::wait': 'hang' } });
  const caller = await connectWorker(env.url, { name: 'caller' });

  const call = rejection(caller.trigger({ function_id: 'slow::wait', payload: { n: 1 }, timeoutMs: 20000 }));
  await owner.waitFor('started slow::wait', 5000);
  await owner.kill9();
  const t0 = Date.now();
  const err = await call;
  const elapsed = Date.now() - t0;

  assert.equal(err.name, 'InvocationError');
  assert.equal(err.code, 'invocation_stopped', `got ${err.code}: ${err.message}`);
  assert.ok(elapsed < 2000, `rejected ${elapsed} ms after the kill (the caller's timeout was 20 s)`);
});

test('the dead owner’s functions are gone: later calls get function_not_found', { timeout: 30000 }, async () => {
  const owner = await spawnWorker(env.url, { name: 'owner2', functions: { 'gone::add': 'add' } });
  const caller = await connectWorker(env.url, { name: 'caller2' });
  assert.deepEqual(await caller.trigger({ function_id: 'gone::add', payload: { a: 1, b: 2 } }), { c: 3 });

  await owner.kill9();
  await eventually(
    async () => {
      const err = await rejection(caller.trigger({ function_id: 'gone::add', payload: { a: 1, b: 2 }, timeoutMs: 1000 }));
      assert.equal(err.code, 'function_not_found');
    },
    { timeoutMs: 5000, what: 'gone::add removed after its owner died' },
  );
});

test('other calls keep working after an owner died mid-call', { timeout: 30000 }, async () => {
  const survivor = await connectWorker(env.url, {
    name: 'survivor',
    functions: { 'live::add': async ({ a, b }) => ({ c: a + b }) },
  });
  const owner = await spawnWorker(env.url, { name: 'owner3', functions: { 'slow::wait3': 'hang' } });
  const caller = await connectWorker(env.url, { name: 'caller3' });

  const inFlight = rejection(caller.trigger({ function_id: 'slow::wait3', payload: {}, timeoutMs: 20000 }));
  const other = caller.trigger({ function_id: 'live::add', payload: { a: 20, b: 22 } });
  await owner.waitFor('started slow::wait3', 5000);
  await owner.kill9();
  assert.equal((await inFlight).code, 'invocation_stopped');
  assert.deepEqual(await other, { c: 42 });
  assert.deepEqual(await survivor.trigger({ function_id: 'live::add', payload: { a: 1, b: 1 } }), { c: 2 });
  assert.ok(env.engine.alive(), 'engine still running');
});
