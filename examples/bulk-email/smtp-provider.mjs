// A fake SMTP provider's HTTP API on 127.0.0.1, for the bulk-email example:
// POST /send with {to, subject, body}. Every request takes `delayMs`, and it
// rate-limits deterministically: every 7th request is refused with 429 unless
// it is a retry of an email already refused once. It counts what it sees so
// that run.mjs can check the queue's behaviour from the provider's side.
import http from 'node:http'

export async function startSmtpProvider({ delayMs = 30, every = 7 } = {}) {
  const stats = {
    requests: 0,
    inFlight: 0,
    maxInFlight: 0, // most requests served at the same time
    refused: new Set(), // recipients refused once with 429
    sent: new Map(), // recipient -> times accepted
  }

  const server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', async () => {
      const n = ++stats.requests
      stats.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      await new Promise((resolve) => setTimeout(resolve, delayMs)) // talking SMTP
      stats.inFlight--

      let email
      try {
        email = JSON.parse(raw)
      } catch {}
      if (req.method !== 'POST' || req.url !== '/send' || typeof email?.to !== 'string') {
        res.writeHead(400).end('bad request')
      } else if (n % every === 0 && !stats.refused.has(email.to)) {
        stats.refused.add(email.to)
        res.writeHead(429, { 'Retry-After': '5' }).end('rate limited')
      } else {
        stats.sent.set(email.to, (stats.sent.get(email.to) ?? 0) + 1)
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"queued":true}')
      }
    })
  })

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(Number(process.env.SMTP_PORT ?? 0), '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${server.address().port}/send`
  return { url, stats, close: () => new Promise((resolve) => server.close(resolve)) }
}
