// The worker port's WebSocket framing (RFC 6455) seen from outside: pings,
// fragmented messages, many messages in one TCP segment, the close
// handshake both ways, frames that break the protocol (close 1002), and a
// worker that stops reading its frames (closed once 64 MiB wait for it).
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { RawConnection, rawSocket } from './lib/raw.mjs';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { eventually, within } from './lib/util.mjs';

const env = useEngine({}, async ({ url }) => {
  await connectWorker(url, {
    name: 'server',
    functions: {
      'math::add': async ({ a, b }) => ({ c: a + b }),
      'big::blob': async () => ({ s: 'x'.repeat(1 << 20) }),
    },
  });
});

function invoke(a, b, id = randomUUID()) {
  return { id, text: JSON.stringify({ type: 'invokefunction', invocation_id: id, function_id: 'math::add', data: { a, b } }) };
}

/** A masked client frame (RFC 6455 §5.2), written by hand. */
function clientFrame(opcode, payload, { fin = true, mask = true } = {}) {
  const body = Buffer.from(payload);
  const len = body.length;
  const head = [((fin ? 0x80 : 0) | opcode), 0];
  if (len < 126) head[1] = len;
  else if (len < 65536) head.push((len >> 8) & 0xff, len & 0xff), (head[1] = 126);
  else throw new Error('test frames stay under 64 KiB');
  if (mask) head[1] |= 0x80;
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const out = Buffer.from(body);
  if (mask) for (let i = 0; i < out.length; i++) out[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), out]);
}

/** The server frames in `bytes` (unmasked, as a server must send them). */
function serverFrames(bytes) {
  const frames = [];
  let at = 0;
  while (bytes.length - at >= 2) {
    assert.equal(bytes[at + 1] & 0x80, 0, 'server frames are not masked');
    let len = bytes[at + 1] & 0x7f;
    let head = 2;
    if (len === 126) (len = bytes.readUInt16BE(at + 2)), (head = 4);
    else if (len === 127) (len = Number(bytes.readBigUInt64BE(at + 2))), (head = 10);
    if (bytes.length - at < head + len) break;
    frames.push({ fin: (bytes[at] & 0x80) !== 0, opcode: bytes[at] & 0x0f, payload: bytes.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return frames;
}

test('a ping is answered with a pong carrying its payload', { timeout: 10000 }, async () => {
  const conn = await RawConnection.open(env.url);
  const pong = new Promise((resolve) => conn.ws.once('pong', (data) => resolve(data.toString())));
  conn.ws.ping('are you there');
  assert.equal(await within(3000, pong, 'the pong'), 'are you there');
  await conn.close();
});

test('a message in fragments, with a ping between them, is one frame to the engine', { timeout: 10000 }, async () => {
  const conn = await RawConnection.open(env.url);
  const { id, text } = invoke(40, 2);
  const cut = [0, 10, 25, text.length];
  for (let i = 0; i + 1 < cut.length; i++) {
    const part = text.slice(cut[i], cut[i + 1]);
    await new Promise((resolve, reject) =>
      conn.ws.send(part, { fin: i + 2 === cut.length }, (err) => (err ? reject(err) : resolve())),
    );
    if (i === 0) conn.ws.ping('between');
  }
  const msg = await conn.next((m) => m.type === 'invocationresult' && m.invocation_id === id, 5000, 'the result');
  assert.deepEqual(msg.result, { c: 42 });
  await conn.close();
});

test('500 calls in one TCP write all get their answer', { timeout: 15000 }, async () => {
  const { sock, closed, bytes } = await rawSocket(env.url);
  const calls = Array.from({ length: 500 }, (_, i) => ({ ...invoke(i, 1), c: i + 1 }));
  sock.write(Buffer.concat(calls.map((c) => clientFrame(0x1, c.text))));
  const results = () =>
    serverFrames(bytes())
      .filter((f) => f.opcode === 0x1)
      .map((f) => JSON.parse(f.payload.toString()))
      .filter((m) => m.type === 'invocationresult');
  await within(
    10000,
    (async () => {
      while (results().length < calls.length) await new Promise((r) => setTimeout(r, 10));
    })(),
    'all 500 results',
  );
  const expected = new Map(calls.map((c) => [c.id, c.c]));
  const got = results();
  assert.equal(new Set(got.map((m) => m.invocation_id)).size, 500, 'each call answered once');
  for (const m of got) assert.equal(m.result?.c, expected.get(m.invocation_id), JSON.stringify(m));
  // The client's close: the engine answers with a close frame and hangs up.
  const before = bytes().length;
  sock.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
  await within(5000, closed, 'the engine hanging up after the close handshake');
  const close = serverFrames(bytes().subarray(before)).find((f) => f.opcode === 0x8);
  assert.ok(close, 'a close frame came back');
  assert.equal(close.payload.readUInt16BE(0), 1000);
});

for (const [what, frame] of [
  ['an unmasked frame', () => clientFrame(0x1, '{"type":"reattach"}', { mask: false })],
  ['a frame with an unknown opcode', () => clientFrame(0x3, 'x')],
  ['a continuation frame with no message to continue', () => clientFrame(0x0, 'x')],
  ['a fragmented ping', () => clientFrame(0x9, 'x', { fin: false })],
]) {
  test(`${what} closes that connection with 1002 and a reason`, { timeout: 10000 }, async () => {
    const { sock, closed, bytes } = await rawSocket(env.url);
    await within(3000, (async () => {
      while (!serverFrames(bytes()).length) await new Promise((r) => setTimeout(r, 5));
    })(), 'workerregistered');
    const before = bytes().length;
    sock.write(frame());
    const close = await within(5000, (async () => {
      for (;;) {
        const f = serverFrames(bytes().subarray(before)).find((x) => x.opcode === 0x8);
        if (f) return f;
        await new Promise((r) => setTimeout(r, 5));
      }
    })(), 'a close frame');
    assert.equal(close.payload.readUInt16BE(0), 1002);
    assert.ok(close.payload.length > 2, 'the close frame has a reason');
    // The engine fails the connection: close frame, then its end of the
    // TCP connection, without waiting for our close frame.
    await within(3000, closed, 'the engine hanging up');
    assert.equal(sock.lastError, undefined, 'closed cleanly, no reset');
    // Other workers are unaffected.
    const conn = await RawConnection.open(env.url);
    const msg = await conn.call('math::add', { a: 1, b: 2 });
    assert.deepEqual(msg.result, { c: 3 });
    await conn.close();
  });
}

test('a worker that stops reading is closed once 64 MiB wait for it; others are unaffected', { timeout: 60000 }, async () => {
  const slow = await RawConnection.open(env.url);
  slow.ws._socket.pause(); // reads nothing from here on
  // 100 answers of 1 MiB each: more than the kernel's buffers and the
  // engine's 64 MiB send backlog can hold for it.
  for (let i = 0; i < 100; i++)
    slow.ws.send(JSON.stringify({ type: 'invokefunction', invocation_id: randomUUID(), function_id: 'big::blob', data: {} }));
  await eventually(
    async () => assert.match(env.engine.logs(), /disconnected: closed by engine: send backlog exceeded/),
    { timeoutMs: 30000, what: 'the engine closing the connection that does not read' },
  );
  slow.ws.terminate();
  const conn = await RawConnection.open(env.url);
  const msg = await conn.call('math::add', { a: 2, b: 3 });
  assert.deepEqual(msg.result, { c: 5 });
  await conn.close();
});
