// Soak run: troupe under mixed load for a long time, killed with SIGKILL and
// restarted every few minutes on a file_based store.
//
//   node bench/soak.mjs [--minutes 30] [--kill-every 5] [--troupe build/cluster/troupe]
//   node bench/soak.mjs --quick          # 3 minutes, a kill every minute
//
// Load, all through real iii-sdk clients on 127.0.0.1:
// - enqueues to a standard queue (`soak`, concurrency 8, 3 retries) and a
//   FIFO queue (`soak-fifo`, 16 groups, 2 retries); 15 % of first attempts
//   fail at random and are retried; 1 % of the jobs always fail (they must
//   end in the dead-letter queue);
// - synchronous calls to a worker function, and Void calls;
// - HTTP requests to an `http` trigger;
// - a worker that connects, registers a function, serves calls and leaves,
//   again and again.
// Every --kill-every minutes the engine gets SIGKILL and is started again on
// the same ports and store; the clients reconnect by themselves.
//
// Every 10 s it samples the engine's RSS and open fds. At the end it stops
// the load, waits for the queues to drain and checks that every job that got
// a receipt ran to success (or, for an always-failing one, is in the
// dead-letter queue), and that no FIFO job ran before a receipted earlier job
// of its group had succeeded. Exits 1 if a receipted job is missing, ended
// otherwise, or the FIFO order broke.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { registerWorker, TriggerAction } from 'iii-sdk'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const QUICK = process.argv.includes('--quick')
const MINUTES = Number(arg('minutes', QUICK ? 3 : 30))
const KILL_EVERY_MIN = Number(arg('kill-every', QUICK ? 1 : 5))
const BIN = path.resolve(arg('troupe', process.env.TROUPE_BIN ?? 'build/cluster/troupe'))
const GROUPS = 16
const FAIL_RATE = 0.15
const POISON_RATE = 0.01

// The SDK logs every (re)connection on the console; the report uses print.
const print = console.log
console.log = console.info = console.warn = () => {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address()
    s.close(() => resolve(port))
  }).on('error', reject)
})
const withTimeout = (p, ms) => Promise.race([
  p, new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms)),
])

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-soak-'))
const wsPort = await freePort()
const httpPort = await freePort()
const config = path.join(dir, 'iii-config.yaml')
fs.writeFileSync(config, `workers:
  - name: iii-worker-manager
    config: { host: 127.0.0.1, port: ${wsPort} }
  - name: iii-http
    config: { host: 127.0.0.1, port: ${httpPort} }
  - name: iii-queue
    config:
      queue_configs:
        soak: { type: standard, concurrency: 8, max_retries: 3, backoff_ms: 200, timeout_ms: 10000 }
        soak-fifo: { type: fifo, message_group_field: g, concurrency: 4, max_retries: 2, backoff_ms: 200, timeout_ms: 10000 }
      adapter: { name: builtin, config: { store_method: file_based, file_path: "${dir}/store" } }
`)

// -- the engine ---------------------------------------------------------------

let engine = null
const restarts = []
function startEngine() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const proc = spawn(BIN, ['--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    let up = false
    proc.stderr.on('data', (d) => {
      if (!up) {
        log += d
        // --log-level warn hides the listening line: probe the port instead.
      }
      fs.appendFileSync(path.join(dir, 'engine.log'), d)
    })
    proc.on('exit', (code, sig) => { if (!up) reject(new Error(`troupe exited (${code ?? sig}):\n${log}`)) })
    const probe = async () => {
      while (!up) {
        const ok = await new Promise((r) => {
          const s = net.connect(wsPort, '127.0.0.1', () => { s.destroy(); r(true) }).on('error', () => r(false))
        })
        if (ok) { up = true; resolve({ proc, ms: performance.now() - t0 }); return }
        await sleep(20)
      }
    }
    probe()
  })
}

function sample() {
  try {
    const status = fs.readFileSync(`/proc/${engine.proc.pid}/status`, 'utf8')
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024
    const fds = fs.readdirSync(`/proc/${engine.proc.pid}/fd`).length
    return { rss, fds }
  } catch { return null }
}

// -- bookkeeping --------------------------------------------------------------

const receipted = new Map() // job key -> {queue, poison}
const succeeded = new Set()
const fifoReceipted = Array.from({ length: GROUPS }, () => [])
let fifoOrderViolations = 0
const counts = {
  enqueueOk: 0, enqueueErr: 0, attempts: 0, attemptFails: 0, duplicates: 0,
  syncOk: 0, syncErr: 0, voids: 0, httpOk: 0, httpErr: 0, churnConnects: 0,
}

