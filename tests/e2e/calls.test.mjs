// Calls between real iii-sdk workers through the engine: sync, errors,
// unknown functions, Void, unregistering and several workers serving one id
// (providers.test.mjs has the load version).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { useEngine } from './lib/setup.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';
import { deferred, eventually, rejection, sleep, within } from './lib/util.mjs';

let callee; // owns math::add, boom::fn, void::sink
let caller; // only calls
const seen = { addMetadata: [], voidPayloads: [] };
let voidCalled = deferred();

const env = useEngine({}, async ({ url }) => {
  callee = await connectWorker(url, {
    name: 'callee',
    functions: {
      'math::add': async ({ a, b }, metadata) => {
        seen.addMetadata.push(metadata);
        return { c: a + b };
      },
      'boom::fn': async () => {
        throw new Error('kaboom');
      },
      'void::sink': async (payload) => {
        seen.voidPayloads.push(payload);
        voidCalled.resolve(payload);
        return { ignored: true };
      },
    },
  });
  caller = await connectWorker(url, { name: 'caller' });
});

test('sync call returns the owner’s result to the caller', { timeout: 10000 }, async () => {
  const result = await caller.trigger({ function_id: 'math::add', payload: { a: 2, b: 3 } });
  assert.deepEqual(result, { c: 5 });
});

test('the caller’s metadata reaches the handler as its second argument', { timeout: 10000 }, async () => {
  seen.addMetadata.length = 0;
  const result = await caller.trigger({
    function_id: 'math::add',
    payload: { a: 10, b: 20 },
    metadata: { via: 'sync', n: 1 },
  });
  assert.deepEqual(result, { c: 30 });
  assert.equal(seen.addMetadata.length, 1);
  assert.deepEqual(seen.addMetadata[0], { via: 'sync', n: 1 });
});

test('a worker can call its own function through the engine', { timeout: 10000 }, async () => {
  assert.deepEqual(await callee.trigger({ function_id: 'math::add', payload: { a: -1, b: 1 } }), { c: 0 });
});

test('a handler that throws gives the caller invocation_failed with its message', { timeout: 10000 }, async () => {
  const err = await rejection(caller.trigger({ function_id: 'boom::fn', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.name, 'InvocationError');
  assert.equal(err.code, 'invocation_failed');
  assert.match(err.message, /kaboom/);
  assert.equal(err.function_id, 'boom::fn');
  assert.match(err.stacktrace ?? '', /kaboom/, 'the stacktrace is passed through');
});

test('an unknown function is answered at once with function_not_found', { timeout: 10000 }, async () => {
  const t0 = Date.now();
  const err = await rejection(caller.trigger({ function_id: 'does::not::exist', payload: {}, timeoutMs: 8000 }));
  const elapsed = Date.now() - t0;
  assert.equal(err.name, 'InvocationError');
  assert.equal(err.code, 'function_not_found');
  assert.equal(err.message, 'function_not_found: Function does::not::exist not found');
  assert.ok(elapsed < 1000, `answered after ${elapsed} ms`);
});

test('Void resolves undefined at once and the handler runs with the payload', { timeout: 10000 }, async () => {
  voidCalled = deferred();
  seen.voidPayloads.length = 0;
  const t0 = Date.now();
  const result = await caller.trigger({
    function_id: 'void::sink',
    payload: { n: 7, s: 'seven' },
    action: TriggerAction.Void(),
  });
  assert.equal(result, undefined);
  assert.ok(Date.now() - t0 < 200, 'Void does not wait for the handler');
  const payload = await within(5000, voidCalled.promise, 'the Void handler');
  // The engine may add `_caller_worker_id` to object payloads: check only ours.
  assert.equal(payload.n, 7);
  assert.equal(payload.s, 'seven');
  // The handler's result goes nowhere, and it runs exactly once.
  await sleep(200);
  assert.equal(seen.voidPayloads.length, 1);
});

test('Void to an unknown or failing function sends nothing back and breaks nothing', { timeout: 10000 }, async () => {
  assert.equal(
    await caller.trigger({ function_id: 'does::not::exist', payload: {}, action: TriggerAction.Void() }),
    undefined,
  );
  assert.equal(await caller.trigger({ function_id: 'boom::fn', payload: {}, action: TriggerAction.Void() }), undefined);
  await sleep(200);
  assert.deepEqual(await caller.trigger({ function_id: 'math::add', payload: { a: 1, b: 1 } }), { c: 2 });
});

test('after unregister() calls get function_not_found', { timeout: 10000 }, async () => {
  const owner = await connectWorker(env.url, { name: 'temp-owner' });
  const ref = owner.registerFunction('temp::fn', async () => ({ ok: true }));
  await sync(owner);
  assert.deepEqual(await caller.trigger({ function_id: 'temp::fn', payload: {} }), { ok: true });

  ref.unregister();
  await sync(owner); // the engine handled the unregisterfunction before this round trip
  const err = await rejection(caller.trigger({ function_id: 'temp::fn', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'function_not_found');
  assert.equal(err.message, 'function_not_found: Function temp::fn not found');
  await closeWorker(owner);
});

test('two workers serving one id take turns; one leaving leaves the other serving', { timeout: 15000 }, async () => {
  const x = await connectWorker(env.url, { name: 'x', functions: { 'dup::fn': async () => ({ by: 'x' }) } });
  assert.deepEqual(await caller.trigger({ function_id: 'dup::fn', payload: {} }), { by: 'x' });
  const y = await connectWorker(env.url, { name: 'y', functions: { 'dup::fn': async () => ({ by: 'y' }) } });
  const by = { x: 0, y: 0 };
  for (let i = 0; i < 6; i++) by[(await caller.trigger({ function_id: 'dup::fn', payload: { i } })).by]++;
  assert.deepEqual(by, { x: 3, y: 3 });

  // One provider going away leaves the function to the other.
  await closeWorker(x);
  await sleep(500); // no event tells when the engine has handled x's close
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await caller.trigger({ function_id: 'dup::fn', payload: { i } }), { by: 'y' });
  }

  // Once the last provider is gone too, nobody serves it.
  await closeWorker(y);
  const err = await eventually(
    async () => {
      const e = await rejection(caller.trigger({ function_id: 'dup::fn', payload: {}, timeoutMs: 1000 }));
      assert.equal(e.code, 'function_not_found');
      return e;
    },
    { timeoutMs: 5000, what: 'dup::fn gone after both providers left' },
  );
  assert.equal(err.message, 'function_not_found: Function dup::fn not found');
});

test('unregister() by one provider leaves the other serving', { timeout: 15000 }, async () => {
  const x = await connectWorker(env.url, { name: 'x2' });
  const xRef = x.registerFunction('dup::two', async () => ({ by: 'x' }));
  await sync(x);
  const y = await connectWorker(env.url, { name: 'y2', functions: { 'dup::two': async () => ({ by: 'y' }) } });

  xRef.unregister();
  await sync(x);
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await caller.trigger({ function_id: 'dup::two', payload: {} }), { by: 'y' });
  }
  await closeWorker(x);
  await closeWorker(y);
});
