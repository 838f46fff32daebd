// Durable enqueue rate and recovery time of troupe's file_based store.
//
//   node bench/durable.mjs [--jobs 100000] [--window 500] [--troupe build/cluster/troupe]
//
// 1. Starts troupe with a file_based store in a fresh temp dir and no
//    consumer that answers (one that holds its one job forever, so every
//    other job stays waiting), and enqueues --jobs jobs (100-byte payloads) from one iii-sdk
//    producer with --window calls in flight; every receipt means the job was
//    committed (fsync). Prints jobs/s.
// 2. Kills the engine with SIGKILL and starts it again on the same store;
//    prints the time from spawn until it listens (recovery of every job
//    included) and the engine's own "loaded N stored jobs ... in T ms".
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { registerWorker, TriggerAction } from 'iii-sdk'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const JOBS = Number(arg('jobs', 100000))
const WINDOW = Number(arg('window', 500))
const BIN = path.resolve(arg('troupe', 'build/cluster/troupe'))

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-bench-'))
const config = path.join(dir, 'iii-config.yaml')
fs.writeFileSync(config, `workers:
  - name: iii-worker-manager
    config: { host: 127.0.0.1, port: \${BENCH_PORT:0} }
  - name: iii-queue
    config:
      queue_configs:
        bench: { type: standard, concurrency: 1, timeout_ms: 3600000 }
      adapter: { name: builtin, config: { store_method: file_based, file_path: "${dir}/store" } }
`)

function startEngine(port) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const proc = spawn(BIN, ['--config', config], { env: { ...process.env, BENCH_PORT: String(port) } })
    let log = ''
    proc.stderr.on('data', (d) => {
      log += d
      const m = log.match(/listening for workers on ws:\/\/127\.0\.0\.1:(\d+)/)
      if (m) resolve({ proc, port: Number(m[1]), ms: Number(process.hrtime.bigint() - t0) / 1e6, log: () => log })
    })
    proc.on('exit', (code) => reject(new Error(`troupe exited with ${code}:\n${log}`)))
  })
}

const first = await startEngine(0)
const producer = registerWorker(`ws://127.0.0.1:${first.port}`, {
  workerName: 'bench-producer', otel: { enabled: false }, enableMetricsReporting: false,
})
const payload = { pad: 'x'.repeat(80), i: 0 } // ~100 bytes as JSON
const enqueue = (i) => producer.trigger({
  function_id: 'bench::job', payload: { ...payload, i }, action: TriggerAction.Enqueue({ queue: 'bench' }),
})
producer.registerFunction('bench::job', () => new Promise(() => {}))
await enqueue(-1) // connected and the queue answers
let next = 0
const t0 = performance.now()
await Promise.all(Array.from({ length: WINDOW }, async () => {
  while (next < JOBS) await enqueue(next++)
}))
const secs = (performance.now() - t0) / 1000
console.log(`durable enqueue: ${JOBS} jobs with receipts in ${secs.toFixed(2)} s = ${Math.round(JOBS / secs)} jobs/s (one producer, ${WINDOW} in flight)`)

first.proc.kill('SIGKILL')
await new Promise((r) => first.proc.on('exit', r))
const second = await startEngine(first.port)
const loaded = second.log().match(/loaded (\d+) stored jobs from .* in (\d+) ms/)
// Recovered means: the queue holds every job again (stats count them).
const spawnedAt = performance.now() - second.ms
const checker = registerWorker(`ws://127.0.0.1:${second.port}`, {
  workerName: 'bench-checker', otel: { enabled: false }, enableMetricsReporting: false,
})
let stats
do {
  stats = await checker.trigger({ function_id: 'engine::queue::stats', payload: { queue: 'bench' } })
} while (stats.waiting + stats.in_flight < JOBS + 1)
const recoveredMs = performance.now() - spawnedAt
console.log(`recovery: ${loaded ? loaded[1] : '?'} jobs; store load ${loaded ? loaded[2] : '?'} ms; ` +
  `listening ${second.ms.toFixed(0)} ms and all jobs back in their queue ${recoveredMs.toFixed(0)} ms after spawn`)
await checker.shutdown().catch(() => {})
second.proc.kill('SIGTERM')
await producer.shutdown().catch(() => {})
fs.rmSync(dir, { recursive: true, force: true })
process.exit(0)
