// What a second node costs: troupe engines joined into a cluster
// (troupe-cluster, CAF's io middleman) on 127.0.0.1, driven by real iii-sdk
// clients.
//
//   node bench/cluster.mjs [--calls 5000] [--jobs 20000] [--reps 3] [--quick]
//                          [--troupe build/cluster/troupe]
//
// Every rep starts a fresh two-node cluster, a and b (b seeds with a;
// heartbeat_ms 200, peer_timeout_ms 1000; OTEL_ENABLED=false), on free
// ports, with one worker process on each node (this script, forked with
// --serve) and the callers/producers in this process, connected to a:
//
// 1. Sync no-op trigger from a: to a function of a's worker (same node) and
//    to one of b's worker (cross node). p50/p99 of --calls calls with 1 in
//    flight (after a warm-up), and calls/s of 4 x --calls calls with 500 in
//    flight across 20 caller connections.
// 2. W1-like: --jobs no-op jobs enqueued on a's standard queue (concurrency
//    100; 500 enqueues in flight) for a function of a's worker (one node)
//    vs of b's worker only (two nodes): jobs/s from the first enqueue to
//    the last completion.
// 3. FIFO enqueue from a: groups a owns vs groups b owns (every enqueue
//    forwarded to b, the receipt comes back through a). Owners computed by
//    rendezvous hashing as base/membership.cpp does and checked against the
//    node whose worker ran each group. Receipts/s with 500 in flight (--jobs
//    enqueues), and p50/p99 with 1 in flight (--calls enqueues).
// 4. Failover: 20 sync calls in flight from a to a function of b's worker
//    that never answers; kill -9 of b's engine: ms until all 20 failed
//    (invocation_stopped) and until b's function is gone from a
//    (function_not_found). Then b again, and SIGSTOP instead of kill.
//
// CPU per call or job: utime+stime (/proc/PID/stat) of each engine and each
// Node process over the measured interval. Prints a markdown table per part
// (medians of --reps, with every rep's figure) and a line per target.
// --quick: --calls 200 --jobs 500 --reps 1 unless given.
import { fork, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { registerWorker, TriggerAction } from 'iii-sdk'

const argv = process.argv
const has = (name) => argv.includes(`--${name}`)
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? argv[i + 1] : fallback
}
const sdk = (workerName) => ({ workerName, otel: { enabled: false }, enableMetricsReporting: false })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// The tables go to stdout; the SDK's own chatter (console.log/info/debug) to stderr.
const print = (line = '') => process.stdout.write(`${line}\n`)
console.log = console.info = console.debug = (...xs) => console.error(...xs)

// -- the worker process (--serve URL NODE FUNCTION...) ------------------------
// Registers no-op functions and reports to its parent over IPC: completions
// of a function once it reached a given total, the node each FIFO group
// ran on, and each start of a `fail::hang` call (which never answers).
if (has('serve')) {
  const url = arg('serve')
  const node = argv[argv.indexOf('--serve') + 2]
  const ids = argv.slice(argv.indexOf('--serve') + 3)
  const iii = registerWorker(url, sdk(`bench-worker-${node}`))
  const counts = new Map()
  const expect = new Map()
  const groups = new Set()
  const count = (id) => {
    const n = (counts.get(id) ?? 0) + 1
    counts.set(id, n)
    if (expect.has(id) && n >= expect.get(id)) {
      expect.delete(id)
      process.send({ done: id })
    }
  }
  process.on('message', (m) => {
    if (m.expect) {
      // n counts every completion of the function since the start.
      if ((counts.get(m.expect) ?? 0) >= m.n) process.send({ done: m.expect })
      else expect.set(m.expect, m.n)
    } else if (m.groups) {
      process.send({ groups: [...groups] })
    }
  })
  for (const id of ids) {
    if (id === 'fail::hang') {
      iii.registerFunction(id, () => {
        process.send({ started: id })
        return new Promise(() => {})
      })
    } else if (id === 'fifo::job') {
      iii.registerFunction(id, async (p) => {
        groups.add(p.g)
        count(id)
        return {}
      })
    } else {
      iii.registerFunction(id, async () => {
        count(id)
        return {}
      })
    }
  }
  process.send({ ready: true })
  process.on('disconnect', () => process.exit(0))
} else {
  await main()
}

