// The order pipeline of examples/order-pipeline, spread over a cluster:
// each role is a worker process connected to its own node.
//   node examples/cluster/worker.mjs api      ws://127.0.0.1:49134  (node a)
//   node examples/cluster/worker.mjs payments ws://127.0.0.1:49135  (node b)
//   node examples/cluster/worker.mjs emails   ws://127.0.0.1:49136  (node c)
// api serves POST /orders (an http trigger on a) and enqueues a payment
// (FIFO by orderId: stored and run by the node that owns the order's group)
// and an email (standard: stored on a, run by the emails worker on c);
// payments and emails also answer `*::count` so the driver can ask any
// node how much work was done.
import { registerWorker, TriggerAction } from 'iii-sdk'

const [role, url] = process.argv.slice(2)
const iii = registerWorker(url, {
  workerName: `cluster-${role}`,
  otel: { enabled: false },
  enableMetricsReporting: false,
})
const done = new Map() // orderId -> times done
const count = () => ({ orders: done.size, runs: [...done.values()].reduce((a, b) => a + b, 0) })

if (role === 'api') {
  iii.registerFunction('orders::create', async (req) => {
    const order = { id: crypto.randomUUID(), ...req.body }
    await iii.trigger({
      function_id: 'orders::process-payment',
      payload: { orderId: order.id, amount: order.total },
      action: TriggerAction.Enqueue({ queue: 'payment' }),
    })
    await iii.trigger({
      function_id: 'emails::confirmation',
      payload: { email: order.email, orderId: order.id },
      action: TriggerAction.Enqueue({ queue: 'email' }),
    })
    return { status_code: 201, body: { orderId: order.id } }
  })
  iii.registerTrigger({ type: 'http', function_id: 'orders::create', config: { api_path: '/orders', http_method: 'POST' } })
} else if (role === 'payments') {
  let failOnce = true
  iii.registerFunction('orders::process-payment', async ({ orderId }) => {
    if (failOnce) {
      failOnce = false
      throw new Error('payment gateway timeout') // retried by the queue
    }
    done.set(orderId, (done.get(orderId) ?? 0) + 1)
    return { charged: true }
  })
  iii.registerFunction('payments::count', async () => count())
} else if (role === 'emails') {
  iii.registerFunction('emails::confirmation', async ({ orderId }) => {
    done.set(orderId, (done.get(orderId) ?? 0) + 1)
    return { sent: true }
  })
  iii.registerFunction('emails::count', async () => count())
} else {
  console.error(`unknown role '${role}': api, payments or emails`)
  process.exit(2)
}
console.log(`worker ${role} connected to ${url}`)
process.stdin.on('end', () => iii.shutdown().then(() => process.exit(0)))
process.stdin.resume()
