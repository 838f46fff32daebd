// Crash safety of the file_based store (README: The durable store): the
// engine is killed with SIGKILL once while a producer enqueues and once while
// the queues drain, and comes back each time on the same port and store.
//
// The producer and the consumer are real iii-sdk workers in child processes
// (fixtures/crash-worker.mjs), so they live through the kills and reconnect
// by themselves. The producer enqueues 10,000 jobs on a standard queue and
// 10,000 on a FIFO queue (50 groups × 200, one enqueue at a time per group),
// with about 500 enqueues in flight; an enqueue that got no receipt is tried
// again as a new job. The consumer prints every handler start and finish.
//
// Checked per round:
//   - every job that got a receipt completed at least once (a receipt is a
//     promise), and the queues end idle with nothing dead;
//   - per FIFO group, the FIRST completions of the receipted jobs come in
//     enqueue order;
//   - a job runs again only if it was running at a kill or had finished at
//     most DUP_WINDOW_MS before one: no job completed earlier is ever redone.
//
// Three rounds, each with its own seed for the two kill moments (printed;
// E2E_SEED=<first round's seed> replays them: round i uses seed + i), and a
// fourth whose second stop is a graceful SIGTERM, after which nothing may run
// twice. The seed picks how many receipts / completions to wait for before
// each stop; the rest is timing, so a replay is close to, not exactly, the
// same run. E2E_CRASH_STD_JOBS and E2E_CRASH_PER_GROUP change the job counts
// (10,000 and 50 x 200 by default: 20,000 per round; about 7-10 s a round
// here).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { engineConfig, startEngine, storeDir } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { queueStats } from './lib/queues.mjs';
import { exited, stopProcess, track } from './lib/procs.mjs';
import { deferred, eventually, seededRandom, sleep, testSeed, within } from './lib/util.mjs';

cleanUpAfterAll();

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-worker.mjs');
const FN = 'crash::job';
const STD = 'crash-std';
const FIFO = 'crash-fifo';
const PLAN = {
  standard: { queue: STD, jobs: Number(process.env.E2E_CRASH_STD_JOBS ?? 10000), lanes: 450 },
  fifo: { queue: FIFO, groups: 50, perGroup: Number(process.env.E2E_CRASH_PER_GROUP ?? 200) },
  // An enqueue sent just before a kill is never answered: the producer gives
  // up on it after this long and enqueues it again as a new job.
  timeoutMs: 2000,
};
const TOTAL = PLAN.standard.jobs + PLAN.fifo.groups * PLAN.fifo.perGroup;
const HANDLER_MS = 1;
// Acks (and retries, dead moves) are not awaited: the queue sends them to the
// store actor and goes on, and they reach the disk with the next group
// commit. A job that finished shortly before a kill may therefore still be
// stored as in flight and run again after the restart. 200 ms is far more
// than one group commit (a few ms of fsync) even on a loaded machine; a job
// finished longer ago than that must never run again.
const DUP_WINDOW_MS = 200;
// Retries: a job must never reach the DLQ here. Right after a restart the
// engine does not charge function_not_found while the consumer reconnects
// (startup_grace_ms), and the generous retries cover any other attempt that
// a loaded 2-core machine makes fail (a crash is not the only hazard here).
const RETRY = { max_retries: 50, backoff_ms: 100, max_backoff_ms: 500, concurrency: 10 };
const QUEUES = {
  [STD]: { type: 'standard', ...RETRY },
  [FIFO]: { type: 'fifo', message_group_field: 'g', ...RETRY },
};

const baseSeed = testSeed();

/** A crash-worker child; `onLine` gets every stdout line. */
function spawnChild(role, url, arg, onLine) {
  const proc = track(
    spawn(process.execPath, [FIXTURE, role, url, FN, arg], {
      env: { ...process.env, OTEL_ENABLED: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'], // exits when its stdin closes
    }),
  );
  const ready = deferred();
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (process.env.E2E_VERBOSE) process.stderr.write(chunk.replace(/^(?=.)/gm, `[${role}] `));
  });
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    if (line === 'ready') ready.resolve();
    else onLine(line);
  });
  exited(proc).then((code) => ready.reject(new Error(`${role} exited (${code}) before ready:\n${stderr}`)));
  return { proc, ready: within(20000, ready.promise, `${role} ready`), stderr: () => stderr, stop: () => stopProcess(proc, 'SIGTERM', 3000) };
}

