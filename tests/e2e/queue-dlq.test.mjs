// The dead-letter queue (README: Queues): what a dead job looks like, the
// stats, and the redrive / discard functions; plus the failures that are not
// a handler's error: no such function (function_not_found) and timeout_ms
// (timeout).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import {
  discardMessage,
  dlqMessages,
  dlqTopics,
  enqueue,
  queueIdle,
  queueStats,
  redrive,
  redriveMessage,
  statsEventually,
} from './lib/queues.mjs';
import { deferred, eventually, rejection, sleep, UUID_V4, within } from './lib/util.mjs';

const FAILING = { type: 'standard', max_retries: 3, backoff_ms: 10, concurrency: 10 };

let producer;
let healed = false; // dlq::flaky fails until this is set
const flakyCalls = []; // payloads dlq::flaky got
let flakySucceeded = deferred();
const slowFinished = [];

const env = useEngine(
  {
    // A job for a missing function must fail at once here, not wait out the
    // start-up grace period that lets workers reconnect after a restart.
    startupGraceMs: 0,
    queues: {
      'dlq-one': FAILING,
      'dlq-two': FAILING,
      'dlq-nofn': FAILING,
      'dlq-timeout': { type: 'standard', max_retries: 2, backoff_ms: 10, timeout_ms: 200, concurrency: 10 },
    },
  },
  async ({ url }) => {
    await connectWorker(url, {
      name: 'consumer',
      functions: {
        'dlq::flaky': async (payload) => {
          flakyCalls.push(payload);
          if (!healed) throw new Error(`flaky failure ${flakyCalls.length}`);
          flakySucceeded.resolve(payload);
          return { healed: true };
        },
        'dlq::always': async ({ n }) => {
          throw new Error(`always fails (${n})`);
        },
        'dlq::slow': async ({ n }) => {
          await sleep(600);
          slowFinished.push(n);
          return { late: true };
        },
      },
    });
    producer = await connectWorker(url, { name: 'producer' });
  },
);

const waitDead = (queue, dead, what) =>
  statsEventually(producer, queue, (s) => assert.equal(s.dlq, dead, JSON.stringify(s)), {
    timeoutMs: 10000,
    what: what ?? `${dead} dead job(s) on ${queue}`,
  });

