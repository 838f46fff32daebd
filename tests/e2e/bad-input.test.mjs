// Garbage over a raw WebSocket: the engine answers with error frames, keeps
// the connection (except for an oversized frame, which closes only that
// connection with 1009), and real SDK workers keep working throughout.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { RawConnection } from './lib/raw.mjs';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { UUID_V4, within } from './lib/util.mjs';

let caller; // an SDK worker calling math::add, owned by another SDK worker
let raw; // the raw connection the bad frames go to (closed when the engine stops)
let n = 0;

const env = useEngine({ maxFrameBytes: 65536 }, async ({ url }) => {
  await connectWorker(url, { name: 'server', functions: { 'math::add': async ({ a, b }) => ({ c: a + b }) } });
  caller = await connectWorker(url, { name: 'caller' });
  raw = await RawConnection.open(url);
});

/** SDK-to-SDK calls still work and the raw connection is still open. */
async function assertStillServing() {
  n++;
  const r = await caller.trigger({ function_id: 'math::add', payload: { a: n, b: 1000 }, timeoutMs: 5000 });
  assert.deepEqual(r, { c: n + 1000 }, 'an SDK call after the bad frame');
  assert.ok(raw.isOpen, `raw connection still open (close: ${JSON.stringify(raw.closeInfo)})`);
  assert.ok(env.engine.alive(), 'engine still running');
}

/** Sends `frame` as text and expects an `error` frame with `code`. */
async function expectErrorFrame(frame, code) {
  raw.discardPending();
  await raw.send(frame);
  const msg = await raw.next((m) => m.type === 'error', 3000, `an error frame (${code})`);
  assert.equal(typeof msg.error, 'object', JSON.stringify(msg));
  assert.equal(msg.error.code, code, JSON.stringify(msg));
  assert.equal(typeof msg.error.message, 'string');
  assert.ok(msg.error.message.length > 0, 'error message is not empty');
  await assertStillServing();
}

test('the first frame on a connection is workerregistered with a UUID worker_id', { timeout: 10000 }, async () => {
  await raw.next(() => true, 3000, 'the first frame');
  const first = raw.received[0];
  assert.equal(first.binary, false, 'sent as a text frame');
  assert.equal(first.json?.type, 'workerregistered', first.text);
  assert.match(first.json.worker_id, UUID_V4);
});

test('text that is not JSON gets bad_json and the connection stays open', { timeout: 10000 }, async () => {
  await expectErrorFrame('not json at all', 'bad_json');
});

test('a JSON object without type gets missing_type', { timeout: 10000 }, async () => {
  await expectErrorFrame('{"foo":1}', 'missing_type');
});

test('an unknown type gets unknown_type', { timeout: 10000 }, async () => {
  await expectErrorFrame('{"type":"somethingnew"}', 'unknown_type');
});

test('registerfunction with a non-string id gets bad_field', { timeout: 10000 }, async () => {
  await expectErrorFrame('{"type":"registerfunction","id":42}', 'bad_field');
});

test('a malformed sync invokefunction is answered with an invocationresult error bad_field', { timeout: 10000 }, async () => {
  raw.discardPending();
  const id = randomUUID();
  await raw.send(`{"type":"invokefunction","invocation_id":"${id}","function_id":123}`);
  const msg = await raw.next(
    (m) => m.type === 'invocationresult' && m.invocation_id === id,
    3000,
    'the invocationresult for the malformed call',
  );
  assert.equal(msg.error?.code, 'bad_field', JSON.stringify(msg));
  assert.equal(msg.result, undefined);
  await assertStillServing();
});

test('after the bad frames the same raw connection makes a valid sync call', { timeout: 10000 }, async () => {
  raw.discardPending();
  const msg = await raw.call('math::add', { a: 1, b: 2 });
  assert.equal(msg.error, undefined, JSON.stringify(msg));
  assert.equal(msg.result?.c, 3, JSON.stringify(msg));
  await assertStillServing();
});

test('a binary frame holding valid JSON is handled like a text frame', { timeout: 10000 }, async () => {
  raw.discardPending();
  const id = randomUUID();
  await raw.send(
    { type: 'invokefunction', invocation_id: id, function_id: 'math::add', data: { a: 5, b: 6 } },
    { binary: true },
  );
  const msg = await raw.next((m) => m.type === 'invocationresult' && m.invocation_id === id, 3000, 'the result');
  assert.equal(msg.result?.c, 11, JSON.stringify(msg));
  await assertStillServing();
});

/** A sync math::add frame padded to exactly `bytes` bytes. */
function paddedCall(bytes) {
  const base = { type: 'invokefunction', invocation_id: randomUUID(), function_id: 'math::add', data: { a: 1, b: 1, pad: '' } };
  const empty = JSON.stringify(base).length;
  base.data.pad = 'x'.repeat(bytes - empty);
  const text = JSON.stringify(base);
  assert.equal(Buffer.byteLength(text), bytes);
  return { text, id: base.invocation_id };
}

test('a frame under max_frame_bytes is accepted', { timeout: 10000 }, async () => {
  raw.discardPending();
  const { text, id } = paddedCall(60000);
  await raw.send(text);
  const msg = await raw.next((m) => m.type === 'invocationresult' && m.invocation_id === id, 5000, 'the result');
  assert.equal(msg.result?.c, 2, JSON.stringify(msg).slice(0, 300));
  await assertStillServing();
});

test('a frame over max_frame_bytes closes that connection with 1009, others unaffected', { timeout: 15000 }, async () => {
  const victim = await RawConnection.open(env.url);
  const { text } = paddedCall(70000);
  victim.send(text).catch(() => {}); // the engine may close before it read it all
  const { code, reason } = await within(5000, victim.closed, 'the engine closing the oversized connection');
  assert.equal(code, 1009, `close code (reason: ${reason})`);
  assert.ok(reason.length > 0, 'close reason is not empty');

  raw.discardPending();
  const msg = await raw.call('math::add', { a: 20, b: 22 });
  assert.equal(msg.result?.c, 42, JSON.stringify(msg));
  await assertStillServing();
});

test('the engine is still alive and serving at the end', { timeout: 10000 }, async () => {
  await assertStillServing();
});
