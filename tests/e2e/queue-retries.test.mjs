// Retry timing (README: Configuration): after the k-th failed attempt a job
// runs again after min(backoff_ms * 2^(k-1), max_backoff_ms); max_retries
// counts attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { dlqMessages, enqueue, statsEventually } from './lib/queues.mjs';
import { sleep } from './lib/util.mjs';

// How late a retry may start. The gap between two handler starts is the
// engine's delay plus: the failed result's trip to the engine and the next
// invokefunction's trip back over the WebSocket (well under 1 ms each when
// idle, but up to ~40 ms if a frame waits for a delayed TCP ACK), timer
// resolution (~1 ms for the engine's timer and for Node's event loop), and,
// dominating everything, scheduling on a shared 2-core machine where the
// engine, this test process and other jobs compete: a process can wait tens
// of ms for a core, and GC pauses add more. 150 ms absorbs that noise and
// still catches a wrong formula: without the doubling the gaps would be 200,
// 200, 200 (the 2nd gap off by 200 ms), with an extra doubling 400, 800, 1600.
const TOLERANCE_MS = 150;
const EARLY_MS = 5; // a retry may not start before its delay (clock granularity only)

let producer;
const starts = new Map(); // function id -> handler start times (performance.now())

const env = useEngine(
  {
    queues: {
      retry: { type: 'standard', max_retries: 4, backoff_ms: 200, concurrency: 10 },
      capped: { type: 'standard', max_retries: 4, backoff_ms: 100, max_backoff_ms: 150, concurrency: 10 },
    },
  },
  async ({ url }) => {
    const failing = (id) => async () => {
      if (!starts.has(id)) starts.set(id, []);
      starts.get(id).push(performance.now());
      throw new Error(`${id} always fails`);
    };
    await connectWorker(url, {
      name: 'consumer',
      functions: { 'retry::fail': failing('retry::fail'), 'capped::fail': failing('capped::fail') },
    });
    producer = await connectWorker(url, { name: 'producer' });
  },
);

/** Enqueues a job that always fails and resolves with the gaps between its attempts. */
async function measureGaps(queue, functionId, attempts) {
  starts.set(functionId, []);
  const id = await enqueue(producer, queue, functionId, { what: 'always fails' });
  await statsEventually(
    producer,
    queue,
    (s) => assert.equal(s.dead_total, 1, `not dead yet: ${JSON.stringify(s)}`),
    { timeoutMs: 10000, intervalMs: 50, what: `the job on ${queue} reaching the DLQ` },
  );
  await sleep(100); // no attempt after the last one
  const times = starts.get(functionId);
  assert.equal(times.length, attempts, `attempts of the job on ${queue}`);
  const [dead] = await dlqMessages(producer, queue);
  assert.equal(dead.id, id);
  assert.equal(dead.retries, attempts);
  return times.slice(1).map((t, i) => t - times[i]);
}

function checkGaps(gaps, expected, tolerance) {
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      gaps[i] >= expected[i] - EARLY_MS && gaps[i] <= expected[i] + tolerance,
      `gap ${i + 1} was ${gaps[i].toFixed(1)} ms, expected ${expected[i]} ms (-${EARLY_MS}/+${tolerance}); ` +
        `all gaps ${gaps.map((g) => g.toFixed(1)).join(', ')}`,
    );
  }
}

test('backoff_ms 200, max_retries 4: retries after ~200, 400, 800 ms, then the DLQ', { timeout: 15000 }, async () => {
  const gaps = await measureGaps('retry', 'retry::fail', 4);
  console.log(`retry gaps (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')} (expected 200, 400, 800)`);
  checkGaps(gaps, [200, 400, 800], TOLERANCE_MS);
});

test('max_backoff_ms 150 caps the delays: ~100, 150, 150 ms', { timeout: 15000 }, async () => {
  const gaps = await measureGaps('capped', 'capped::fail', 4);
  console.log(`capped gaps (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')} (expected 100, 150, 150)`);
  // Uncapped, the gaps would be 100, 200, 400: the 3rd gap (400 > 150 + 150)
  // shows the cap; the 2nd (200 vs 150) is within the tolerance.
  checkGaps(gaps, [100, 150, 150], TOLERANCE_MS);
});
