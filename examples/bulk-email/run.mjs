// Drives the bulk-email example: starts the fake SMTP provider, launches a
// campaign (one queued email per recipient) and waits until every email was
// accepted by the provider exactly once. Exit status 0 when all is right, else 1.
//   node examples/bulk-email/run.mjs    (troupe must be running; see README.md)
import { startSmtpProvider } from './smtp-provider.mjs'
import { statsReader, waitUntil } from '../driver.mjs'

const url = process.env.III_URL ?? 'ws://127.0.0.1:49134'
const RECIPIENTS = 40
const CONCURRENCY = 3 // the bulk-email queue's concurrency in iii-config.yaml
const TIMEOUT_MS = Number(process.env.EXAMPLE_TIMEOUT_MS ?? 60000) // retries wait 5 s by default


// The provider first: the worker reads SMTP_URL when it is imported.
const smtp = await startSmtpProvider()
process.env.SMTP_URL = smtp.url
const { iii } = await import('./worker.mjs')

const queueStats = statsReader(iii, url, 'bulk-email')


async function main() {
  console.log(`fake SMTP provider on ${smtp.url} (refuses every 7th request once with 429)`)
  const before = await queueStats('bulk-email')

  const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `user${i + 1}@example.com` }))
  const started = Date.now()
  const res = await iii.trigger({
    function_id: 'campaigns::launch',
    payload: { subject: 'Spring sale', body: 'Everything 20% off this week.', recipients },
  })
  console.log(`campaigns::launch enqueued ${res.enqueued} emails on queue bulk-email`)

  // Progress, once a second while something changes.
  const { stats } = smtp
  let last = ''
  const progress = setInterval(() => {
    const line = `  ${stats.sent.size}/${RECIPIENTS} sent, ${stats.refused.size} rate-limited (429) so far`
    if (line !== last) console.log((last = line))
  }, 1000)
  let after
  try {
    await waitUntil(() => stats.sent.size === RECIPIENTS, 'sending every email', TIMEOUT_MS)
    await waitUntil(async () => {
      after = await queueStats('bulk-email')
      return after.waiting + after.in_flight + after.delayed === 0
    }, 'the bulk-email queue going idle', TIMEOUT_MS)
  } finally {
    clearInterval(progress)
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const delta = (field) => after[field] - before[field]
  console.log(`\nall ${RECIPIENTS} emails sent in ${seconds} s with ${stats.requests} requests to the provider`)
  console.log(`max sends in flight: ${stats.maxInFlight} (queue concurrency ${CONCURRENCY})`)
  console.log(`retried after a 429: ${stats.refused.size} emails (${[...stats.refused].join(', ')})`)
  console.log(
    `queue bulk-email (engine::queue::stats): enqueued ${delta('enqueued_total')}, succeeded ${delta('succeeded_total')}, ` +
      `failed attempts ${delta('failed_attempts_total')}, dead ${delta('dead_total')}`,
  )

  const problems = []
  if (res.enqueued !== RECIPIENTS) problems.push(`campaigns::launch enqueued ${res.enqueued}, expected ${RECIPIENTS}`)
  if (stats.maxInFlight > CONCURRENCY) problems.push(`${stats.maxInFlight} sends were in flight at once, more than ${CONCURRENCY}`)
  if (stats.refused.size === 0) problems.push('the provider never rate-limited, so nothing was retried')
  for (const r of recipients) {
    const times = stats.sent.get(r.email) ?? 0
    if (times !== 1) problems.push(`${r.email} was sent ${times} times`)
  }
  if (stats.requests !== RECIPIENTS + stats.refused.size) {
    problems.push(`${stats.requests} requests, expected ${RECIPIENTS} + ${stats.refused.size} retries`)
  }
  if (delta('enqueued_total') !== RECIPIENTS || delta('succeeded_total') !== RECIPIENTS) {
    problems.push(`the engine counted ${delta('enqueued_total')} enqueued, ${delta('succeeded_total')} succeeded; expected ${RECIPIENTS}`)
  }
  if (delta('failed_attempts_total') !== stats.refused.size) {
    problems.push(`the engine counted ${delta('failed_attempts_total')} failed attempts, the provider refused ${stats.refused.size}`)
  }
  if (delta('dead_total') !== 0) problems.push(`${delta('dead_total')} emails went to the dead-letter queue`)
  if (problems.length) throw new Error(problems.join('\n  '))
  console.log('\nbulk-email example OK: every email sent once, concurrency limit kept, 429s retried')
}

try {
  await main()
  await iii.shutdown()
  await smtp.close()
  process.exit(0)
} catch (err) {
  console.error(`\nbulk-email example FAILED:\n  ${err.message}`)
  process.exit(1)
}
