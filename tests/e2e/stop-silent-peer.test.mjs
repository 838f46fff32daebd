// A stop always ends: SIGTERM while a worker connection never answers the
// close (a silent socket, a frozen worker host) used to log `stopped` and
// then hang in the actor system's shutdown forever, because connections
// cut after the close wait never told their session actors.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { rawSocket } from './lib/raw.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { within } from './lib/util.mjs';

cleanUpAfterAll();

test('SIGTERM with a connection that never answers the close: the engine exits 0', { timeout: 60000 }, async () => {
  const engine = await startEngine({ config: engineConfig() });
  // A real worker too, so that a session with registrations is cut as well.
  await connectWorker(engine.url, { name: 'quiet', functions: { 'q::x': async () => ({}) } });
  const silent = await rawSocket(engine.url);
  silent.sock.pause(); // reads nothing: the engine's close frame is never answered
  const exit = once(engine.proc, 'exit');
  engine.proc.kill('SIGTERM');
  // Grace period for running attempts (none here) plus the bounded close
  // wait; generous, as the machine may be busy: the defect was forever.
  const [code, signal] = await within(30000, exit, 'the engine to exit after SIGTERM');
  assert.equal(signal, null, engine.logs());
  assert.equal(code, 0, engine.logs());
  assert.match(engine.logs(), /stopped/);
  silent.sock.destroy();
});
