// Real iii-sdk workers for the tests: in-process ones, and child-process ones
// (fixtures/worker.mjs) that a test can SIGKILL.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerWorker } from 'iii-sdk';
import { captureOutput, exited, stopProcess, track } from './procs.mjs';
import { deferred, sleep, within } from './util.mjs';

export const READY_TIMEOUT_MS = 15000;
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'worker.mjs');

const pingIds = new WeakMap(); // iii -> the id of its own ping function
const open = new Set(); // in-process workers not shut down yet
const children = new Set(); // child-process workers still running

/** The options every test worker uses: no OTel socket, no metrics. */
export function sdkOptions(name, extra = {}) {
  return { workerName: name, otel: { enabled: false }, enableMetricsReporting: false, ...extra };
}

/**
 * An in-process SDK worker with `functions` ({id: handler}) registered;
 * resolves once the engine has them (see sync()).
 */
export async function connectWorker(url, { name = 'e2e', functions = {}, options = {} } = {}) {
  const iii = registerWorker(url, sdkOptions(name, options));
  open.add(iii);
  for (const [id, handler] of Object.entries(functions)) iii.registerFunction(id, handler);
  await sync(iii);
  return iii;
}

/**
 * Round trip through the engine to a function of `iii`'s own: loops a sync
 * trigger (timeoutMs 1000) until it is answered. Registrations are
 * fire-and-forget and a connection's frames are handled in order, so once
 * this resolves the engine has everything `iii` registered before the call.
 */
export async function sync(iii, { timeoutMs = READY_TIMEOUT_MS } = {}) {
  let id = pingIds.get(iii);
  if (!id) {
    id = `e2e::ping::${randomUUID()}`;
    iii.registerFunction(id, async () => ({ pong: true }));
    pingIds.set(iii, id);
  }
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const r = await iii.trigger({ function_id: id, payload: {}, timeoutMs: 1000 });
      if (r?.pong === true) return;
      last = new Error(`ping answered ${JSON.stringify(r)}`);
    } catch (err) {
      last = err;
      if (err?.message === 'iii is shutting down') throw err;
      if (err?.code !== 'TIMEOUT') await sleep(100);
    }
  }
  throw new Error(`worker not ready after ${timeoutMs} ms: ping ${id} failed: ${last?.message ?? last}`);
}

/** Shuts a worker down (closes its socket; the engine drops its functions). */
export async function closeWorker(iii) {
  open.delete(iii);
  await iii.shutdown();
}

/** Shuts down every in-process worker still open and stops every child worker. */
export async function closeAllWorkers() {
  await Promise.all([...open].map((iii) => closeWorker(iii)));
  await Promise.all([...children].map((child) => child.stop()));
}

/**
 * A worker in a child process, with functions given as {id: behaviour}:
 * `add` ({a,b} -> {c}), `echo`, `hang` (never answers), `sleep:<ms>`,
 * `throw:<message>`. Prints `started <id>` when a hang/sleep handler begins
 * and `finished <id> <payload JSON>` when a sleep handler ends.
 * Resolves once the child printed `ready`, with
 * {proc, lines(), output(), waitFor(line), kill9(), stop()}.
 */
export async function spawnWorker(url, { name = 'child', functions = {} } = {}) {
  const specs = Object.entries(functions).map(([id, behaviour]) => `${id}=${behaviour}`);
  const proc = track(
    spawn(process.execPath, [FIXTURE, url, name, ...specs], {
      env: { ...process.env, OTEL_ENABLED: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'], // the child exits when its stdin closes
    }),
  );
  const seen = [];
  const waiters = [];
  const output = captureOutput(proc, `[${name}] `, (line) => {
    seen.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const gone = exited(proc);
  gone.then(() => children.delete(child));
  const child = {
    proc,
    output,
    lines: () => [...seen],
    /** Resolves with the first line (seen before or after) equal to `line` or matching it. */
    waitFor(line, timeoutMs = READY_TIMEOUT_MS) {
      const match = typeof line === 'string' ? (l) => l.trim() === line : (l) => line.test(l);
      const already = seen.find(match);
      if (already !== undefined) return Promise.resolve(already);
      const w = { match, ...deferred() };
      waiters.push(w);
      const died = gone.then((code) => {
        throw new Error(`worker ${name} exited (${code}) before printing ${line}; output:\n${output()}`);
      });
      died.catch(() => {});
      return within(timeoutMs, Promise.race([w.promise, died]), `worker ${name} printing ${line}`);
    },
    kill9() {
      proc.kill('SIGKILL');
      return gone;
    },
    stop() {
      return stopProcess(proc, 'SIGTERM', 5000);
    },
  };
  children.add(child);
  try {
    await child.waitFor('ready', READY_TIMEOUT_MS + 5000);
  } catch (err) {
    await child.kill9();
    throw err;
  }
  return child;
}
