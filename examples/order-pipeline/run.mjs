// Drives the order-pipeline example: creates orders with `POST /orders` on
// troupe's REST API (iii-http), then waits until every order was charged
// once, mailed once and tracked by analytics.
// Exit status 0 when all is right, else 1.
//   node examples/order-pipeline/run.mjs   (troupe must be running; see README.md)
import { iii, seen } from './worker.mjs'
import { statsReader, waitUntil } from '../driver.mjs'

const url = process.env.III_URL ?? 'ws://127.0.0.1:49134'
const api = process.env.III_HTTP_URL ?? 'http://127.0.0.1:3111'
const ORDERS = 20
const TIMEOUT_MS = Number(process.env.EXAMPLE_TIMEOUT_MS ?? 30000) // email retries wait 2 s by default


const queueStats = statsReader(iii, url, 'order-pipeline')

const idle = (s) => s.waiting + s.in_flight + s.delayed === 0

/// `POST /orders` with a JSON body; resolves {status, body}.
async function postOrder(order) {
  const res = await fetch(`${api}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
    signal: AbortSignal.timeout(10000),
  }).catch((err) => {
    throw new Error(`POST ${api}/orders failed (${err.cause?.message ?? err.message}); is troupe serving iii-http there?`)
  })
  return { status: res.status, body: await res.json().catch(() => null) }
}

async function main() {
  // This round trip also makes sure the engine has the worker's http trigger:
  // a connection's registrations are handled before its later calls.
  const before = { payment: await queueStats('payment'), email: await queueStats('email') }

  // All the HTTP requests at once, as concurrent clients would send them.
  const started = Date.now()
  const responses = await Promise.all(
    Array.from({ length: ORDERS }, (_, i) =>
      postOrder({ email: `customer${i + 1}@example.com`, total: 10 + i, items: [`sku-${i + 1}`] }),
    ),
  )
  const bad = responses.find((r) => r.status !== 201 || typeof r.body?.orderId !== 'string')
  if (bad) throw new Error(`POST /orders answered ${bad.status} ${JSON.stringify(bad.body)}`)
  const orderIds = responses.map((r) => r.body.orderId)
  console.log(`created ${orderIds.length} orders in ${Date.now() - started} ms (every POST /orders answered 201 {orderId})`)

  const done = () =>
    seen.payments.size === ORDERS && seen.confirmations.size === ORDERS && seen.analytics.size === ORDERS
  await waitUntil(done, 'processing every order', TIMEOUT_MS).catch((err) => {
    throw new Error(
      `${err.message} (charged ${seen.payments.size}, mailed ${seen.confirmations.size}, ` +
        `tracked ${seen.analytics.size} of ${ORDERS})`,
    )
  })
  const after = {}
  await waitUntil(async () => {
    after.payment = await queueStats('payment')
    after.email = await queueStats('email')
    return idle(after.payment) && idle(after.email)
  }, 'the payment and email queues going idle', TIMEOUT_MS)

  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`\nsummary after ${seconds} s:`)
  console.log(`  payments charged:        ${seen.payments.size}/${ORDERS} (at most ${seen.maxPaymentsInFlight} at a time, queue concurrency 2)`)
  console.log(`  confirmations mailed:    ${seen.confirmations.size}/${ORDERS} (${seen.failedAttempts} retried after a failed attempt)`)
  console.log(`  analytics order_created: ${seen.analytics.size}/${ORDERS}`)
  const delta = (queue, field) => after[queue][field] - before[queue][field]
  for (const queue of ['payment', 'email']) {
    console.log(
      `  queue ${queue.padEnd(7)} (engine::queue::stats): enqueued ${delta(queue, 'enqueued_total')}, ` +
        `succeeded ${delta(queue, 'succeeded_total')}, failed attempts ${delta(queue, 'failed_attempts_total')}, ` +
        `dead ${delta(queue, 'dead_total')}`,
    )
  }

  const problems = []
  for (const id of orderIds) {
    const charged = seen.payments.get(id) ?? 0
    const mailed = seen.confirmations.get(id) ?? 0
    if (charged !== 1) problems.push(`order ${id} was charged ${charged} times`)
    if (mailed !== 1) problems.push(`order ${id} was mailed ${mailed} times`)
    if (!seen.analytics.has(id)) problems.push(`order ${id} never reached analytics::track`)
  }
  if (seen.maxPaymentsInFlight > 2) problems.push(`${seen.maxPaymentsInFlight} payments ran at once, more than 2`)
  const failedAttempts = { payment: 0, email: seen.failedAttempts }
  for (const queue of ['payment', 'email']) {
    if (delta(queue, 'enqueued_total') !== ORDERS || delta(queue, 'succeeded_total') !== ORDERS) {
      problems.push(`queue ${queue}: the engine counted ${delta(queue, 'enqueued_total')} enqueued, ${delta(queue, 'succeeded_total')} succeeded; expected ${ORDERS}`)
    }
    if (delta(queue, 'failed_attempts_total') !== failedAttempts[queue]) {
      problems.push(`queue ${queue}: the engine counted ${delta(queue, 'failed_attempts_total')} failed attempts, the worker ${failedAttempts[queue]}`)
    }
    if (delta(queue, 'dead_total') !== 0) problems.push(`queue ${queue}: ${delta(queue, 'dead_total')} jobs went to the dead-letter queue`)
  }
  if (problems.length) throw new Error(problems.join('\n  '))
  console.log('\norder-pipeline example OK: every order charged once, mailed once and tracked')
}

try {
  await main()
  await iii.shutdown()
  process.exit(0)
} catch (err) {
  console.error(`\norder-pipeline example FAILED:\n  ${err.message}`)
  process.exit(1)
}