test('a job that always fails reaches the DLQ; redrive_message runs it again', { timeout: 20000 }, async () => {
  const payload = { order: 'ord_1', amount: 149.99, tags: ['a', 'b'], nested: { x: null, y: [1, { z: true }] }, text: 'é✓' };
  const before = Date.now();
  const id = await enqueue(producer, 'dlq-one', 'dlq::flaky', payload);
  assert.match(id, UUID_V4);
  const stats = await waitDead('dlq-one', 1);
  const after = Date.now();

  // Three attempts, each with exactly the enqueued payload.
  assert.equal(flakyCalls.length, 3);
  for (const p of flakyCalls) assert.deepEqual(p, payload, 'the handler gets exactly the enqueued payload');

  const list = await dlqMessages(producer, 'dlq-one');
  assert.equal(list.length, 1);
  const [dead] = list;
  assert.equal(dead.id, id, 'listed under its receipt id');
  assert.equal(dead.function_id, 'dlq::flaky');
  assert.deepEqual(dead.payload, payload, 'the exact payload');
  assert.equal(dead.error?.code, 'invocation_failed');
  assert.equal(dead.error?.message, 'flaky failure 3', 'the last attempt’s error message');
  assert.equal(dead.retries, 3);
  assert.equal(dead.size_bytes, Buffer.byteLength(JSON.stringify(payload)));
  assert.ok(dead.enqueued_at >= before - 1000 && dead.enqueued_at <= after, `enqueued_at ${dead.enqueued_at}`);
  assert.ok(dead.failed_at >= dead.enqueued_at && dead.failed_at <= after + 1000, `failed_at ${dead.failed_at}`);

  // One warning line names the queue, the job and its attempts (polled: the
  // engine's output pipe may lag behind its WebSocket replies).
  const logLines = await eventually(
    async () => {
      const lines = env.engine.logs().split('\n').filter((l) => l.includes(id) && /dead/i.test(l));
      assert.equal(lines.length, 1, `log lines about the dead job:\n${lines.join('\n')}`);
      return lines;
    },
    { timeoutMs: 2000, intervalMs: 20, what: 'the dead-letter warning in the engine log' },
  );
  assert.match(logLines[0], /WARN/);
  assert.match(logLines[0], /dlq-one/);
  assert.match(logLines[0], /\b3 attempts\b/);

  assert.equal(stats.dlq, 1);
  assert.equal(stats.dead_total, 1);
  assert.equal(stats.failed_attempts_total, 3);
  assert.equal(stats.succeeded_total, 0);
  assert.equal(stats.enqueued_total, 1);
  assert.equal(stats.waiting + stats.delayed + stats.in_flight, 0);

  const topics = await dlqTopics(producer);
  assert.ok(Array.isArray(topics), `dlq_topics: ${JSON.stringify(topics)}`);
  const topic = topics.find((t) => t.topic === 'dlq-one');
  assert.deepEqual(topic, { topic: 'dlq-one', broker_type: 'builtin', message_count: 1 });
  for (const q of ['default', 'dlq-two', 'dlq-nofn', 'dlq-timeout']) {
    assert.ok(topics.some((t) => t.topic === q && t.broker_type === 'builtin'), `dlq_topics lists ${q}`);
  }

  // Now the handler succeeds: redrive just this job.
  healed = true;
  flakySucceeded = deferred();
  assert.deepEqual(await redriveMessage(producer, 'dlq-one', id), { queue: 'dlq-one', message_id: id, redriven: 1 });
  assert.deepEqual(await within(5000, flakySucceeded.promise, 'the redriven job'), payload);
  const afterRedrive = await queueIdle(producer, 'dlq-one');
  assert.deepEqual(await dlqMessages(producer, 'dlq-one'), [], 'the job left the DLQ');
  assert.equal(afterRedrive.dlq, 0);
  assert.equal(afterRedrive.succeeded_total, 1);
  assert.equal(afterRedrive.failed_attempts_total, 3);
  assert.equal(afterRedrive.dead_total, 1, 'dead_total counts moves to the DLQ, it does not go down');
  assert.equal(flakyCalls.length, 4, 'the redriven job ran once more');
  // Redriving it again finds nothing.
  assert.deepEqual(await redriveMessage(producer, 'dlq-one', id), { queue: 'dlq-one', message_id: id, redriven: 0 });
});

