// Trigger types provided by workers (registerTriggerType), with real SDK
// workers on both sides: a binding made before its provider exists is served
// once the provider comes; a provider that restarts gets every binding back;
// the provider's unregisterTrigger runs on trigger.unregister() and when the
// consumer disconnects; a provider's refusal reaches the consumer as the SDK
// prints it and the binding is parked until the type is provided again.
// (README: The protocol troupe speaks.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';
import { eventually, sleep } from './lib/util.mjs';

const env = useEngine({});

/**
 * A worker that provides trigger type `type`: each binding it is given fires
 * its function once at once (a Void call with {trigger, config}); a binding
 * whose config has `reject` is refused while `rejecting` is set. Records the
 * ids it was asked to register and unregister.
 */
async function startProvider(type, name = `provider-${type}`) {
  const iii = await connectWorker(env.url, { name });
  const p = { iii, registered: [], unregistered: [], rejecting: true };
  p.provide = () =>
    iii.registerTriggerType(
      { id: type, description: `${type} for the tests` },
      {
        registerTrigger: async ({ id, function_id, config }) => {
          p.registered.push(id);
          if (config?.reject && p.rejecting) throw new Error(`refusing ${id}: bad schedule`);
          iii.trigger({ function_id, payload: { trigger: id, config }, action: { type: 'void' } });
        },
        unregisterTrigger: async ({ id }) => {
          p.unregistered.push(id);
        },
      },
    );
  p.provide();
  await sync(iii);
  return p;
}

/** A worker whose function `fn` records the payloads it is called with. */
async function startConsumer(fn, name = 'consumer') {
  const calls = [];
  const iii = await connectWorker(env.url, {
    name,
    functions: {
      [fn]: async (payload) => {
        calls.push(payload);
        return null;
      },
    },
  });
  return { iii, calls };
}

/** Waits (5 s at most) until `pred()` is true. */
const until = (pred, what) => eventually(() => assert.ok(pred(), what), { what, timeoutMs: 5000 });

/** The ids of `calls` (payloads of fired bindings), sorted. */
const firedIds = (calls) => calls.map((c) => c.trigger).sort();

test('a binding made before its provider exists is served once the provider comes', { timeout: 30000 }, async () => {
  const c = await startConsumer('ticks::late');
  const t = c.iii.registerTrigger({ type: 'late-ticker', function_id: 'ticks::late', config: { every: '1s' } });
  await sync(c.iii);
  await sleep(200);
  assert.deepEqual(c.calls, [], 'nothing fires without a provider');
  const p = await startProvider('late-ticker');
  await until(() => c.calls.length === 1, 'the parked binding fired');
  assert.deepEqual(c.calls[0].config, { every: '1s' });
  assert.equal(p.registered.length, 1);
  t.unregister();
  await until(() => p.unregistered.length === 1, 'the provider unregistered it');
  assert.deepEqual(p.unregistered, p.registered);
  await closeWorker(c.iii);
  await closeWorker(p.iii);
});

test('a provider that restarts gets every binding back', { timeout: 30000 }, async () => {
  const p1 = await startProvider('restart-ticker', 'provider-1');
  const c = await startConsumer('ticks::restart');
  const a = c.iii.registerTrigger({ type: 'restart-ticker', function_id: 'ticks::restart', config: { n: 1 } });
  c.iii.registerTrigger({ type: 'restart-ticker', function_id: 'ticks::restart', config: { n: 2 } });
  await until(() => c.calls.length === 2, 'both bindings fired');
  const ids = firedIds(c.calls);
  await closeWorker(p1.iii);
  await sleep(300); // the engine parks both bindings
  const p2 = await startProvider('restart-ticker', 'provider-2');
  await until(() => p2.registered.length === 2, 'the new provider got both');
  assert.deepEqual([...p2.registered].sort(), ids);
  await until(() => c.calls.length === 4, 'both fired again');
  assert.deepEqual(firedIds(c.calls.slice(2)), ids);
  // The old provider heard nothing after it left; the new one gets the
  // explicit unregister, and the other binding when the consumer leaves.
  a.unregister();
  await until(() => p2.unregistered.length === 1, 'unregister at the new provider');
  await closeWorker(c.iii);
  await until(() => p2.unregistered.length === 2, 'unregister on disconnect');
  assert.deepEqual([...p2.unregistered].sort(), ids);
  assert.deepEqual(p1.unregistered, []);
  await closeWorker(p2.iii);
});

test("the provider's unregisterTrigger runs when the consumer disconnects", { timeout: 30000 }, async () => {
  const p = await startProvider('gone-ticker');
  const c = await startConsumer('ticks::gone');
  for (let n = 0; n < 3; n++) {
    c.iii.registerTrigger({ type: 'gone-ticker', function_id: 'ticks::gone', config: { n } });
  }
  await until(() => p.registered.length === 3, 'three bindings');
  await closeWorker(c.iii);
  await until(() => p.unregistered.length === 3, 'three unregisters');
  assert.deepEqual([...p.unregistered].sort(), [...p.registered].sort());
  await closeWorker(p.iii);
});

test("a provider's refusal reaches the consumer and the binding is parked again", { timeout: 30000 }, async () => {
  const p = await startProvider('picky-ticker');
  const c = await startConsumer('ticks::picky');
  // The SDK prints a refusal on console.error: catch what it prints.
  const printed = [];
  const original = console.error;
  console.error = (...args) => {
    printed.push(args.join(' '));
    original(...args);
  };
  try {
    c.iii.registerTrigger({ type: 'picky-ticker', function_id: 'ticks::picky', config: { reject: true } });
    await until(() => printed.some((l) => l.includes('Trigger registration failed')), 'the refusal printed by the consumer SDK');
  } finally {
    console.error = original;
  }
  const line = printed.find((l) => l.includes('Trigger registration failed'));
  const id = p.registered[0];
  assert.equal(line, `[iii] Trigger registration failed for "${id}" (picky-ticker): refusing ${id}: bad schedule`);
  assert.deepEqual(c.calls, []);
  // Parked: providing the type again hands it over again, and now it is taken.
  p.rejecting = false;
  p.provide();
  await until(() => c.calls.length === 1, 'the parked binding fired');
  assert.deepEqual(p.registered, [id, id]);
  assert.equal(c.calls[0].trigger, id);
  await closeWorker(c.iii);
  await closeWorker(p.iii);
});

test('no triggerregistrationresult is logged as an unknown or bad frame', async () => {
  const logs = env.engine.logs();
  assert.doesNotMatch(logs, /unknown frame type "triggerregistrationresult"/);
  assert.doesNotMatch(logs, /bad frame from worker/);
  assert.match(logs, /is parked/, 'the engine logged the parked bindings');
});