/** Waits (event-driven) until `cond()` is true; checked after every line. */
class Conditions {
  waiters = [];
  check() {
    for (const w of [...this.waiters]) {
      if (w.cond()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
  until(cond, ms, what) {
    if (cond()) return Promise.resolve();
    const d = deferred();
    this.waiters.push({ cond, resolve: d.resolve });
    return within(ms, d.promise, what);
  }
}

/** `loaded N stored jobs` and per-queue `recovered ...` lines of an engine log. */
function recoveryLog(text) {
  const loaded = /loaded (\d+) stored jobs from \S+ in (\d+) ms/.exec(text);
  const queues = {};
  for (const m of text.matchAll(/\[queue ([^\]]+)\] recovered (\d+) waiting .*?, (\d+) delayed, (\d+) dead/g)) {
    queues[m[1]] = { waiting: Number(m[2]), delayed: Number(m[3]), dead: Number(m[4]) };
  }
  return { loaded: loaded && Number(loaded[1]), loadMs: loaded && Number(loaded[2]), queues };
}

async function restart(port, storePath) {
  const engine = await startEngine({ config: engineConfig({ port, queues: QUEUES, storePath }) });
  assert.equal(engine.port, port, 'restarted on the same port');
  return engine;
}

async function round(index, { drainStop = 'SIGKILL' } = {}) {
  const seed = (baseSeed + index) >>> 0;
  const rnd = seededRandom(seed);
  // Kill 1 after this many receipts; kill 2 once this share of the standard
  // jobs left at the end of the enqueues has completed. (The standard queue
  // drains faster than the FIFO one, whose last groups run alone: timed by
  // the standard queue, kill 2 finds jobs in both.)
  const killAtReceipts = Math.floor(TOTAL * (0.15 + 0.7 * rnd()));
  const killAtDrainShare = 0.1 + 0.8 * rnd();
  // The consumer nearly keeps up with the producer: it stalls once for a
  // while near the end of the enqueues, so that there is a backlog to drain
  // (and to kill the engine in) when the producer is done.
  const holdAtReceipts = Math.floor(TOTAL * (0.75 + 0.15 * rnd()));
  const holdMs = Math.floor(500 + 500 * rnd());
  console.log(
    `round ${index + 1}: seed ${seed} (E2E_SEED=${baseSeed} replays all rounds): ` +
      `kill -9 after ${killAtReceipts} receipts, then ${drainStop === 'SIGKILL' ? 'kill -9' : drainStop} after ` +
        `${(killAtDrainShare * 100).toFixed(0)}% of the standard queue's drain; consumer stalls ${holdMs} ms at ${holdAtReceipts} receipts`,
  );
  const t0 = Date.now();
  const storePath = storeDir();
  let engine = await startEngine({ config: engineConfig({ queues: QUEUES, storePath }) });
  const port = engine.port;

  // --- what the children tell us
  const cond = new Conditions();
  const receipts = new Map(); // uid -> receipt id
  const tried = new Set(); // uids with an enqueue that failed
  const runs = new Map(); // uid -> [{s, f, fi}] (ms timestamps; fi = event index of F)
  const oddLines = []; // consumer lines that make no sense (a finish without start)
  let events = 0;
  let completedUnique = 0;
  let completedStd = 0; // of them, standard-queue jobs
  let producerDone = null;
  const onConsumer = (line) => {
    const [kind, uid, ms] = line.split(' ');
    const t = Number(ms);
    if (kind === 'S') {
      let list = runs.get(uid);
      if (!list) runs.set(uid, (list = []));
      list.push({ s: t, f: null, fi: null });
    } else if (kind === 'F') {
      const list = runs.get(uid);
      const run = list?.find((r) => r.f === null);
      if (!run) {
        oddLines.push(line);
        return;
      }
      run.f = t;
      run.fi = events;
      if (list.filter((r) => r.f !== null).length === 1) {
        completedUnique++;
        if (uid.startsWith('s')) completedStd++;
      }
    }
    events++;
    cond.check();
  };
  const onProducer = (line) => {
    const [kind, a, b] = line.split(' ');
    if (kind === 'R') receipts.set(a, b);
    else if (kind === 'E') tried.add(a);
    else if (kind === 'done') {
      const [, , , most] = line.split(' ');
      producerDone = { receipted: Number(a), failedTries: Number(b), maxInFlight: Number(most), at: Date.now() };
    }
    cond.check();
  };

  const consumer = spawnChild('consumer', engine.url, String(HANDLER_MS), onConsumer);
  const producerStarted = consumer.ready.then(() => spawnChild('producer', engine.url, JSON.stringify(PLAN), onProducer));
  let producer;
  let observer;
  const kills = [];
  let backlog;
  let completedAtKill2;
  let finalStats;
  let drainedAt;
  const receiptedUids = [];
  try {
    producer = await producerStarted;
    await producer.ready;
    cond
      .until(() => receipts.size >= holdAtReceipts || producerDone, 60000, 'the stall')
      .then(() => consumer.proc.stdin.write(`hold ${holdMs}\n`))
      .catch(() => {});

    async function crash(phase, signal = 'SIGKILL') {
      const at = Date.now();
      // The signal is sent before stop() / kill9() returns.
      const stopped = signal === 'SIGKILL' ? engine.kill9() : engine.stop(signal);
      const after = Date.now();
      const code = await stopped;
      if (signal !== 'SIGKILL') assert.equal(code, 0, `exit status after ${signal}`);
      kills.push({ phase, signal, at, after });
      engine = await restart(port, storePath);
      const rec = await eventually(
        () => {
          // Each queue logs its line (if it got jobs) once it took them over.
          const r = recoveryLog(engine.logs());
          assert.notEqual(r.loaded, null, 'loaded line');
          const sum = Object.values(r.queues).reduce((n, c) => n + c.waiting + c.delayed + c.dead, 0);
          assert.equal(sum, r.loaded, 'every loaded job recovered by a queue');
          return r;
        },
        { timeoutMs: 5000, intervalMs: 20, what: 'recovery lines in the log' },
      );
      kills.at(-1).recovery = rec;
      kills.at(-1).restartMs = Date.now() - at;
    }

    // --- kill 1, during the enqueues
    await cond.until(() => receipts.size >= killAtReceipts || producerDone, 60000, `${killAtReceipts} receipts`);
    assert.equal(producerDone, null, 'kill 1 comes before the producer is done');
    await crash('enqueue');

    // --- kill 2, during the drain
    await cond.until(() => producerDone, 60000, 'the producer done');
    backlog = receipts.size - completedUnique; // about: completedUnique counts jobs without receipt too
    const left = Math.max(0, PLAN.standard.jobs - completedStd);
    const killAtCompleted = completedStd + Math.floor(left * killAtDrainShare);
    await cond.until(() => completedStd >= killAtCompleted, 60000, `${killAtCompleted} standard jobs completed`);
    completedAtKill2 = completedUnique;
    await crash('drain', drainStop);
    assert.ok(kills.at(-1).recovery.loaded > 0, 'stop 2 came while jobs were left to run');

    // --- until both queues are idle and every receipted job completed
    observer = await connectWorker(engine.url, { name: 'observer' });
    receiptedUids.push(...receipts.keys());
    const missing = () => receiptedUids.filter((uid) => !runs.get(uid)?.some((r) => r.f !== null));
    await eventually(
      async () => {
        const stats = await Promise.all([queueStats(observer, STD), queueStats(observer, FIFO)]);
        for (const s of stats) assert.equal(s.waiting + s.in_flight + s.delayed, 0, `busy: ${JSON.stringify(s)}`);
        const m = missing();
        assert.equal(m.length, 0, `${m.length} receipted jobs never completed, e.g. ${m.slice(0, 5).join(' ')}`);
        finalStats = stats;
      },
      { timeoutMs: 60000, intervalMs: 100, what: 'both queues idle and every receipted job completed' },
    );
    drainedAt = Date.now();
    await sleep(100); // late lines
  } finally {
    if (observer) await closeWorker(observer);
    await Promise.all([producer?.stop(), consumer.stop()]);
    await engine.stop();
  }

  // --- analysis
  assert.deepEqual(oddLines.slice(0, 5), [], 'consumer lines');
  assert.equal(producerDone.receipted, TOTAL, 'the producer got a receipt for every job (retrying)');
  assert.equal(receipts.size, TOTAL);
  assert.equal(new Set(receipts.values()).size, TOTAL, 'distinct receipts');
  for (const s of finalStats) {
    assert.equal(s.dlq, 0, `nothing dead: ${JSON.stringify(s)}`);
  }
  // Every job that ran was one the producer enqueued (receipted or not).
  for (const uid of runs.keys()) assert.ok(receipts.has(uid) || tried.has(uid), `unknown job ${uid} ran`);

  // Duplicates: each run after a job's first completion must be explained by
  // a kill K between them, with the earlier run finished after K - window
  // (running at K, or finished just before it) and the rerun started after K.
  const unexplained = [];
  const dupsAt = kills.map(() => 0);
  const oldestAt = kills.map(() => null); // ms between the kill and the oldest completion redone
  let duplicates = 0;
  for (const [uid, list] of runs) {
    for (let i = 1; i < list.length; i++) {
      duplicates++;
      const prev = list[i - 1];
      // (A graceful stop explains nothing: it lets running jobs finish and
      // writes their acks before it exits.)
      const explains = (kill) => kill.signal === 'SIGKILL' && prev.f > kill.at - DUP_WINDOW_MS && list[i].s >= kill.at;
      // Charged to the first such kill after the earlier run started (the
      // one that lost its ack); else (the consumer started it late, from
      // frames the killed engine had sent) to the last one before the rerun.
      let k = kills.findIndex((kill) => explains(kill) && kill.at >= prev.s);
      if (k < 0) k = kills.findLastIndex(explains);
      if (k < 0) unexplained.push({ uid, prev, rerun: list[i] });
      else {
        dupsAt[k]++;
        const age = kills[k].at - prev.f;
        if (oldestAt[k] === null || age > oldestAt[k]) oldestAt[k] = age;
      }
    }
  }
  // Per stop: "running" = handler started before and finished after it, as
  // the consumer saw it (its timers fire late under load, so this can exceed
  // the 20 slots a little); "finished in the window before" = the jobs whose
  // ack may not have been on disk yet.
  const report = kills.map((kill, k) => {
    let running = 0;
    let justFinished = 0;
    for (const list of runs.values()) {
      for (const r of list) {
        if (r.s <= kill.at && r.f >= kill.at) running++;
        else if (r.f < kill.at && r.f >= kill.at - DUP_WINDOW_MS) justFinished++;
      }
    }
    const rq = Object.entries(kill.recovery.queues)
      .map(([q, c]) => `${q} ${c.waiting}w/${c.delayed}d/${c.dead}x`)
      .join(', ');
    return (
      `  stop ${k + 1} (${kill.signal} during ${kill.phase}, +${kill.at - t0} ms): ${running} running in the consumer, ` +
      `${justFinished} finished in the ${DUP_WINDOW_MS} ms before -> ${dupsAt[k]} ran again` +
      `${oldestAt[k] === null ? '' : ` (oldest redone completion ${oldestAt[k]} ms before the kill)`}; ` +
      `restart ${kill.restartMs} ms, loaded ${kill.recovery.loaded} stored jobs in ${kill.recovery.loadMs} ms (${rq})`
    );
  });
  // A run that finished (in the consumer, before it sent the result) after
  // the SIGKILL had been sent never got its result to the engine: the job
  // was in flight at the crash and must have run again afterwards.
  const notRedone = [];
  for (const kill of kills.filter((x) => x.signal === 'SIGKILL')) {
    for (const [uid, list] of runs) {
      list.forEach((r, i) => {
        if (r.s <= kill.at && r.f > kill.after && !list.slice(i + 1).some((later) => later.s >= kill.at)) {
          notRedone.push({ uid, run: r, kill: kill.phase });
        }
      });
    }
  }
  const unreceiptedRan = [...runs.keys()].filter((uid) => !receipts.has(uid)).length;
  console.log(
    [
      `round ${index + 1} (seed ${seed}): ${TOTAL} receipted jobs (up to ${producerDone.maxInFlight} enqueues in flight), ` +
        `${producerDone.failedTries} enqueue tries without receipt ` +
        `(${unreceiptedRan} of them ran anyway), ${duplicates} duplicate runs; ` +
        `~${backlog} left when the producer was done (+${producerDone.at - t0} ms), ${completedAtKill2} completed at stop 2, ` +
        `drained +${drainedAt - t0} ms`,
      ...report,
    ].join('\n'),
  );
  assert.deepEqual(notRedone.slice(0, 10), [], `${notRedone.length} job(s) in flight at a kill did not run again`);
  assert.deepEqual(
    unexplained.slice(0, 10),
    [],
    `${unexplained.length} completed job(s) ran again without a kill right after their completion`,
  );

  // FIFO: per group, the first completions of the receipted jobs in n order.
  const firstFinish = (uid) => Math.min(...runs.get(uid).filter((r) => r.f !== null).map((r) => r.fi));
  const byGroup = new Map();
  for (const uid of receiptedUids) {
    const m = /^f(\d+)\.(\d+)#/.exec(uid);
    if (!m) continue;
    const g = Number(m[1]);
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g).push({ n: Number(m[2]), uid });
  }
  assert.equal(byGroup.size, PLAN.fifo.groups);
  for (const [g, jobs] of byGroup) {
    jobs.sort((a, b) => a.n - b.n);
    assert.equal(jobs.length, PLAN.fifo.perGroup);
    for (let i = 1; i < jobs.length; i++) {
      assert.ok(
        firstFinish(jobs[i - 1].uid) < firstFinish(jobs[i].uid),
        `group g${g}: ${jobs[i].uid} first completed before ${jobs[i - 1].uid}`,
      );
    }
  }
}

for (let i = 0; i < 3; i++) {
  test(
    `kill -9 during enqueue and during drain, round ${i + 1}: no receipted job lost, FIFO order kept, duplicates only around a kill`,
    { timeout: 90000 },
    () => round(i),
  );
}

// The same with a graceful stop (SIGTERM) during the drain: running jobs
// finish within the grace period and their acks are written before the exit,
// so nothing runs twice because of that stop.
test('kill -9 during enqueue, SIGTERM during drain: no job runs again because of the graceful stop', { timeout: 90000 }, () =>
  round(3, { drainStop: 'SIGTERM' }));
