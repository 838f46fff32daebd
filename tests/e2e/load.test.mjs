// Many workers calling each other at once: 20 workers x 500 concurrent sync
// calls, every answer checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';

const env = useEngine();

const WORKERS = 20;
const CALLS_EACH = 500;

test(`${WORKERS} workers x ${CALLS_EACH} concurrent sync calls all get their own answer`, { timeout: 50000 }, async () => {
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) =>
      connectWorker(env.url, {
        name: `load-${i}`,
        functions: { [`echo::w${i}`]: async (payload) => ({ ...payload, by: i }) },
      }),
    ),
  );

  const t0 = performance.now();
  const results = await Promise.all(
    workers.map((iii, i) => {
      const target = (i + 1) % WORKERS;
      return Promise.all(
        Array.from({ length: CALLS_EACH }, (_, k) =>
          iii.trigger({
            function_id: `echo::w${target}`,
            payload: { from: i, seq: k, tag: `${i}/${k}`, pad: 'x'.repeat(k % 64) },
            timeoutMs: 40000,
          }),
        ),
      );
    }),
  );
  const ms = performance.now() - t0;
  const total = WORKERS * CALLS_EACH;
  console.log(`${total} sync calls in ${ms.toFixed(0)} ms (${((total / ms) * 1000).toFixed(0)} calls/s)`);

  let checked = 0;
  results.forEach((answers, i) => {
    assert.equal(answers.length, CALLS_EACH);
    answers.forEach((r, k) => {
      // `_caller_worker_id` may be present too; compare only our fields.
      const got = { from: r?.from, seq: r?.seq, tag: r?.tag, pad: r?.pad, by: r?.by };
      assert.deepEqual(got, { from: i, seq: k, tag: `${i}/${k}`, pad: 'x'.repeat(k % 64), by: (i + 1) % WORKERS });
      checked++;
    });
  });
  assert.equal(checked, total);
  assert.ok(env.engine.alive(), 'engine still running');
});
