// The runnable examples (examples/*/): each one's own iii-config.yaml is
// loaded by a fresh engine (free ports and shorter retry delays through the
// config's ${VAR:default} placeholders), then `node examples/<name>/run.mjs`
// must exit 0, with III_URL (and III_HTTP_URL when the engine serves
// iii-http) pointing at that engine. The examples use their own node_modules
// (examples/).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEngine } from './lib/engine.mjs';
import { captureOutput, exited, stopProcess, track } from './lib/procs.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = path.join(repo, 'examples');
const RUN_TIMEOUT_MS = 30000;

cleanUpAfterAll();

/** Throws a clear error unless `npm ci` was run in examples/. */
function requireExampleDeps() {
  const want = JSON.parse(fs.readFileSync(path.join(examples, 'package.json'), 'utf8')).dependencies['iii-sdk'];
  const manifest = path.join(examples, 'node_modules', 'iii-sdk', 'package.json');
  if (!fs.existsSync(manifest)) {
    throw new Error(`examples/node_modules/iii-sdk is missing: run (cd ${examples} && npm ci)`);
  }
  const got = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
  if (got !== want) {
    throw new Error(`examples/node_modules has iii-sdk ${got}, examples/package.json pins ${want}: run (cd ${examples} && npm ci)`);
  }
}

/**
 * Starts an engine on examples/<name>/iii-config.yaml with `env`, runs
 * examples/<name>/run.mjs against it and returns its output once it exited 0.
 */
async function runExample(name, env) {
  requireExampleDeps();
  const configPath = path.join(examples, name, 'iii-config.yaml');
  // startEngine passes its own --config first; troupe takes the last one.
  const engine = await startEngine({
    args: ['--config', configPath],
    env: { III_PORT: '0', III_HTTP_PORT: '0', ...env },
  });
  assert.match(engine.logs(), new RegExp(`starting with ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  const proc = track(
    spawn(process.execPath, [path.join(examples, name, 'run.mjs')], {
      cwd: repo,
      env: {
        ...process.env,
        ...env,
        III_URL: engine.url,
        ...(engine.httpUrl ? { III_HTTP_URL: engine.httpUrl } : {}),
        OTEL_ENABLED: 'false',
        EXAMPLE_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output = captureOutput(proc, `[${name}] `);
  let timer;
  const code = await Promise.race([
    exited(proc),
    new Promise((resolve) => {
      timer = setTimeout(resolve, RUN_TIMEOUT_MS, 'timeout');
    }),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') await stopProcess(proc, 'SIGKILL');
  const report = () => `run.mjs output:\n${output()}\nengine log:\n${engine.logs()}`;
  assert.notEqual(code, 'timeout', `examples/${name}/run.mjs did not finish within ${RUN_TIMEOUT_MS} ms; ${report()}`);
  assert.equal(code, 0, `examples/${name}/run.mjs exited ${code}; ${report()}`);
  assert.equal(await engine.stop('SIGTERM'), 0, `engine exit code on SIGTERM; ${report()}`);
  return output();
}

test('examples/ledger: FIFO per account, order kept through a retry', { timeout: 60000 }, async () => {
  const out = await runExample('ledger', { LEDGER_BACKOFF_MS: '100' });
  assert.match(out, /acct_A: 15/);
  assert.match(out, /ledger example OK/);
});

test('examples/bulk-email: concurrency 3, 429s retried, every email sent once', { timeout: 60000 }, async () => {
  const out = await runExample('bulk-email', { EMAIL_BACKOFF_MS: '200' });
  assert.match(out, /max sends in flight: [123] \(queue concurrency 3\)/);
  assert.match(out, /bulk-email example OK/);
});

test('examples/order-pipeline: POST /orders, then payment, email and analytics for every order', { timeout: 60000 }, async () => {
  const out = await runExample('order-pipeline', { EMAIL_BACKOFF_MS: '200', PAYMENT_BACKOFF_MS: '100' });
  assert.match(out, /every POST \/orders answered 201/);
  assert.match(out, /order-pipeline example OK/);
});
