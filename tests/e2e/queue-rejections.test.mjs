// Enqueue rejections (README: Queues): each comes back to the caller as an
// InvocationError with code enqueue_error and iii's text, and stores nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { useEngine } from './lib/setup.mjs';
import { connectWorker, sync } from './lib/workers.mjs';
import { enqueue, queueIdle, queueStats } from './lib/queues.mjs';
import { deferred, rejection, UUID_V4, within } from './lib/util.mjs';

const LIMIT = 1000;

let producer;
const seen = []; // payloads fifo::sink got

const env = useEngine(
  {
    queues: {
      plain: { type: 'standard', concurrency: 10, max_retries: 5, backoff_ms: 300 },
      orders: { type: 'fifo', message_group_field: 'orderId', concurrency: 10, max_retries: 3, backoff_ms: 10 },
    },
    maxPayloadBytes: LIMIT,
  },
  async ({ url }) => {
    await connectWorker(url, {
      name: 'consumer',
      functions: {
        'fifo::sink': async (payload) => {
          seen.push(payload);
          return {};
        },
        'plain::sink': async () => ({}),
      },
    });
    producer = await connectWorker(url, { name: 'producer' });
  },
);

/** Enqueues and expects the rejection `text`; resolves with the error. */
async function rejected(queue, payload, text) {
  const t0 = Date.now();
  const err = await rejection(
    producer.trigger({
      function_id: queue === 'orders' ? 'fifo::sink' : 'plain::sink',
      payload,
      action: TriggerAction.Enqueue({ queue }),
      timeoutMs: 5000,
    }),
  );
  assert.equal(err.name, 'InvocationError', `${queue} ${JSON.stringify(payload)?.slice(0, 80)}: ${err}`);
  assert.equal(err.code, 'enqueue_error', err.message);
  if (text !== undefined) assert.equal(err.message, `enqueue_error: ${text}`);
  assert.ok(Date.now() - t0 < 2000, 'rejected at once');
  return err;
}

const absent = "FIFO queue 'orders' requires field 'orderId' in data, but it was not found";

test('an unknown queue is rejected', { timeout: 10000 }, async () => {
  await rejected('nope', { a: 1 }, "Queue 'nope' not found");
});

test('FIFO: a payload without the group field is rejected', { timeout: 10000 }, async () => {
  await rejected('orders', { amount: 5 }, absent);
  await rejected('orders', {}, absent);
  // Only a top-level field counts.
  await rejected('orders', { order: { orderId: 'ord_1' } }, absent);
});

test('FIFO: a payload that is not an object is rejected like a missing field', { timeout: 10000 }, async () => {
  await rejected('orders', 'ord_1', absent);
  await rejected('orders', ['ord_1'], absent);
  await rejected('orders', [{ orderId: 'ord_1' }], absent);
  await rejected('orders', 42, absent);
  await rejected('orders', null, absent);
});

test('FIFO: a null group field is rejected', { timeout: 10000 }, async () => {
  await rejected('orders', { orderId: null, amount: 5 }, "FIFO queue 'orders': field 'orderId' must not be null");
});

test('a payload over max_payload_bytes is rejected with its size and the limit', { timeout: 10000 }, async () => {
  const big = { blob: 'x'.repeat(2000) };
  const size = Buffer.byteLength(JSON.stringify(big));
  const err = await rejected('plain', big);
  assert.ok(err.message.includes(String(size)), `names the size ${size}: ${err.message}`);
  assert.ok(err.message.includes(String(LIMIT)), `names the limit ${LIMIT}: ${err.message}`);
  // The same limit on a FIFO queue, checked with the group field present.
  const bigFifo = { orderId: 'ord_1', blob: 'y'.repeat(1500) };
  const err2 = await rejected('orders', bigFifo);
  assert.ok(err2.message.includes(String(Buffer.byteLength(JSON.stringify(bigFifo)))), err2.message);

  // The limit itself is allowed: {"blob":"..."} is 11 bytes plus the string.
  const atLimit = { blob: 'z'.repeat(LIMIT - 11) };
  assert.equal(Buffer.byteLength(JSON.stringify(atLimit)), LIMIT);
  assert.match(await enqueue(producer, 'plain', 'plain::sink', atLimit), UUID_V4);
  const overByOne = { blob: 'z'.repeat(LIMIT - 10) };
  const err3 = await rejected('plain', overByOne);
  assert.ok(err3.message.includes(String(LIMIT + 1)) && err3.message.includes(String(LIMIT)), err3.message);
  await queueIdle(producer, 'plain');
});

test('FIFO group values that are numbers or objects are accepted and delivered', { timeout: 10000 }, async () => {
  seen.length = 0;
  const payloads = [
    { orderId: 42, n: 1 },
    { orderId: { region: 'eu', id: 7 }, n: 2 },
    { orderId: 42, n: 3 },
    { orderId: [1, 2], n: 4 },
    { orderId: true, n: 5 },
    { orderId: 'ord_9', n: 6 },
  ];
  const ids = [];
  for (const p of payloads) ids.push(await enqueue(producer, 'orders', 'fifo::sink', p));
  for (const id of ids) assert.match(id, UUID_V4);
  await queueIdle(producer, 'orders');
  assert.deepEqual(
    [...seen].sort((a, b) => a.n - b.n),
    payloads,
    'every accepted job ran once with its payload',
  );
  // Same group (42): in enqueue order.
  const fortyTwo = seen.filter((p) => p.orderId === 42).map((p) => p.n);
  assert.deepEqual(fortyTwo, [1, 3]);
});

test('rejected enqueues store nothing: enqueued_total counts only accepted jobs', { timeout: 15000 }, async () => {
  const before = {
    plain: await queueStats(producer, 'plain'),
    orders: await queueStats(producer, 'orders'),
  };
  await rejected('orders', { amount: 1 }, absent);
  await rejected('orders', 'text', absent);
  await rejected('orders', { orderId: null }, "FIFO queue 'orders': field 'orderId' must not be null");
  await rejected('orders', { orderId: 'o', blob: 'b'.repeat(2000) });
  await rejected('plain', { blob: 'b'.repeat(2000) });
  await rejected('nope', { a: 1 }, "Queue 'nope' not found");
  const after = {
    plain: await queueStats(producer, 'plain'),
    orders: await queueStats(producer, 'orders'),
  };
  for (const q of ['plain', 'orders']) {
    assert.equal(after[q].enqueued_total, before[q].enqueued_total, `${q}: enqueued_total`);
    assert.equal(after[q].waiting + after[q].in_flight + after[q].delayed, 0, `${q}: nothing queued`);
    assert.equal(after[q].dlq, before[q].dlq, `${q}: nothing dead`);
  }
  // And an accepted one counts.
  await enqueue(producer, 'orders', 'fifo::sink', { orderId: 'ord_x' });
  assert.equal((await queueStats(producer, 'orders')).enqueued_total, before.orders.enqueued_total + 1);
});

test('the target function need not be registered at enqueue time', { timeout: 15000 }, async () => {
  const ran = deferred();
  const id = await enqueue(producer, 'plain', 'late::fn', { hello: 'later' });
  assert.match(id, UUID_V4);
  // The first attempt finds no function; the retry (300 ms later) finds it.
  const late = await connectWorker(env.url, { name: 'late', functions: { 'late::fn': async (p) => ran.resolve(p) } });
  await sync(late);
  assert.deepEqual(await within(5000, ran.promise, 'the job on the late function'), { hello: 'later' });
  const stats = await queueIdle(producer, 'plain');
  assert.equal(stats.dlq, 0);
});