test('redrive of a queue with 2 dead jobs returns 2; discard_message removes one', { timeout: 20000 }, async () => {
  const first = await enqueue(producer, 'dlq-two', 'dlq::always', { n: 1 });
  await waitDead('dlq-two', 1);
  const second = await enqueue(producer, 'dlq-two', 'dlq::always', { n: 2 });
  await waitDead('dlq-two', 2);

  const list = await dlqMessages(producer, 'dlq-two');
  assert.deepEqual(list.map((d) => d.id), [second, first], 'newest first');
  assert.deepEqual(list.map((d) => d.error.message), ['always fails (2)', 'always fails (1)']);
  assert.deepEqual((await dlqMessages(producer, 'dlq-two', { offset: 1, limit: 1 })).map((d) => d.id), [first]);
  assert.deepEqual((await dlqMessages(producer, 'dlq-two', { limit: 1 })).map((d) => d.id), [second]);
  assert.deepEqual(await dlqMessages(producer, 'dlq-two', { offset: 2 }), []);

  assert.deepEqual(await redrive(producer, 'dlq-two'), { queue: 'dlq-two', redriven: 2 });
  // They run again from attempt 1 (attempts reset) and die again.
  const stats = await statsEventually(producer, 'dlq-two', (s) => {
    assert.equal(s.dead_total, 4, JSON.stringify(s));
    assert.equal(s.dlq, 2, JSON.stringify(s));
  });
  assert.equal(stats.failed_attempts_total, 12, '3 attempts each, twice');
  const again = await dlqMessages(producer, 'dlq-two');
  assert.deepEqual(again.map((d) => d.id).sort(), [first, second].sort(), 'same ids after a redrive');
  for (const d of again) assert.equal(d.retries, 3, 'attempts were reset by the redrive');

  assert.deepEqual(await discardMessage(producer, 'dlq-two', first), {
    queue: 'dlq-two',
    message_id: first,
    discarded: 1,
  });
  assert.deepEqual((await dlqMessages(producer, 'dlq-two')).map((d) => d.id), [second]);
  assert.deepEqual(await discardMessage(producer, 'dlq-two', first), {
    queue: 'dlq-two',
    message_id: first,
    discarded: 0,
  });
  assert.equal((await queueStats(producer, 'dlq-two')).dlq, 1);
  // A discarded job is gone for good: redrive finds only the other one.
  assert.deepEqual(await redriveMessage(producer, 'dlq-two', first), { queue: 'dlq-two', message_id: first, redriven: 0 });
  await waitDead('dlq-two', 1, 'the last dead job, redriven, back in the DLQ');
  assert.deepEqual(await redrive(producer, 'dlq-two'), { queue: 'dlq-two', redriven: 1 });
  await statsEventually(producer, 'dlq-two', (s) => assert.equal(s.dead_total, 5, JSON.stringify(s)));
  assert.deepEqual(await discardMessage(producer, 'dlq-two', second), { queue: 'dlq-two', message_id: second, discarded: 1 });
  assert.deepEqual(await redrive(producer, 'dlq-two'), { queue: 'dlq-two', redriven: 0 }, 'an empty DLQ');
});

test('unknown message ids: redrive_message gives 0, discard_message gives 0', { timeout: 10000 }, async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  assert.deepEqual(await redriveMessage(producer, 'dlq-one', unknown), {
    queue: 'dlq-one',
    message_id: unknown,
    redriven: 0,
  });
  assert.deepEqual(await discardMessage(producer, 'dlq-one', unknown), {
    queue: 'dlq-one',
    message_id: unknown,
    discarded: 0,
  });
  assert.deepEqual(await redriveMessage(producer, 'dlq-one', 'not-a-uuid'), {
    queue: 'dlq-one',
    message_id: 'not-a-uuid',
    redriven: 0,
  });
});

test('bad arguments: queue_not_set, message_id_not_set, queue_not_found', { timeout: 10000 }, async () => {
  const code = async (functionId, payload) => {
    const err = await rejection(producer.trigger({ function_id: functionId, payload, timeoutMs: 5000 }));
    assert.equal(err.name, 'InvocationError', `${functionId} ${JSON.stringify(payload)}: ${err}`);
    return err.code;
  };
  for (const fn of ['iii::queue::redrive', 'iii::queue::redrive_message', 'iii::queue::discard_message', 'engine::queue::dlq_messages']) {
    assert.equal(await code(fn, {}), 'queue_not_set', `${fn} without queue`);
    assert.equal(await code(fn, { queue: '' }), 'queue_not_set', `${fn} with an empty queue`);
    assert.equal(await code(fn, { queue: 'nope', message_id: 'x' }), 'queue_not_found', `${fn} on an unknown queue`);
  }
  for (const fn of ['iii::queue::redrive_message', 'iii::queue::discard_message']) {
    assert.equal(await code(fn, { queue: 'dlq-one' }), 'message_id_not_set', `${fn} without message_id`);
    assert.equal(await code(fn, { queue: 'dlq-one', message_id: '' }), 'message_id_not_set', `${fn} with an empty message_id`);
  }
  assert.equal(await code('engine::queue::stats', { queue: 'nope' }), 'queue_not_found');
  assert.ok(env.engine.alive());
});

