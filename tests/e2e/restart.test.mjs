// The engine stops (SIGTERM, exit 0) and comes back on the same port; the
// SDK reconnects by itself, replays its registrations, and calls work again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { eventually } from './lib/util.mjs';

cleanUpAfterAll();

test('SIGTERM stops the engine with exit code 0', { timeout: 30000 }, async () => {
  const engine = await startEngine();
  // With a connected worker, so that shutdown has a socket to close.
  const bystander = await connectWorker(engine.url, { name: 'bystander', functions: { 'x::y': async () => 1 } });
  assert.equal(await engine.stop('SIGTERM'), 0);
  await closeWorker(bystander);
});

test('workers reconnect and re-register after an engine restart on the same port', { timeout: 45000 }, async () => {
  const first = await startEngine();
  const owner = await connectWorker(first.url, {
    name: 'owner',
    functions: { 'math::add': async ({ a, b }) => ({ c: a + b }) },
  });
  const caller = await connectWorker(first.url, { name: 'caller' });
  assert.deepEqual(await caller.trigger({ function_id: 'math::add', payload: { a: 2, b: 3 } }), { c: 5 });

  assert.equal(await first.stop('SIGTERM'), 0, 'engine exit code on SIGTERM');

  const second = await startEngine({ config: engineConfig({ port: first.port }) });
  assert.equal(second.port, first.port);
  assert.equal(second.url, first.url);

  // The SDK retries after ~1 s, 2 s, 4 s ...; both workers must come back.
  const t0 = Date.now();
  const result = await eventually(
    () => caller.trigger({ function_id: 'math::add', payload: { a: 40, b: 2 }, timeoutMs: 1000 }),
    { timeoutMs: 15000, intervalMs: 250, what: 'a call through the restarted engine' },
  );
  assert.deepEqual(result, { c: 42 });
  console.log(`calls worked again ${Date.now() - t0} ms after the restart`);

  // Also the other way round, and the owner can still call its own function.
  const back = await owner.trigger({ function_id: 'math::add', payload: { a: 1, b: 1 }, timeoutMs: 5000 });
  assert.deepEqual(back, { c: 2 });
  assert.ok(second.alive(), 'restarted engine still running');
});
