// The order-pipeline worker: the user guide's "HTTP API to Queue Pipeline"
// code (orders::create) plus the three functions it fans out to, run against
// troupe. run.mjs imports it, so the worker runs in the driver's process.
import { registerWorker, TriggerAction } from 'iii-sdk'

// 127.0.0.1 rather than the guide's localhost: Node may resolve localhost to
// ::1, and troupe listens on 127.0.0.1 by default.
export const iii = registerWorker(process.env.III_URL ?? 'ws://127.0.0.1:49134', {
  workerName: 'order-pipeline',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

// iii-sdk@0.22.1 does not export the guide's Logger, so plain console here.
const logger = { info: (msg, data) => console.log(`[worker] ${msg} ${JSON.stringify(data)}`) }

// What the downstream functions did, for run.mjs to check. A real service
// would talk to a payment gateway, a mail server and an analytics store.
export const seen = {
  payments: new Map(), // orderId -> times charged
  confirmations: new Map(), // orderId -> times mailed
  analytics: new Set(), // orderIds tracked as order_created
  failedAttempts: 0, // attempts that threw and were retried by the queue
  paymentsInFlight: 0,
  maxPaymentsInFlight: 0,
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// The guide's API function, served at `POST /orders` by the trigger below.
iii.registerFunction('orders::create', async (req) => {
  const order = { id: crypto.randomUUID(), ...req.body }

  await iii.trigger({
    function_id: 'orders::process-payment',
    payload: { orderId: order.id, amount: order.total, currency: 'USD' },
    action: TriggerAction.Enqueue({ queue: 'payment' }),
  })

  await iii.trigger({
    function_id: 'emails::confirmation',
    payload: { email: order.email, orderId: order.id },
    action: TriggerAction.Enqueue({ queue: 'email' }),
  })

  await iii.trigger({
    function_id: 'analytics::track',
    payload: { event: 'order_created', orderId: order.id },
    action: TriggerAction.Void(),
  })

  logger.info('Order created', { orderId: order.id })
  return { status_code: 201, body: { orderId: order.id } }
})

iii.registerTrigger({
  type: 'http',
  function_id: 'orders::create',
  config: { api_path: '/orders', http_method: 'POST' },
})

// payment queue (FIFO by orderId, concurrency 2).
iii.registerFunction('orders::process-payment', async ({ orderId, amount, currency }) => {
  seen.paymentsInFlight++
  seen.maxPaymentsInFlight = Math.max(seen.maxPaymentsInFlight, seen.paymentsInFlight)
  try {
    await sleep(20) // the payment gateway
    seen.payments.set(orderId, (seen.payments.get(orderId) ?? 0) + 1)
    return { charged: amount, currency }
  } finally {
    seen.paymentsInFlight--
  }
})

// email queue (standard, concurrency 10). The mail server refuses every 4th
// message once, so that the queue retries it with backoff.
let messages = 0
const flaky = new Set()
iii.registerFunction('emails::confirmation', async ({ email, orderId }) => {
  await sleep(10) // the mail server
  if (++messages % 4 === 0 && !flaky.has(orderId)) {
    flaky.add(orderId)
    seen.failedAttempts++
    throw new Error(`mail server busy, confirmation to ${email} not sent`)
  }
  seen.confirmations.set(orderId, (seen.confirmations.get(orderId) ?? 0) + 1)
  return { sent: true }
})

// Void: best effort, nobody waits for it.
iii.registerFunction('analytics::track', async ({ event, orderId }) => {
  if (event === 'order_created') seen.analytics.add(orderId)
})
