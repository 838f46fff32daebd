// The user guide's "HTTP API to Queue Pipeline" (seed 000_07c3c849812a213f):
// `POST /orders` runs orders::create, which enqueues a payment (FIFO queue by
// orderId) and a confirmation email (standard queue, one failed attempt in
// four is retried), sends analytics as a Void call and answers 201 {orderId}
// as soon as the enqueues are acknowledged. 500 orders over keep-alive
// connections; every payment and email completes exactly once.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { httpRequest } from './lib/http.mjs';
import { queueIdle, queueStats } from './lib/queues.mjs';
import { useEngine } from './lib/setup.mjs';
import { eventually, sleep } from './lib/util.mjs';
import { connectWorker, sync } from './lib/workers.mjs';

const ORDERS = 500;
const PAYMENT_MS = 10; // with concurrency 2, 500 payments take >= 2.5 s

const seen = {
  payments: new Map(), // orderId -> times charged
  emails: new Map(), // orderId -> times mailed
  analytics: new Set(),
  paymentsInFlight: 0,
  maxPaymentsInFlight: 0,
  failedEmails: 0,
};
const count = (map, id) => map.set(id, (map.get(id) ?? 0) + 1);

const env = useEngine(
  {
    http: true,
    queues: {
      default: { type: 'standard' },
      payment: { type: 'fifo', message_group_field: 'orderId', concurrency: 2, max_retries: 10, backoff_ms: 50 },
      email: { type: 'standard', concurrency: 10, max_retries: 5, backoff_ms: 50 },
    },
  },
  async (env) => {
    let emailsTried = 0;
    const failedOnce = new Set();
    const iii = await connectWorker(env.url, {
      name: 'order-pipeline',
      functions: {
        'orders::create': async (req) => {
          const order = { id: crypto.randomUUID(), ...req.body };
          await env.iii.trigger({
            function_id: 'orders::process-payment',
            payload: { orderId: order.id, amount: order.total, currency: 'USD' },
            action: TriggerAction.Enqueue({ queue: 'payment' }),
          });
          await env.iii.trigger({
            function_id: 'emails::confirmation',
            payload: { email: order.email, orderId: order.id },
            action: TriggerAction.Enqueue({ queue: 'email' }),
          });
          await env.iii.trigger({
            function_id: 'analytics::track',
            payload: { event: 'order_created', orderId: order.id },
            action: TriggerAction.Void(),
          });
          return { status_code: 201, body: { orderId: order.id } };
        },
        'orders::process-payment': async ({ orderId }) => {
          seen.maxPaymentsInFlight = Math.max(seen.maxPaymentsInFlight, ++seen.paymentsInFlight);
          try {
            await sleep(PAYMENT_MS);
            count(seen.payments, orderId);
            return { charged: true };
          } finally {
            seen.paymentsInFlight--;
          }
        },
        'emails::confirmation': async ({ orderId }) => {
          if (++emailsTried % 4 === 0 && !failedOnce.has(orderId)) {
            failedOnce.add(orderId);
            seen.failedEmails++;
            throw new Error('mail server busy');
          }
          count(seen.emails, orderId);
          return { sent: true };
        },
        'analytics::track': async ({ orderId }) => {
          seen.analytics.add(orderId);
        },
      },
    });
    env.iii = iii;
    iii.registerTrigger({
      type: 'http',
      function_id: 'orders::create',
      config: { api_path: '/orders', http_method: 'POST' },
    });
    await sync(iii);
  },
);

test('500 POST /orders: each 201 at once; every payment and email runs once', { timeout: 60000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  let answers;
  let paymentsWhenAnswered;
  try {
    answers = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        httpRequest(env.httpUrl, '/orders', {
          method: 'POST',
          body: { email: `customer${i}@example.com`, total: 10 + i, items: [`sku-${i}`] },
          agent,
        }),
      ),
    );
    paymentsWhenAnswered = seen.payments.size;
  } finally {
    agent.destroy();
  }
  const ids = answers.map((r, i) => {
    assert.equal(r.status, 201, `order ${i}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.orderId, 'string', `order ${i}: ${r.text}`);
    return r.json.orderId;
  });
  assert.equal(new Set(ids).size, ORDERS, 'distinct order ids');
  assert.ok(paymentsWhenAnswered < ORDERS, 'answers did not wait for the payments');

  await eventually(
    () => {
      assert.equal(seen.payments.size, ORDERS, 'orders charged');
      assert.equal(seen.emails.size, ORDERS, 'orders mailed');
      assert.equal(seen.analytics.size, ORDERS, 'orders tracked');
    },
    { timeoutMs: 30000, intervalMs: 100, what: 'every order processed' },
  );
  for (const q of ['payment', 'email']) await queueIdle(env.iii, q);
  for (const id of ids) {
    assert.equal(seen.payments.get(id), 1, `order ${id} charged once`);
    assert.equal(seen.emails.get(id), 1, `order ${id} mailed once`);
  }
  assert.ok(seen.maxPaymentsInFlight <= 2, `${seen.maxPaymentsInFlight} payments at once (concurrency 2)`);
  assert.ok(seen.failedEmails > 0, 'some emails were retried');
  const payment = await queueStats(env.iii, 'payment');
  const email = await queueStats(env.iii, 'email');
  assert.equal(payment.succeeded_total, ORDERS);
  assert.equal(payment.dead_total, 0);
  assert.equal(email.succeeded_total, ORDERS);
  assert.equal(email.failed_attempts_total, seen.failedEmails);
  assert.equal(email.dead_total, 0);
});
