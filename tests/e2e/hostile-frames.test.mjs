// Frame headers that announce more than they send: the engine's memory
// follows the bytes that arrive, not the sizes announced. Before, the reader
// reserved a frame's announced size at its header: with max_frame_bytes at
// 1 GiB one 14-byte header took a gigabyte, and 100 connections announcing
// near-limit frames held 100 times the limit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { rawSocket } from './lib/raw.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { sleep } from './lib/util.mjs';

cleanUpAfterAll();

/** The engine's resident memory in MiB. */
function rssMiB(engine) {
  const status = fs.readFileSync(`/proc/${engine.proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

/** A masked text frame header announcing `length` payload bytes, and its mask. */
function headerAnnouncing(length) {
  const head = Buffer.alloc(14);
  head[0] = 0x81; // FIN, text
  head[1] = 0x80 | 127; // masked, 64-bit length
  head.writeBigUInt64BE(BigInt(length), 2);
  head.writeUInt32BE(0x12345678, 10);
  return head;
}

async function serving(engine) {
  const iii = await connectWorker(engine.url, { name: 'probe', functions: { 'probe::ok': async () => ({ ok: true }) } });
  assert.deepEqual(await iii.trigger({ function_id: 'probe::ok', payload: {}, timeoutMs: 5000 }), { ok: true });
}

test('one header announcing 1 GiB, max_frame_bytes 1 GiB: the engine stays small and serves', { timeout: 30000 }, async () => {
  const config = engineConfig({ maxFrameBytes: 1 << 30 });
  const engine = await startEngine({ config });
  const before = rssMiB(engine);
  const conns = [];
  for (let i = 0; i < 3; i++) {
    const c = await rawSocket(engine.url);
    c.sock.write(Buffer.concat([headerAnnouncing((1 << 30) - 1), Buffer.alloc(1000, 1)]));
    conns.push(c);
  }
  await sleep(500);
  const grown = rssMiB(engine) - before;
  console.log(`3 headers announcing 1 GiB each: engine RSS +${grown.toFixed(1)} MiB`);
  assert.ok(engine.alive(), 'the engine is running');
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB`);
  await serving(engine);
  for (const c of conns) c.sock.destroy();
});

test('200 connections announcing near-limit frames hold what they sent, not what they announced', { timeout: 30000 }, async () => {
  const limit = 8 << 20;
  const engine = await startEngine({ config: engineConfig({ maxFrameBytes: limit }) });
  const before = rssMiB(engine);
  const conns = [];
  for (let i = 0; i < 200; i++) {
    const c = await rawSocket(engine.url);
    c.sock.write(Buffer.concat([headerAnnouncing(limit - 1), Buffer.alloc(100, 1)]));
    conns.push(c);
  }
  await sleep(500);
  const grown = rssMiB(engine) - before;
  console.log(`200 headers announcing ${limit >> 20} MiB each: engine RSS +${grown.toFixed(1)} MiB (they announced ${(200 * limit) >> 20} MiB)`);
  assert.ok(grown < 200, `RSS grew by ${grown.toFixed(1)} MiB`);
  await serving(engine);
  for (const c of conns) c.sock.destroy();
});
