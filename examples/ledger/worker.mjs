// The ledger worker: the user guide's "Financial Transaction Ledger (FIFO)"
// code, run against troupe. run.mjs imports it, so the worker runs in the
// driver's process.
import { registerWorker, TriggerAction } from 'iii-sdk'

// 127.0.0.1 rather than the guide's localhost: Node may resolve localhost to
// ::1, and troupe listens on 127.0.0.1 by default.
export const iii = registerWorker(process.env.III_URL ?? 'ws://127.0.0.1:49134', {
  workerName: 'ledger',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

// Stand-in for the database of the guide: balances in this process's memory.
// Its first write fails, like a dropped connection, so that the queue has to
// retry a deposit while a withdrawal of the same account waits behind it.
// `history` and `failures` let run.mjs check the outcome.
export const balances = new Map() // account_id -> balance
export const history = [] // {account_id, type, amount, balance} in the order applied
export const failures = [] // {account_id, type, amount, error} for every attempt that threw

let outages = 1
const db = {
  balance: (id) => balances.get(id) ?? 0,
  async add(id, delta) {
    await new Promise((resolve) => setTimeout(resolve, 5)) // a database round trip
    if (outages-- > 0) throw new Error('database connection lost')
    balances.set(id, db.balance(id) + delta)
  },
}

// In the guide this function has an HTTP trigger (POST); run.mjs calls it
// directly with a request-shaped payload (see ../order-pipeline for HTTP).
iii.registerFunction('transactions::submit', async (req) => {
  const { account_id, type, amount } = req.body

  const receipt = await iii.trigger({
    function_id: 'ledger::apply',
    payload: { account_id, type, amount },
    action: TriggerAction.Enqueue({ queue: 'ledger' }),
  })

  return { status_code: 202, body: { receiptId: receipt.messageReceiptId } }
})

iii.registerFunction('ledger::apply', async (txn) => {
  const { account_id, type, amount } = txn
  try {
    if (type === 'deposit') {
      await db.add(account_id, amount)
    } else if (type === 'withdraw') {
      if (db.balance(account_id) < amount) {
        throw new Error('Insufficient funds')
      }
      await db.add(account_id, -amount)
    }
  } catch (err) {
    failures.push({ ...txn, error: err.message })
    throw err // the attempt fails; the queue retries the job after backoff_ms
  }
  history.push({ ...txn, balance: db.balance(account_id) })
  return { applied: true }
})