test('arguments of the wrong type are refused with invalid_argument', { timeout: 10000 }, async () => {
  const refusal = (functionId, payload) => rejection(producer.trigger({ function_id: functionId, payload, timeoutMs: 5000 }));
  const err = await refusal('engine::queue::stats', { queue: 5 });
  assert.equal(err.name, 'InvocationError', String(err));
  assert.equal(err.code, 'invalid_argument', 'not the stats of every queue');
  assert.match(err.message, /queue must be a string/);
  for (const [fn, payload, what] of [
    ['iii::queue::redrive', { queue: ['dlq-one'] }, /queue must be a string/],
    ['iii::queue::redrive_message', { queue: 'dlq-one', message_id: 7 }, /message_id must be a string/],
    ['iii::queue::discard_message', { queue: 'dlq-one', message_id: {} }, /message_id must be a string/],
    ['engine::queue::dlq_messages', { queue: 'dlq-one', offset: -1 }, /offset must be a non-negative integer/],
    ['engine::queue::dlq_messages', { queue: 'dlq-one', limit: '10' }, /limit must be a non-negative integer/],
    ['engine::queue::dlq_messages', { queue: 'dlq-one', limit: 1.5 }, /limit must be a non-negative integer/],
    ['engine::queue::stats', [1, 2], /data must be an object/],
    ['engine::queue::dlq_topics', 'all', /data must be an object/],
  ]) {
    const e = await refusal(fn, payload);
    assert.equal(e.code, 'invalid_argument', `${fn} ${JSON.stringify(payload)}: ${e}`);
    assert.match(e.message, what, `${fn} ${JSON.stringify(payload)}`);
  }
  // Null stands for an absent member, and no data at all is fine for stats.
  assert.ok(Array.isArray(await producer.trigger({ function_id: 'engine::queue::stats', payload: { queue: null }, timeoutMs: 5000 })));
  assert.ok(env.engine.alive());
});

test('a job for a function nobody registered dies with function_not_found after its attempts', { timeout: 15000 }, async () => {
  const id = await enqueue(producer, 'dlq-nofn', 'nobody::home', { k: 1 });
  const stats = await waitDead('dlq-nofn', 1);
  assert.equal(stats.failed_attempts_total, 3);
  const [dead] = await dlqMessages(producer, 'dlq-nofn');
  assert.equal(dead.id, id);
  assert.equal(dead.function_id, 'nobody::home');
  assert.equal(dead.error?.code, 'function_not_found');
  assert.equal(dead.error?.message, 'Function nobody::home not found');
  assert.equal(dead.retries, 3);
  assert.deepEqual(dead.payload, { k: 1 });
});

test('an attempt slower than the queue’s timeout_ms fails with timeout', { timeout: 15000 }, async () => {
  slowFinished.length = 0;
  const t0 = Date.now();
  const id = await enqueue(producer, 'dlq-timeout', 'dlq::slow', { n: 1 });
  const stats = await waitDead('dlq-timeout', 1);
  const elapsed = Date.now() - t0;
  // Two attempts of 200 ms and a 10 ms backoff; the handler needs 600 ms.
  assert.ok(elapsed >= 400, `dead after ${elapsed} ms, before two 200 ms timeouts`);
  assert.ok(elapsed < 1100, `dead after ${elapsed} ms: the 200 ms timeout did not cut the 600 ms attempts`);
  assert.equal(stats.failed_attempts_total, 2);
  const [dead] = await dlqMessages(producer, 'dlq-timeout');
  assert.equal(dead.id, id);
  assert.equal(dead.error?.code, 'timeout', `error ${JSON.stringify(dead.error)}`);
  assert.equal(dead.retries, 2);

  // The late results arrive after the timeouts: they change nothing.
  await eventually(async () => assert.equal(slowFinished.length, 2), { timeoutMs: 5000, intervalMs: 50, what: 'the slow handlers finishing' });
  await sleep(100);
  const later = await queueStats(producer, 'dlq-timeout');
  assert.equal(later.succeeded_total, 0);
  assert.equal(later.dlq, 1);
  assert.equal(later.in_flight + later.waiting + later.delayed, 0);
});

