// The connection caps (README: The protocol troupe speaks, bad input):
// `iii-worker-manager.max_connections` refuses the upgrade over the cap
// with HTTP 503 and a reason, logs it once per interval, and keeps serving
// the connections it has; a freed place is taken again. `iii-http`'s
// `max_connections` answers a request on a connection over its cap with 503.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { httpRequest } from './lib/http.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { openWebSocket } from './lib/raw.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { eventually } from './lib/util.mjs';

cleanUpAfterAll();

const open = (url) => openWebSocket(url);

const closed = (ws) => new Promise((resolve) => {
  ws.once('close', resolve);
  ws.close();
});

test('a worker connection over max_connections gets 503 and the others keep working', { timeout: 40000 }, async () => {
  const cfg = engineConfig();
  cfg.workers[0].config.max_connections = 3;
  const engine = await startEngine({ config: cfg });
  try {
    assert.match(engine.logs(), /\(max_connections 3\)/);
    const worker = await connectWorker(engine.url, { functions: { 'cap::echo': async ({ n }) => ({ n }) } });
    const a = await open(engine.url);
    const b = await open(engine.url);
    assert.deepEqual([a.status, b.status], [101, 101]);
    const before = (engine.logs().match(/refused \(503\)/g) ?? []).length;
    for (let i = 0; i < 5; i += 1) {
      const over = await open(engine.url);
      assert.equal(over.status, 503);
      assert.equal(over.headers['retry-after'], '5');
      assert.deepEqual(JSON.parse(over.body), {
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'the engine serves its maximum of 3 connections (max_connections); try again later',
        },
      });
    }
    await eventually(() => assert.match(engine.logs(), /\[ws\] connection \d+ from 127\.0\.0\.1:\d+ refused \(503\)/), {
      timeoutMs: 3000,
      intervalMs: 50,
      what: 'the refusal in the log',
    });
    const lines = (engine.logs().match(/refused \(503\)/g) ?? []).length - before;
    assert.equal(lines, 1, `one warning for five refusals:\n${engine.logs()}`);
    // The admitted ones are served as before.
    assert.deepEqual(await worker.trigger({ function_id: 'cap::echo', payload: { n: 1 } }), { n: 1 });
    // A freed place is taken again.
    await closed(a.ws);
    const again = await eventually(async () => {
      const r = await open(engine.url);
      assert.equal(r.status, 101, r.body);
      return r;
    }, { timeoutMs: 5000, intervalMs: 100, what: 'a place after a close' });
    await closed(again.ws);
    await closed(b.ws);
    await closeWorker(worker);
  } finally {
    await engine.stop('SIGTERM');
  }
});

test('an HTTP connection over iii-http max_connections gets 503', { timeout: 30000 }, async () => {
  const cfg = engineConfig({ http: true });
  cfg.workers.find((w) => w.name === 'iii-http').config.max_connections = 2;
  const engine = await startEngine({ config: cfg });
  const idle = [];
  try {
    const port = Number(new URL(engine.httpUrl).port);
    for (let i = 0; i < 2; i += 1) {
      const s = net.connect(port, '127.0.0.1');
      await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 200)); // accepted by the engine
    const over = await httpRequest(engine.httpUrl, '/nothing', { agent: false });
    assert.equal(over.status, 503);
    assert.equal(over.json?.error?.code, 'SERVICE_UNAVAILABLE');
    assert.match(over.json?.error?.message, /maximum of 2 HTTP connections \(max_connections\)/);
    await eventually(() => assert.match(engine.logs(), /\[http\] connection \d+ refused \(503\): the engine serves its maximum of 2 HTTP/), {
      timeoutMs: 3000,
      intervalMs: 50,
      what: 'the refusal in the log',
    });
    for (const s of idle) s.destroy();
    const ok = await eventually(async () => {
      const r = await httpRequest(engine.httpUrl, '/nothing', { agent: false });
      assert.notEqual(r.status, 503);
      return r;
    }, { timeoutMs: 5000, intervalMs: 100, what: 'a place after the idle ones left' });
    assert.equal(ok.status, 404);
  } finally {
    for (const s of idle) s.destroy();
    await engine.stop('SIGTERM');
  }
});
