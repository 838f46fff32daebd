// The Node side of examples/embedded: a worker written with the real
// iii-sdk that serves node::greet and calls the shop's C++ function
// shop::checkout through the engine embedded in embedded_shop.
//
//   node examples/embedded/worker.mjs [ws://127.0.0.1:49134]
//
// It exits once it has been greeted and its checkout was answered.
import { registerWorker } from 'iii-sdk'

const url = process.argv[2] ?? process.env.III_URL ?? 'ws://127.0.0.1:49134'
const iii = registerWorker(url, {
  workerName: 'embedded-example',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

let greeted = false
let checkedOut = false
const finish = async () => {
  if (!greeted || !checkedOut) return
  setTimeout(async () => {
    await iii.shutdown()
    process.exit(0)
  }, 200) // lets the last answer go out
}

iii.registerFunction('node::greet', async ({ name }) => {
  greeted = true
  finish()
  return { greeting: `hello ${name}, from Node` }
})

// trigger() waits for the socket; the SDK retries until the shop listens.
const checkout = await iii.trigger({
  function_id: 'shop::checkout',
  payload: { sku: 'tea-42' },
  timeoutMs: 60000,
})
console.log(`worker: shop::checkout answered ${JSON.stringify(checkout)}`)
checkedOut = true
finish()
