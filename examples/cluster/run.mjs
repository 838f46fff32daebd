// Drives examples/cluster: waits for the three nodes to see each other,
// sends 20 POST /orders to node a, then asks node a for the work done by
// the payments worker (on b) and the emails worker (on c), through the
// cluster, until every order was charged and mailed exactly once.
// Exits 0 on success, 1 with the reason.
import { registerWorker } from 'iii-sdk'

const url = process.env.III_URL ?? 'ws://127.0.0.1:49134'
const httpUrl = process.env.III_HTTP_URL ?? 'http://127.0.0.1:3111'
const iii = registerWorker(url, { workerName: 'cluster-driver', otel: { enabled: false }, enableMetricsReporting: false })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const fail = async (why) => {
  console.error(`cluster example: FAILED: ${why}`)
  await iii.shutdown()
  process.exit(1)
}
async function until(what, fn, ms = 30000) {
  const deadline = Date.now() + ms
  let last
  while (Date.now() < deadline) {
    try {
      last = await fn()
      if (last.ok) return last
    } catch (err) {
      last = err
    }
    await sleep(200)
  }
  await fail(`${what} within ${ms} ms (last: ${JSON.stringify(last?.value ?? last?.message ?? last)})`)
}

const members = await until('three nodes up', async () => {
  const m = await iii.trigger({ function_id: 'engine::cluster::members', payload: {}, timeoutMs: 2000 })
  return { ok: m.filter((x) => x.status === 'up').length === 3, value: m }
})
console.log(`members: ${members.value.map((m) => `${m.name} ${m.status}`).join(', ')}`)
await until('the three workers registered', async () => {
  const r = await fetch(`${httpUrl}/orders`, { method: 'OPTIONS' }).catch(() => null)
  const p = await iii.trigger({ function_id: 'payments::count', payload: {}, timeoutMs: 2000 })
  const e = await iii.trigger({ function_id: 'emails::count', payload: {}, timeoutMs: 2000 })
  return { ok: r !== null && p.orders === 0 && e.orders === 0, value: { p, e } }
})

const N = 20
const answers = await Promise.all(
  Array.from({ length: N }, (_, i) =>
    fetch(`${httpUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `customer${i}@example.com`, total: 10 + i }),
    }).then(async (r) => ({ status: r.status, body: await r.json() })),
  ),
)
const bad = answers.filter((a) => a.status !== 201 || !a.body.orderId)
if (bad.length) await fail(`POST /orders answered ${JSON.stringify(bad[0])}`)
console.log(`${N} orders accepted by node a (201)`)

const done = await until('every order charged and mailed once', async () => {
  const p = await iii.trigger({ function_id: 'payments::count', payload: {}, timeoutMs: 2000 })
  const e = await iii.trigger({ function_id: 'emails::count', payload: {}, timeoutMs: 2000 })
  return { ok: p.orders === N && e.orders === N, value: { p, e } }
})
const { p, e } = done.value
if (p.runs !== N || e.runs !== N) await fail(`work ran more than once: ${JSON.stringify(done.value)}`)
console.log(`payments (worker on node b): ${p.orders} orders charged once each, after one retried failure`)
console.log(`emails (worker on node c): ${e.orders} confirmations sent once each`)
console.log('cluster example: ok')
await iii.shutdown()
process.exit(0)
