// Child processes started by the tests (engines, child-process workers):
// tracked so that none outlives the test process, whatever way it ends.
import fs from 'node:fs';

const live = new Set(); // running child processes
const cleanups = new Set(); // synchronous leftovers' cleanup (temp dirs)

function killLeftovers() {
  for (const proc of live) {
    if (proc.exitCode === null && proc.signalCode === null) {
      try {
        proc.kill('SIGKILL');
      } catch {}
    }
  }
  live.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {}
  }
  cleanups.clear();
}

process.on('exit', killLeftovers);
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(sig, () => {
    killLeftovers();
    process.exit(128 + num);
  });
}

/** SIGKILLs `proc` when the test process exits, if it is still running. */
export function track(proc) {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

/** Removes `dir` when the test process exits; returns a function that removes it now. */
export function tempDirCleanup(dir) {
  const fn = () => fs.rmSync(dir, { recursive: true, force: true });
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
    fn();
  };
}

/** Resolves with the exit code, or the signal name if it died from a signal. */
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve(proc.exitCode ?? proc.signalCode);
  }
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal));
  });
}

/** Sends `signal`; after `graceMs` without an exit, SIGKILL. Resolves like exited(). */
export async function stopProcess(proc, signal = 'SIGTERM', graceMs = 10000) {
  const done = exited(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return done;
  try {
    proc.kill(signal);
  } catch {}
  let timer;
  const grace = new Promise((resolve) => {
    timer = setTimeout(resolve, graceMs, 'grace expired');
  });
  const first = await Promise.race([done, grace]);
  clearTimeout(timer);
  if (first !== 'grace expired') return first;
  try {
    proc.kill('SIGKILL');
  } catch {}
  const code = await done;
  return `${code} (did not exit within ${graceMs} ms of ${signal}; killed)`;
}

/**
 * Collects a child's stdout+stderr. Calls onLine(line) for each full line
 * and echoes lines prefixed with `prefix` when E2E_VERBOSE is set.
 */
export function captureOutput(proc, prefix, onLine = () => {}) {
  const state = { text: '' };
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      state.text += chunk;
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const line of parts) {
        if (process.env.E2E_VERBOSE) process.stderr.write(`${prefix}${line}\n`);
        onLine(line);
      }
    });
    stream.on('end', () => {
      if (partial) {
        if (process.env.E2E_VERBOSE) process.stderr.write(`${prefix}${partial}\n`);
        onLine(partial);
        partial = '';
      }
    });
  }
  return () => state.text;
}
