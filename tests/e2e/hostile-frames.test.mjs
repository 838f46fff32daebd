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

/** Resolves with {code, reason} of the close frame the engine sends on `c`, or null if the socket ends without one. */
async function closeFrameOf(c, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Server frames are unmasked; skip to the close frame (after e.g.
    // workerregistered).
    const b = c.bytes();
    for (let at = 0; b.length - at >= 2; ) {
      let len = b[at + 1] & 0x7f;
      let head = 2;
      if (len === 126) (len = b.readUInt16BE(at + 2)), (head = 4);
      else if (len === 127) (len = Number(b.readBigUInt64BE(at + 2))), (head = 10);
      if (b.length - at < head + len) break;
      if ((b[at] & 0x0f) === 0x8)
        return { code: b.readUInt16BE(at + head), reason: b.subarray(at + head + 2, at + head + len).toString() };
      at += head + len;
    }
    await sleep(20);
  }
  return null;
}

/** A masked frame with a short payload (`fin` false for a first fragment). */
function shortFrame(opcode, payload, fin = true) {
  const body = Buffer.from(payload);
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | body.length, 0, 0, 0, 0]);
  return Buffer.concat([head, body]); // mask 0: bytes as they are
}

test('idle and unfinished messages are bounded: closed with 1008 and the reason; pings keep a connection', { timeout: 30000 }, async () => {
  const engine = await startEngine({ config: engineConfig({ idleTimeoutMs: 1000, messageTimeoutMs: 1000 }) });
  const idle = await rawSocket(engine.url); // upgrades, then sends nothing
  const partial = await rawSocket(engine.url);
  partial.sock.write(shortFrame(0x1, '{"type":"reg', false)); // a first fragment, never the rest
  const pinger = await rawSocket(engine.url);
  const pings = setInterval(() => {
    pinger.sock.write(shortFrame(0x9, 'hi'));
    partial.sock.write(shortFrame(0x9, 'hi')); // not idle: only its message is stuck
  }, 200);
  try {
    const idleClose = await closeFrameOf(idle, 5000);
    assert.equal(idleClose?.code, 1008, JSON.stringify(idleClose));
    assert.match(idleClose.reason, /no data \(not even a ping\) for 1000 ms/);
    const partialClose = await closeFrameOf(partial, 5000);
    assert.equal(partialClose?.code, 1008, JSON.stringify(partialClose));
    assert.match(partialClose.reason, /a message was not completed within 1000 ms/);
    await sleep(1500);
    assert.equal(await closeFrameOf(pinger, 10), null, 'a pinging connection stays');
  } finally {
    clearInterval(pings);
    for (const c of [idle, partial, pinger]) c.sock.destroy();
  }
});
