// Drives the ledger example: submits deposits and withdrawals through
// transactions::submit, waits until the ledger queue applied them all, then
// checks the final balances. Exit status 0 when everything is right, else 1.
//   node examples/ledger/run.mjs        (troupe must be running; see README.md)
import { iii, balances, history, failures } from './worker.mjs'
import { statsReader, waitUntil } from '../driver.mjs'

const url = process.env.III_URL ?? 'ws://127.0.0.1:49134'
const TIMEOUT_MS = Number(process.env.EXAMPLE_TIMEOUT_MS ?? 20000)

// Each withdrawal needs the deposits submitted before it on the same account:
// applied out of order, it would fail with 'Insufficient funds'.
const transactions = [
  { account_id: 'acct_A', type: 'deposit', amount: 100 },
  { account_id: 'acct_A', type: 'withdraw', amount: 50 },
  { account_id: 'acct_B', type: 'deposit', amount: 200 },
  { account_id: 'acct_C', type: 'deposit', amount: 10 },
  { account_id: 'acct_B', type: 'withdraw', amount: 150 },
  { account_id: 'acct_A', type: 'deposit', amount: 25 },
  { account_id: 'acct_C', type: 'withdraw', amount: 10 },
  { account_id: 'acct_A', type: 'withdraw', amount: 60 },
  { account_id: 'acct_B', type: 'deposit', amount: 30 },
  { account_id: 'acct_B', type: 'withdraw', amount: 80 },
]
const expected = { acct_A: 15, acct_B: 0, acct_C: 0 }


const queueStats = statsReader(iii, url, 'ledger')


async function main() {
  const before = await queueStats('ledger')

  // One at a time, so that the queue receives them in this order.
  for (const body of transactions) {
    // A request-shaped payload, as an HTTP trigger would pass it.
    const res = await iii.trigger({ function_id: 'transactions::submit', payload: { body } })
    if (res?.status_code !== 202) throw new Error(`transactions::submit answered ${JSON.stringify(res)}`)
    console.log(`submitted ${body.account_id} ${body.type.padEnd(8)} ${String(body.amount).padStart(4)}  -> 202, receipt ${res.body.receiptId}`)
  }

  await waitUntil(() => history.length >= transactions.length, 'applying the transactions', TIMEOUT_MS)
  let after
  await waitUntil(async () => {
    after = await queueStats('ledger')
    return after.waiting + after.in_flight + after.delayed === 0
  }, 'the ledger queue going idle', TIMEOUT_MS)

  for (const t of failures) {
    console.log(`\nattempt failed: ${t.account_id} ${t.type} ${t.amount}: ${t.error} (retried by the queue)`)
  }
  console.log('\napplied, in order:')
  for (const t of history) {
    console.log(`  ${t.account_id} ${t.type.padEnd(8)} ${String(t.amount).padStart(4)}  -> balance ${t.balance}`)
  }
  console.log('\nfinal balances:')
  for (const [account, balance] of [...balances].sort()) console.log(`  ${account}: ${balance}`)
  const delta = (field) => after[field] - before[field]
  console.log(
    `\nqueue ledger (engine::queue::stats): enqueued ${delta('enqueued_total')}, succeeded ${delta('succeeded_total')}, ` +
      `failed attempts ${delta('failed_attempts_total')}, dead ${delta('dead_total')}`,
  )

  const problems = []
  for (const [account, want] of Object.entries(expected)) {
    if (balances.get(account) !== want) problems.push(`${account} is ${balances.get(account)}, expected ${want}`)
  }
  for (const account of Object.keys(expected)) {
    const submitted = transactions.filter((t) => t.account_id === account).map((t) => `${t.type} ${t.amount}`)
    const applied = history.filter((t) => t.account_id === account).map((t) => `${t.type} ${t.amount}`)
    if (applied.join(', ') !== submitted.join(', ')) {
      problems.push(`${account} applied [${applied.join(', ')}], submitted [${submitted.join(', ')}]`)
    }
  }
  for (const t of failures.filter((f) => f.error === 'Insufficient funds')) {
    problems.push(`'Insufficient funds' for ${t.account_id} ${t.type} ${t.amount}: applied out of order`)
  }
  if (delta('failed_attempts_total') !== failures.length) {
    problems.push(`the engine counted ${delta('failed_attempts_total')} failed attempts, the worker ${failures.length}`)
  }
  if (delta('enqueued_total') !== transactions.length || delta('succeeded_total') !== transactions.length) {
    problems.push(`the engine counted ${delta('enqueued_total')} enqueued, ${delta('succeeded_total')} succeeded; expected ${transactions.length}`)
  }
  if (delta('dead_total') !== 0) problems.push(`${delta('dead_total')} jobs went to the dead-letter queue`)
  if (problems.length) throw new Error(problems.join('\n  '))
  console.log('\nledger example OK: every account applied in submission order, balances match')
}

try {
  await main()
  await iii.shutdown()
  process.exit(0)
} catch (err) {
  console.error(`\nledger example FAILED:\n  ${err.message}`)
  process.exit(1)
}