const workerOpts = (name) => ({ workerName: name, otel: { enabled: false }, enableMetricsReporting: false })
const url = `ws://127.0.0.1:${wsPort}`

const attemptsSeen = new Map()
const fifoFirstPending = new Array(GROUPS).fill(0)

function runJob(p) {
  counts.attempts++
  const attempt = (attemptsSeen.get(p.key) ?? 0) + 1
  attemptsSeen.set(p.key, attempt)
  // Random failures only on a first attempt, so that every job but the poison
  // ones succeeds within its retries and the checks below are exact.
  if (p.poison || (attempt === 1 && Math.random() < FAIL_RATE)) {
    counts.attemptFails++
    throw new Error(p.poison ? 'poison job' : 'random failure')
  }
  if (p.queue === 'soak-fifo') {
    // The first receipted job of the group that has not succeeded (poison
    // jobs end dead, so they do not hold the group): it must be this one.
    const earlier = fifoReceipted[p.g]
    let i = fifoFirstPending[p.g]
    while (i < earlier.length && (earlier[i].poison || succeeded.has(earlier[i].key))) i++
    fifoFirstPending[p.g] = i
    if (i < earlier.length && earlier[i].seq < p.seq) fifoOrderViolations++
  }
  if (succeeded.has(p.key)) counts.duplicates++
  succeeded.add(p.key)
  return { ok: p.key }
}

// -- main ---------------------------------------------------------------------

engine = await startEngine()
print(`soak: ${MINUTES} min, SIGKILL every ${KILL_EVERY_MIN} min, store in ${dir}`)

const consumer = registerWorker(url, workerOpts('soak-consumer'))
consumer.registerFunction('soak::job', async (p) => runJob(p))
consumer.registerFunction('soak::echo', async (p) => p)
consumer.registerFunction('soak::void', async () => null)
consumer.registerFunction('soak::http', async (req) => ({ status_code: 200, body: { echo: req.body } }))
consumer.registerTrigger({ type: 'http', function_id: 'soak::http', config: { api_path: '/soak/echo', http_method: 'POST' } })
const producer = registerWorker(url, workerOpts('soak-producer'))

const t0 = performance.now()
const endAt = t0 + MINUTES * 60000
let running = true
let seq = 0

