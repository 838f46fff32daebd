// Starts the troupe binary ($TROUPE_BIN) with a YAML config written to a
// fresh temp dir and waits until it listens for workers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toYaml } from './yaml.mjs';
import { captureOutput, exited, stopProcess, tempDirCleanup, track } from './procs.mjs';

export const READY_TIMEOUT_MS = 15000;
const LISTENING = /listening for workers on ws:\/\/127\.0\.0\.1:(\d+)/;
const SERVING_HTTP = /serving http triggers on http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * The engine config object the tests use. `port` 0 lets the engine pick a
 * free port (it logs the real one); pass a port only to restart on it.
 * `queues` is iii-queue's `queue_configs` ({name: {type, concurrency,
 * max_retries, backoff_ms, max_backoff_ms, timeout_ms, message_group_field}}),
 * `maxPayloadBytes` its `max_payload_bytes`, `storePath` (a directory) turns
 * on the durable store (adapter builtin, `store_method: file_based`).
 * `http` (true, or {defaultTimeoutMs, maxBodyBytes}) adds `iii-http` on a
 * free port (see startEngine's `httpUrl`).
 */
export function engineConfig({ port = 0, maxFrameBytes, invocationTimeoutMs, idleTimeoutMs, messageTimeoutMs, queues, maxPayloadBytes, storePath, startupGraceMs, http } = {}) {
  const manager = { host: '127.0.0.1', port };
  if (maxFrameBytes !== undefined) manager.max_frame_bytes = maxFrameBytes;
  if (invocationTimeoutMs !== undefined) manager.invocation_timeout_ms = invocationTimeoutMs;
  if (idleTimeoutMs !== undefined) manager.idle_timeout_ms = idleTimeoutMs;
  if (messageTimeoutMs !== undefined) manager.message_timeout_ms = messageTimeoutMs;
  const queue = {
    queue_configs: queues ?? { default: { max_retries: 3, concurrency: 10, type: 'standard' } },
  };
  if (maxPayloadBytes !== undefined) queue.max_payload_bytes = maxPayloadBytes;
  if (startupGraceMs !== undefined) queue.startup_grace_ms = startupGraceMs;
  if (storePath !== undefined) {
    queue.adapter = { name: 'builtin', config: { store_method: 'file_based', file_path: storePath } };
  }
  const workers = [
    { name: 'iii-worker-manager', config: manager },
    { name: 'iii-queue', config: queue },
  ];
  if (http) {
    const rest = { host: '127.0.0.1', port: 0 };
    if (http.defaultTimeoutMs !== undefined) rest.default_timeout = http.defaultTimeoutMs;
    if (http.maxBodyBytes !== undefined) rest.max_body_bytes = http.maxBodyBytes;
    workers.push({ name: 'iii-http', config: rest });
  }
  return { workers };
}

/** Finds the worker port in engine output; null if the line is not there yet. */
export function parseListeningPort(text) {
  const m = LISTENING.exec(text);
  return m ? Number(m[1]) : null;
}

/** Finds the iii-http port in engine output; null if it serves no HTTP. */
export function parseHttpPort(text) {
  const m = SERVING_HTTP.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Starts an engine. Resolves {url, port, proc, dir, configPath, logs(),
 * stop(signal) -> Promise<exit code or signal name>, kill9()} once the
 * engine logged `listening for workers on ws://127.0.0.1:PORT`.
 */
export async function startEngine({ config = engineConfig(), args = [], env = {} } = {}) {
  // Resolved here: the engine runs with its temp dir as working directory.
  const bin = process.env.TROUPE_BIN && path.resolve(process.env.TROUPE_BIN);
  if (!bin) throw new Error('TROUPE_BIN is not set: point it at the troupe binary (ctest sets it)');
  if (!fs.existsSync(bin)) throw new Error(`TROUPE_BIN=${bin} does not exist`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-e2e-'));
  const removeDir = tempDirCleanup(dir);
  const configPath = path.join(dir, 'iii-config.yaml');
  fs.writeFileSync(configPath, typeof config === 'string' ? config : toYaml(config));

  const proc = track(
    spawn(bin, ['--config', configPath, ...args], {
      cwd: dir,
      env: { ...process.env, OTEL_ENABLED: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let onReadyLine;
  const seenPort = new Promise((resolve) => {
    onReadyLine = resolve;
  });
  const logs = captureOutput(proc, '[troupe] ', (line) => {
    const port = parseListeningPort(line);
    if (port !== null) onReadyLine(port);
  });
  const spawnError = new Promise((_, reject) => proc.once('error', reject));
  const exitedEarly = exited(proc).then((code) => {
    throw new Error(`engine exited (${code}) before listening; output:\n${logs()}`);
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`engine not listening after ${READY_TIMEOUT_MS} ms; output:\n${logs()}`)),
      READY_TIMEOUT_MS,
    );
  });
  let port;
  try {
    port = await Promise.race([seenPort, spawnError, exitedEarly, timeout]);
    if (!(port > 0 && port < 65536)) throw new Error(`engine logged an unusable port ${port}; output:\n${logs()}`);
  } catch (err) {
    await stopProcess(proc, 'SIGKILL');
    removeDir();
    throw err;
  } finally {
    clearTimeout(timer);
    exitedEarly.catch(() => {}); // it rejects later, when the engine stops
    spawnError.catch(() => {});
  }

  let stopping;
  // troupe opens iii-http before the worker listener, so it is logged by now.
  const httpPort = parseHttpPort(logs());
  const engine = {
    url: `ws://127.0.0.1:${port}`,
    port,
    /** The iii-http base URL, or null when the engine serves no HTTP. */
    httpUrl: httpPort === null ? null : `http://127.0.0.1:${httpPort}`,
    proc,
    dir,
    configPath,
    logs,
    /** True while the process runs. */
    alive: () => proc.exitCode === null && proc.signalCode === null,
    /** Sends `signal` (SIGKILL after 10 s); resolves with the exit code. */
    stop(signal = 'SIGTERM') {
      stopping ??= stopProcess(proc, signal).finally(removeDir);
      return stopping;
    },
    /** SIGKILL now; resolves with 'SIGKILL'. */
    kill9() {
      if (engine.alive()) proc.kill('SIGKILL');
      return engine.stop('SIGKILL');
    },
  };
  running.add(engine);
  proc.once('exit', () => running.delete(engine));
  return engine;
}

const running = new Set();

/**
 * A fresh directory for a durable store (`engineConfig({storePath})`), kept
 * across engine restarts and removed when the test process exits. The path
 * returned does not exist yet: the engine creates it.
 */
export function storeDir() {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-e2e-store-'));
  tempDirCleanup(parent);
  return path.join(parent, 'queue_store');
}

/**
 * Runs the engine with `config` for an outcome other than listening (a
 * start-up failure); resolves {code, output} once it exits, or, if it is
 * still running after `timeoutMs`, kills it and resolves {code: null,
 * output, listening} (whether it logged the listening line).
 */
export async function runEngineToExit({ config, timeoutMs = 10000 } = {}) {
  const bin = process.env.TROUPE_BIN && path.resolve(process.env.TROUPE_BIN);
  if (!bin) throw new Error('TROUPE_BIN is not set: point it at the troupe binary (ctest sets it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-e2e-'));
  const removeDir = tempDirCleanup(dir);
  const configPath = path.join(dir, 'iii-config.yaml');
  fs.writeFileSync(configPath, typeof config === 'string' ? config : toYaml(config));
  const proc = track(
    spawn(bin, ['--config', configPath], {
      cwd: dir,
      env: { ...process.env, OTEL_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output = captureOutput(proc, '[troupe] ');
  // 'close': exited, and its output read to the end.
  const closed = new Promise((resolve) => proc.once('close', (code, signal) => resolve(code ?? signal)));
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'timeout');
  });
  const first = await Promise.race([closed, late]);
  clearTimeout(timer);
  try {
    if (first !== 'timeout') return { code: first, output: output() };
    await stopProcess(proc, 'SIGKILL');
    return { code: null, output: output(), listening: parseListeningPort(output()) !== null };
  } finally {
    removeDir();
  }
}

/** Stops every engine this process started that still runs (SIGTERM). */
export async function stopAllEngines() {
  await Promise.all([...running].map((e) => e.stop()));
}
