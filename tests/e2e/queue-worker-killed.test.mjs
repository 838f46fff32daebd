// The worker running a queue job is SIGKILLed mid-job: the attempt fails
// with invocation_stopped, is charged, and the job runs again on a worker
// that registers the function afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker, spawnWorker } from './lib/workers.mjs';
import { dlqMessages, enqueue, queueIdle, statsEventually } from './lib/queues.mjs';
import { sleep } from './lib/util.mjs';

const BACKOFF_MS = 800;
let producer;

const env = useEngine(
  {
    queues: {
      // Retries at +0.8, +2.4, +5.6, +12 s after the kill: the first one that
      // comes after the new worker is ready runs the job.
      rescue: { type: 'standard', concurrency: 10, max_retries: 5, backoff_ms: BACKOFF_MS },
      'one-shot': { type: 'standard', concurrency: 10, max_retries: 1, backoff_ms: 10 },
    },
  },
  async ({ url }) => {
    producer = await connectWorker(url, { name: 'producer' });
  },
);

test('a job whose worker is SIGKILLed mid-job runs again on a new worker and completes', { timeout: 30000 }, async () => {
  const first = await spawnWorker(env.url, { name: 'first', functions: { 'slow::job': 'hang' } });
  const payload = { job: 1, text: 'survive the kill' };
  const id = await enqueue(producer, 'rescue', 'slow::job', payload);
  await first.waitFor('started slow::job', 5000);
  const killedAt = Date.now();
  await first.kill9();

  // The interrupted attempt is charged as one failed attempt and the job
  // waits for its retry.
  const afterKill = await statsEventually(
    producer,
    'rescue',
    (s) => {
      assert.equal(s.failed_attempts_total, 1, JSON.stringify(s));
      assert.equal(s.in_flight, 0, JSON.stringify(s));
    },
    { timeoutMs: BACKOFF_MS - 200, intervalMs: 20, what: 'the interrupted attempt charged' },
  );
  assert.equal(afterKill.delayed, 1, `the job waits for its retry: ${JSON.stringify(afterKill)}`);
  assert.ok(Date.now() - killedAt < BACKOFF_MS, 'seen before the first retry');

  const second = await spawnWorker(env.url, { name: 'second', functions: { 'slow::job': 'sleep:100' } });
  const line = await second.waitFor(/^finished slow::job /, 15000);
  assert.deepEqual(JSON.parse(line.slice('finished slow::job '.length)), payload, 'the new worker got the same payload');

  const stats = await queueIdle(producer, 'rescue');
  await sleep(200);
  assert.equal(second.lines().filter((l) => l.startsWith('finished slow::job')).length, 1, 'ran once on the new worker');
  assert.equal(stats.succeeded_total, 1);
  assert.equal(stats.dlq, 0);
  assert.equal(stats.dead_total, 0);
  // 1 for the kill, plus any retry that came before the new worker was ready.
  assert.ok(stats.failed_attempts_total >= 1, JSON.stringify(stats));
  console.log(`rescued job ${id}: ${stats.failed_attempts_total} failed attempt(s), done ${Date.now() - killedAt} ms after the kill`);
  await second.stop();
});

test('the interrupted attempt fails with invocation_stopped (seen in the DLQ)', { timeout: 20000 }, async () => {
  const worker = await spawnWorker(env.url, { name: 'doomed', functions: { 'doomed::job': 'hang' } });
  const id = await enqueue(producer, 'one-shot', 'doomed::job', { n: 1 });
  await worker.waitFor('started doomed::job', 5000);
  await worker.kill9();
  const stats = await statsEventually(producer, 'one-shot', (s) => assert.equal(s.dlq, 1, JSON.stringify(s)), {
    timeoutMs: 5000,
    what: 'the job in the DLQ',
  });
  assert.equal(stats.failed_attempts_total, 1);
  const [dead] = await dlqMessages(producer, 'one-shot');
  assert.equal(dead.id, id);
  assert.equal(dead.error?.code, 'invocation_stopped', `error ${JSON.stringify(dead.error)}`);
  assert.equal(dead.retries, 1);
  assert.deepEqual(dead.payload, { n: 1 });
});