async function enqueueLoop(queue, group) {
  while (running) {
    const n = seq++
    const key = `${queue}:${group}:${n}`
    const poison = Math.random() < POISON_RATE
    const payload = { key, queue, poison, g: group, seq: n, pad: 'x'.repeat(64) }
    try {
      await withTimeout(producer.trigger({ function_id: 'soak::job', payload, action: TriggerAction.Enqueue({ queue }) }), 10000)
      receipted.set(key, { queue, poison })
      if (queue === 'soak-fifo') fifoReceipted[group].push({ key, seq: payload.seq, poison })
      counts.enqueueOk++
    } catch { counts.enqueueErr++; await sleep(200) }
    await sleep(queue === 'soak' ? 20 : 100)
  }
}
async function callLoop() {
  while (running) {
    try {
      const r = await withTimeout(producer.trigger({ function_id: 'soak::echo', payload: { n: seq } }), 10000)
      if (r && r.n !== undefined) counts.syncOk++; else counts.syncErr++
    } catch { counts.syncErr++; await sleep(200) }
    producer.trigger({ function_id: 'soak::void', payload: {}, action: TriggerAction.Void() }).catch(() => {})
    counts.voids++
    await sleep(20)
  }
}
async function httpLoop() {
  while (running) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/soak/echo`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 1 }),
        signal: AbortSignal.timeout(10000),
      })
      await r.arrayBuffer()
      if (r.status === 200) counts.httpOk++; else counts.httpErr++
    } catch { counts.httpErr++; await sleep(200) }
    await sleep(50)
  }
}
async function churnLoop() {
  let n = 0
  while (running) {
    const w = registerWorker(url, workerOpts(`soak-churn-${n++}`))
    w.registerFunction('soak::churn', async (p) => p)
    counts.churnConnects++
    await sleep(3000 + Math.random() * 4000)
    try { await withTimeout(producer.trigger({ function_id: 'soak::churn', payload: { n } }), 5000) } catch {}
    await w.shutdown().catch(() => {})
    await sleep(1000)
  }
}

const samples = []
async function sampleLoop() {
  while (running) {
    const s = sample()
    if (s) samples.push({ min: (performance.now() - t0) / 60000, ...s, done: succeeded.size })
    await sleep(10000)
  }
}
async function killLoop() {
  while (running) {
    await sleep(KILL_EVERY_MIN * 60000)
    if (!running || performance.now() > endAt - 30000) break
    const before = sample()
    engine.proc.kill('SIGKILL')
    await new Promise((r) => engine.proc.once('exit', r))
    engine = await startEngine()
    restarts.push({ min: (performance.now() - t0) / 60000, rssBefore: before?.rss, upMs: engine.ms })
    print(`  ${restarts.at(-1).min.toFixed(1)} min: SIGKILL, listening again after ${engine.ms.toFixed(0)} ms`)
  }
}

const loops = [enqueueLoop('soak', 0), callLoop(), httpLoop(), churnLoop(), sampleLoop(), killLoop()]
for (let g = 0; g < GROUPS; g++) loops.push(enqueueLoop('soak-fifo', g))
while (performance.now() < endAt) await sleep(1000)
running = false
await Promise.allSettled(loops.slice(0, 4))

// Drain: every queue empty (no waiting, in-flight or delayed job).
const stats = async (queue) => producer.trigger({ function_id: 'engine::queue::stats', payload: { queue } })
const drainStart = performance.now()
for (;;) {
  try {
    const s = await Promise.all([stats('soak'), stats('soak-fifo')])
    if (s.every((x) => x.waiting + x.in_flight + x.delayed === 0)) break
  } catch {}
  if (performance.now() - drainStart > 300000) { print('queues did not drain in 5 min'); break }
  await sleep(500)
}
const dead = new Set()
for (const queue of ['soak', 'soak-fifo']) {
  for (let offset = 0; ; offset += 500) {
    const page = await producer.trigger({ function_id: 'engine::queue::dlq_messages', payload: { queue, offset, limit: 500 } })
    for (const j of page) dead.add(j.payload.key)
    if (page.length < 500) break
  }
}

const final = sample()
// Exact: a poison job ends dead, every other job succeeds (it fails at most
// once, and has retries left).
let lost = 0
let wrongEnd = 0
for (const [key, j] of receipted) {
  if (!succeeded.has(key) && !dead.has(key)) lost++
  else if (j.poison ? !dead.has(key) || succeeded.has(key) : !succeeded.has(key)) wrongEnd++
}
const minutes = (performance.now() - t0) / 60000
print(`\nafter ${minutes.toFixed(1)} min, ${restarts.length} SIGKILL restarts (listening again after ` +
  `${restarts.map((r) => r.upMs.toFixed(0)).join(', ')} ms):`)
print(`  enqueues with receipt ${counts.enqueueOk} (failed or timed out: ${counts.enqueueErr}); ` +
  `attempts ${counts.attempts}, failed ${counts.attemptFails}; succeeded ${succeeded.size}, ` +
  `dead-lettered ${dead.size}, run again after success (at-least-once) ${counts.duplicates}`)
print(`  receipted jobs neither done nor dead: ${lost}; jobs that ended otherwise than expected: ${wrongEnd}; ` +
  `FIFO order violations: ${fifoOrderViolations}`)
print(`  sync calls ok ${counts.syncOk}, failed ${counts.syncErr}; void calls ${counts.voids}; ` +
  `HTTP 200 ${counts.httpOk}, other/failed ${counts.httpErr}; churn workers ${counts.churnConnects}`)
print('  minute  RSS MB  fds  jobs done')
let lastMin = -1
for (const s of samples) {
  if (Math.floor(s.min) === lastMin) continue
  lastMin = Math.floor(s.min)
  print(`  ${s.min.toFixed(1).padStart(6)}  ${s.rss.toFixed(1).padStart(6)}  ${String(s.fds).padStart(3)}  ${s.done}`)
}
if (final) print(`  end     ${final.rss.toFixed(1).padStart(6)}  ${String(final.fds).padStart(3)}  ${succeeded.size} (drained)`)

await Promise.allSettled([consumer.shutdown(), producer.shutdown()])
engine.proc.kill('SIGTERM')
await new Promise((r) => engine.proc.once('exit', r))
const ok = lost === 0 && fifoOrderViolations === 0 && wrongEnd === 0
if (ok) fs.rmSync(dir, { recursive: true, force: true })
else print(`kept ${dir} (engine.log, store) for a look`)
process.exit(ok ? 0 : 1)
