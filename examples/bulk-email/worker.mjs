// The bulk-email worker: the user guide's "Bulk Email with Rate Limiting"
// code, run against troupe. The only change: it posts to SMTP_URL, the
// example's fake provider on 127.0.0.1 (see smtp-provider.mjs), instead of
// https://smtp-provider.example/send.
import { registerWorker, TriggerAction } from 'iii-sdk'

const SMTP_URL = process.env.SMTP_URL ?? 'http://127.0.0.1:2525/send'

// 127.0.0.1 rather than the guide's localhost: Node may resolve localhost to
// ::1, and troupe listens on 127.0.0.1 by default.
export const iii = registerWorker(process.env.III_URL ?? 'ws://127.0.0.1:49134', {
  workerName: 'bulk-email',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

iii.registerFunction('campaigns::launch', async (campaign) => {
  for (const recipient of campaign.recipients) {
    await iii.trigger({
      function_id: 'emails::send',
      payload: {
        to: recipient.email,
        subject: campaign.subject,
        body: campaign.body,
      },
      action: TriggerAction.Enqueue({ queue: 'bulk-email' }),
    })
  }

  return { enqueued: campaign.recipients.length }
})

iii.registerFunction('emails::send', async (email) => {
  const response = await fetch(SMTP_URL, {
    method: 'POST',
    body: JSON.stringify(email),
    headers: { 'Content-Type': 'application/json' },
  })

  if (!response.ok) {
    throw new Error(`SMTP error: ${response.status}`) // the queue retries with backoff
  }

  return { sent: true }
})