// -- the benchmark -------------------------------------------------------------

async function main() {
  const QUICK = has('quick')
  const CALLS = Number(arg('calls', QUICK ? 200 : 5000))
  const JOBS = Number(arg('jobs', QUICK ? 500 : 20000))
  const REPS = Number(arg('reps', QUICK ? 1 : 3))
  const BIN = path.resolve(arg('troupe', process.env.TROUPE_BIN ?? 'build/cluster/troupe'))
  if (!fs.existsSync(BIN)) throw new Error(`no troupe binary at ${BIN} (--troupe PATH or TROUPE_BIN)`)
  const HEARTBEAT_MS = 200
  const PEER_TIMEOUT_MS = 1000
  const WINDOW = 500
  const HANGING = 20
  const FIFO_GROUPS = 100 // per owner
  const SELF = fileURLToPath(import.meta.url)
  const TICK_MS = 1000 / 100 // /proc stat ticks (CLK_TCK 100 on Linux)

  const QUEUES = {
    w1: { type: 'standard', concurrency: 100, timeout_ms: 60000 },
    fifo: { type: 'fifo', message_group_field: 'g', concurrency: 100, timeout_ms: 60000 },
  }
  const A_FUNCTIONS = ['w1::local', 'fifo::job', 'same::noop']
  const B_FUNCTIONS = ['w1::remote', 'fifo::job', 'fail::hang', 'fail::probe', 'cross::noop']

  const live = new Set() // every process started here, for the final cleanup
  const cleanup = () => {
    for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  }
  process.on('exit', cleanup)
  process.on('SIGINT', () => process.exit(130))

  const cpuMs = (pid) => {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return (Number(f[11]) + Number(f[12])) * TICK_MS // utime, stime
    } catch {
      return NaN
    }
  }

  async function freePorts(n) {
    const servers = []
    for (let i = 0; i < n; i++) {
      const s = net.createServer()
      servers.push(s)
      await new Promise((res, rej) => s.once('error', rej).listen(0, '127.0.0.1', res))
    }
    const ports = servers.map((s) => s.address().port)
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    return ports
  }

  function startEngine(name, clusterPort, seeds) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `troupe-cluster-bench-${name}-`))
    const config = path.join(dir, 'iii-config.yaml')
    fs.writeFileSync(config, JSON.stringify({
      workers: [
        { name: 'iii-worker-manager', config: { host: '127.0.0.1', port: 0 } },
        { name: 'iii-queue', config: { queue_configs: QUEUES } },
        {
          name: 'troupe-cluster',
          config: { name, host: '127.0.0.1', port: clusterPort, seeds, heartbeat_ms: HEARTBEAT_MS, peer_timeout_ms: PEER_TIMEOUT_MS },
        },
      ],
    }))
    return new Promise((resolve, reject) => {
      const proc = spawn(BIN, ['--config', config], {
        cwd: dir, env: { ...process.env, OTEL_ENABLED: 'false' }, stdio: ['ignore', 'pipe', 'pipe'],
      })
      live.add(proc)
      let log = ''
      const onData = (d) => {
        log = (log + d).slice(-65536)
        const m = log.match(/listening for workers on ws:\/\/127\.0\.0\.1:(\d+)/)
        if (m && !proc.url) {
          proc.url = `ws://127.0.0.1:${m[1]}`
          resolve(proc)
        }
      }
      proc.stdout.on('data', onData)
      proc.stderr.on('data', onData)
      proc.on('exit', (code, sig) => {
        live.delete(proc)
        fs.rmSync(dir, { recursive: true, force: true })
        if (!proc.url) reject(new Error(`troupe ${name} exited (${code ?? sig}) before listening:\n${log}`))
      })
      proc.log = () => log
      proc.nodeName = name
    })
  }

  const stopProcess = (proc, signal = 'SIGTERM') => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', resolve)
    proc.kill(signal)
    setTimeout(() => proc.kill('SIGKILL'), 10000).unref()
  })

  // A worker process on `engine` with `ids` registered; resolves once it
  // says it registered them (the engine may not have them yet: see visible).
  function startWorker(engine, ids) {
    const child = fork(SELF, ['--serve', engine.url, engine.nodeName, ...ids], { stdio: ['ignore', 2, 2, 'ipc'] })
    live.add(child)
    child.on('exit', () => live.delete(child))
    child.waitFor = (pred) => new Promise((resolve) => {
      const on = (m) => {
        if (pred(m)) {
          child.off('message', on)
          resolve(m)
        }
      }
      child.on('message', on)
    })
    return child.waitFor((m) => m.ready).then(() => child)
  }

  // Loops a call to `id` from `iii` until it is answered.
  async function visible(iii, id, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        await iii.trigger({ function_id: id, payload: {}, timeoutMs: 1000 })
        return
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${id} not callable after ${timeoutMs} ms: ${err.message}`)
        await sleep(20)
      }
    }
  }

  async function waitForMesh(pairs, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const ok = await Promise.all(pairs.map(async ([iii, other]) => {
        const table = await iii.trigger({ function_id: 'engine::cluster::members', payload: {}, timeoutMs: 1000 }).catch(() => [])
        return table.some((m) => m.name === other && m.status === 'up')
      }))
      if (ok.every(Boolean)) return
      if (Date.now() > deadline) throw new Error('the two nodes did not see each other up')
      await sleep(20)
    }
  }

  const connect = async (url, name) => {
    const iii = registerWorker(url, sdk(name))
    await visible(iii, 'engine::cluster::members')
    return iii
  }

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
  const latency = (xs) => {
    const s = [...xs].sort((x, y) => x - y)
    return { p50: pct(s, 50), p99: pct(s, 99) }
  }
  // CPU (ms) of each process over fn(); resolves with {result, cpu: {label: ms}, secs}.
  async function measured(procs, fn) {
    const before = procs.map(([, pid]) => (pid === process.pid ? cpuSelf() : cpuMs(pid)))
    const t0 = performance.now()
    const result = await fn()
    const secs = (performance.now() - t0) / 1000
    const cpu = {}
    procs.forEach(([label, pid], i) => {
      cpu[label] = (pid === process.pid ? cpuSelf() : cpuMs(pid)) - before[i]
    })
    return { result, cpu, secs }
  }
  const cpuSelf = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }

  // -- rendezvous hashing, as base/membership.cpp -----------------------------
  const M64 = (1n << 64n) - 1n
  const fnv1a64 = (bytes) => {
    let h = 14695981039346656037n
    for (const b of bytes) h = ((h ^ BigInt(b)) * 1099511628211n) & M64
    return h
  }
  const fmix64 = (k) => {
    k ^= k >> 33n
    k = (k * 0xff51afd7ed558ccdn) & M64
    k ^= k >> 33n
    k = (k * 0xc4ceb9fe1a85ec53n) & M64
    k ^= k >> 33n
    return k
  }
  const hrwScore = (member, queue, group) => fmix64(fnv1a64(Buffer.from(`${member}\0${queue}\0${group}`)))
  const fifoOwner = (members, queue, group) => {
    let best, bestScore
    for (const m of members) {
      const s = hrwScore(m, queue, group)
      if (best === undefined || s > bestScore || (s === bestScore && m < best)) [best, bestScore] = [m, s]
    }
    return best
  }
  // The fixed vectors of tests/cluster/membership_test.cpp.
  if (hrwScore('node-b:7000', 'payment', 'order-1') !== 0xc43f47aef5d6a036n ||
      fifoOwner(['node-a:7000', 'node-b:7000', 'node-c:7000'], 'emails', 'customer-42') !== 'node-a:7000') {
    throw new Error('the JS rendezvous hash does not match base/membership.cpp')
  }
  const groupsOf = (owner) => {
    const out = []
    for (let i = 0; out.length < FIFO_GROUPS; i++) if (fifoOwner(['a', 'b'], 'fifo', `g${i}`) === owner) out.push(`g${i}`)
    return out
  }
  const GROUPS = { a: groupsOf('a'), b: groupsOf('b') }

  // -- one rep ------------------------------------------------------------------
  async function rep(r) {
    const out = {}
    const [portA, portB] = await freePorts(2)
    const a = await startEngine('a', portA, [])
    let b = await startEngine('b', portB, [`127.0.0.1:${portA}`])
    const caller = await connect(a.url, 'bench-caller')
    let onB = await connect(b.url, 'bench-watch-b')
    await waitForMesh([[caller, 'b'], [onB, 'a']])
    const workerA = await startWorker(a, A_FUNCTIONS)
    let workerB = await startWorker(b, B_FUNCTIONS)
    await visible(caller, 'same::noop')
    await visible(caller, 'cross::noop')
    const procs = () => [['engine a', a.pid], ['engine b', b.pid], ['callers', process.pid], ['worker a', workerA.pid], ['worker b', workerB.pid]]

    const phase = (what) => process.stderr.write(`rep ${r + 1}: ${what}\n`)
    phase('sync calls')
    // 1. sync calls
    const callers = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(a.url, `bench-caller-${i}`)))
    const noop = (iii, id) => iii.trigger({ function_id: id, payload: {}, timeoutMs: 30000 })
    for (const [key, id] of [['same', 'same::noop'], ['cross', 'cross::noop']]) {
      for (let i = 0; i < Math.min(500, CALLS); i++) await noop(caller, id)
      const times = new Array(CALLS)
      for (let i = 0; i < CALLS; i++) {
        const t = performance.now()
        await noop(caller, id)
        times[i] = performance.now() - t
      }
      const total = 4 * CALLS
      let next = 0
      const thr = await measured(procs(), () => Promise.all(Array.from({ length: WINDOW }, async (_, i) => {
        const iii = callers[i % callers.length]
        while (next < total) {
          next++
          await noop(iii, id)
        }
      })))
      out[`calls.${key}`] = { ...latency(times), rate: total / thr.secs, cpu: perUnit(thr.cpu, total) }
    }
    await Promise.all(callers.map((c) => c.shutdown().catch(() => {})))

    phase('W1-like')
    // 2. W1-like, standard queue on a
    const producer = caller
    const enqueue = (queue, fn, payload) => producer.trigger({ function_id: fn, payload, action: TriggerAction.Enqueue({ queue }) })
    const pipelined = (n, one) => {
      let next = 0
      return Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next < n) await one(next++)
      }))
    }
    const WARM = Math.min(1000, JOBS)
    for (const [key, fn, worker] of [['one', 'w1::local', workerA], ['two', 'w1::remote', workerB]]) {
      worker.send({ expect: fn, n: WARM }) // completions of fn so far
      const warm = worker.waitFor((m) => m.done === fn)
      await pipelined(WARM, (i) => enqueue('w1', fn, { i }))
      await warm
      phase(`W1-like ${key}: measured`)
      worker.send({ expect: fn, n: WARM + JOBS })
      const done = worker.waitFor((m) => m.done === fn)
      const m = await measured(procs(), async () => {
        await pipelined(JOBS, (i) => enqueue('w1', fn, { i }))
        await done
      })
      out[`w1.${key}`] = { rate: JOBS / m.secs, cpu: perUnit(m.cpu, JOBS) }
    }

    phase('FIFO enqueue')
    // 3. FIFO enqueue at the owner (a) and one hop from it (b owns)
    for (const owner of ['a', 'b']) {
      const groups = GROUPS[owner]
      const one = (i) => enqueue('fifo', 'fifo::job', { g: groups[i % groups.length], i })
      await pipelined(WARM, one)
      const m = await measured(procs(), () => pipelined(JOBS, one))
      const times = new Array(CALLS)
      for (let i = 0; i < CALLS; i++) {
        const t = performance.now()
        await enqueue('fifo', 'fifo::job', { g: groups[i % groups.length], i })
        times[i] = performance.now() - t
      }
      out[`fifo.${owner}`] = { rate: JOBS / m.secs, ...latency(times), cpu: perUnit(m.cpu, JOBS) }
    }
    // Which node's worker ran each group (once the queues drained).
    await sleep(500)
    const ran = {}
    for (const [node, w] of [['a', workerA], ['b', workerB]]) {
      w.send({ groups: true })
      for (const g of (await w.waitFor((x) => x.groups)).groups) (ran[g] ??= []).push(node)
    }
    const wrong = [...GROUPS.a.map((g) => [g, 'a']), ...GROUPS.b.map((g) => [g, 'b'])]
      .filter(([g, owner]) => ran[g]?.length !== 1 || ran[g][0] !== owner)
    if (wrong.length) throw new Error(`FIFO groups not run by the predicted owner: ${wrong.slice(0, 5).map(([g, o]) => `${g} predicted ${o}, ran on ${ran[g]}`).join('; ')}`)
    out.fifoOwnersChecked = 2 * FIFO_GROUPS

    phase('failover')
    // 4. failover: kill -9, then SIGSTOP, of b with HANGING calls in flight
    for (const how of ['kill', 'stop']) {
      if (how === 'stop') {
        await stopProcess(workerB, 'SIGKILL')
        await onB.shutdown().catch(() => {})
        b = await startEngine('b', portB, [`127.0.0.1:${portA}`])
        onB = await connect(b.url, 'bench-watch-b')
        await waitForMesh([[caller, 'b'], [onB, 'a']])
        workerB = await startWorker(b, B_FUNCTIONS)
        await visible(caller, 'cross::noop')
      }
      let started = 0
      const allStarted = new Promise((resolve) => workerB.on('message', (m) => {
        if (m.started && ++started === HANGING) resolve()
      }))
      const failures = Array.from({ length: HANGING }, () =>
        caller.trigger({ function_id: 'fail::hang', payload: {}, timeoutMs: 20000 }).then(
          () => ({ code: 'answered' }),
          (err) => ({ code: err.code, at: performance.now() })))
      await allStarted
      await visible(caller, 'fail::probe')
      const t0 = performance.now()
      if (how === 'kill') b.kill('SIGKILL')
      else b.kill('SIGSTOP')
      const probe = (async () => {
        for (;;) {
          try {
            await caller.trigger({ function_id: 'fail::probe', payload: {}, timeoutMs: 20000 })
          } catch (err) {
            if (err.code === 'function_not_found') return performance.now()
          }
          if (performance.now() - t0 > 20000) throw new Error(`fail::probe still there 20 s after ${how}`)
        }
      })()
      const results = await Promise.all(failures)
      const gone = await probe
      const codes = [...new Set(results.map((x) => x.code))]
      out[`fail.${how}`] = {
        failed: Math.max(...results.map((x) => x.at ?? NaN)) - t0,
        firstFailed: Math.min(...results.map((x) => x.at ?? NaN)) - t0,
        gone: gone - t0,
        codes: codes.join(','),
      }
      if (how === 'stop') b.kill('SIGKILL')
    }

    await stopProcess(workerB, 'SIGKILL')
    await stopProcess(b, 'SIGKILL')
    await onB.shutdown().catch(() => {})
    workerA.disconnect()
    await stopProcess(workerA)
    await caller.shutdown().catch(() => {})
    await stopProcess(a)
    console.error(`rep ${r + 1}/${REPS} done`)
    return out
  }

  function perUnit(cpu, n) {
    const o = {}
    for (const [k, v] of Object.entries(cpu)) o[k] = (v * 1000) / n // µs per unit
    return o
  }

  // -- run and print --------------------------------------------------------------
  const load0 = os.loadavg()
  const reps = []
  for (let r = 0; r < REPS; r++) reps.push(await rep(r))
  const load1 = os.loadavg()

  const get = (key, field) => reps.map((o) => field.split('.').reduce((x, f) => x?.[f], o[key]))
  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y)
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  }
  const fmt = (x, digits) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(x))
  const cell = (key, field, digits = 0) => {
    const xs = get(key, field)
    const m = fmt(median(xs), digits)
    return REPS > 1 ? `${xs.map((x) => fmt(x, digits)).join(' / ')} (**${m}**)` : `**${m}**`
  }
  const cpuCell = (key, field, labels) => labels.map((l) => fmt(median(get(key, `${field}.${l}`)), 0)).join(' / ')

  print(`# troupe cluster benchmark: 2 nodes on 127.0.0.1`)
  print(``)
  print(`${REPS} rep(s), --calls ${CALLS}, --jobs ${JOBS}; heartbeat_ms ${HEARTBEAT_MS}, peer_timeout_ms ${PEER_TIMEOUT_MS}; ` +
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model}); load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ` +
    `${load1.map((x) => x.toFixed(2)).join(' ')} after. Cells: every rep's figure (median in bold).`)
  print(``)
  const P1 = ['engine a', 'engine b', 'callers', 'worker a', 'worker b']
  print(`## 1. Sync no-op trigger from a`)
  print(``)
  print(`| worker | p50 ms (1 in flight, ${CALLS} calls) | p99 ms | calls/s (500 in flight, 20 connections, ${4 * CALLS} calls) | CPU µs per call at 500 in flight: engine a / engine b / callers / worker a / worker b |`)
  print(`|---|---|---|---|---|`)
  for (const [key, label] of [['calls.same', 'same node (a)'], ['calls.cross', 'other node (b)']]) {
    print(`| ${label} | ${cell(key, 'p50', 3)} | ${cell(key, 'p99', 3)} | ${cell(key, 'rate')} | ${cpuCell(key, 'cpu', P1)} |`)
  }
  print(``)
  print(`## 2. W1-like: ${JOBS} no-op jobs enqueued on a (standard, concurrency 100, 500 enqueues in flight)`)
  print(``)
  print(`| consumer | jobs/s, first enqueue to last completion | CPU µs per job: engine a / engine b / producer / worker a / worker b |`)
  print(`|---|---|---|`)
  for (const [key, label] of [['w1.one', 'on a (one node)'], ['w1.two', 'only on b (two nodes)']]) {
    print(`| ${label} | ${cell(key, 'rate')} | ${cpuCell(key, 'cpu', P1)} |`)
  }
  print(``)
  print(`## 3. FIFO enqueue from a (${FIFO_GROUPS} groups; owners checked: ${reps[0].fifoOwnersChecked} groups ran on the predicted node)`)
  print(``)
  print(`| groups owned by | receipts/s (500 in flight, ${JOBS} enqueues) | p50 ms (1 in flight, ${CALLS} enqueues) | p99 ms | CPU µs per enqueue at 500 in flight: engine a / engine b / producer / worker a / worker b |`)
  print(`|---|---|---|---|---|`)
  for (const [key, label] of [['fifo.a', 'a (the producer\'s node)'], ['fifo.b', 'b (one forwarding hop)']]) {
    print(`| ${label} | ${cell(key, 'rate')} | ${cell(key, 'p50', 3)} | ${cell(key, 'p99', 3)} | ${cpuCell(key, 'cpu', P1)} |`)
  }
  print(``)
  print(`## 4. Failover: ${HANGING} sync calls in flight from a to b's worker`)
  print(``)
  print(`| event on b | first call failed, ms | all ${HANGING} failed, ms | b's function gone from a (function_not_found), ms | error of the calls |`)
  print(`|---|---|---|---|---|`)
  for (const [key, label] of [['fail.kill', 'kill -9 of the engine'], ['fail.stop', `SIGSTOP of the engine (peer_timeout_ms ${PEER_TIMEOUT_MS})`]]) {
    print(`| ${label} | ${cell(key, 'firstFailed')} | ${cell(key, 'failed')} | ${cell(key, 'gone')} | ${[...new Set(get(key, 'codes'))].join('; ')} |`)
  }
  print(``)
  const p50Extra = median(get('calls.cross', 'p50')) - median(get('calls.same', 'p50'))
  print(`Target: a cross-node call costs at most +0.3 ms at p50: ${p50Extra <= 0.3 ? 'holds' : 'does not hold'} ` +
    `(+${p50Extra.toFixed(3)} ms: ${median(get('calls.cross', 'p50')).toFixed(3)} vs ${median(get('calls.same', 'p50')).toFixed(3)} ms, ` +
    `ratio ${(median(get('calls.cross', 'p50')) / median(get('calls.same', 'p50'))).toFixed(2)}; ` +
    `throughput at 500 in flight: ${(median(get('calls.cross', 'rate')) / median(get('calls.same', 'rate')) * 100).toFixed(0)} % of same-node)`)
  const w1Ratio = median(get('w1.two', 'rate')) / median(get('w1.one', 'rate'))
  print(`Target: two nodes reach >= 80 % of one node (W1-like): ${w1Ratio >= 0.8 ? 'holds' : 'does not hold'} ` +
    `(${(w1Ratio * 100).toFixed(0)} %: ${fmt(median(get('w1.two', 'rate')), 0)} vs ${fmt(median(get('w1.one', 'rate')), 0)} jobs/s)`)
  const bad = reps.flatMap((o) => [o['fail.kill'].codes, o['fail.stop'].codes]).filter((c) => c !== 'invocation_stopped')
  if (bad.length) print(`Note: failover calls ended with ${bad.join(', ')} instead of invocation_stopped only`)
  process.exit(0)
}
