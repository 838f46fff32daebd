// Worker authentication (README: Worker authentication) with real iii-sdk
// workers: no settings keep every connection open; `auth.token` admits the
// right bearer token only (401 otherwise, logged once per interval while
// the SDK retries); `rbac.auth_function_id`, served by a worker that
// connects with the token, admits or refuses by header, restricts what a
// connection may register and call, and fails closed when it is slow; the
// CLI's --token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { openWebSocket } from './lib/raw.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker, sdkOptions } from './lib/workers.mjs';
import { registerWorker } from 'iii-sdk';
import { rejection, sleep, eventually } from './lib/util.mjs';

cleanUpAfterAll();

const TOKEN = 'engine-s3cret';
const bin = process.env.TROUPE_BIN && path.resolve(process.env.TROUPE_BIN);
const FAST_RECONNECT = { reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 300, jitterFactor: 0.1 } };

/** engineConfig() with `extra` merged into iii-worker-manager's config. */
function managerConfig(extra) {
  const cfg = engineConfig();
  Object.assign(cfg.workers[0].config, extra);
  return cfg;
}

/** A raw WebSocket upgrade: {status, body} of a refusal, or {status: 101}. */
async function upgrade(url, headers = {}) {
  const r = await openWebSocket(url, headers);
  if (r.ws) {
    r.ws.close();
    return { status: 101 };
  }
  return r;
}

function troupe(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
    proc.once('error', reject);
    proc.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out, err });
    });
  });
}

const bearer = (t) => ({ headers: { authorization: `Bearer ${t}` } });

test('without authentication settings every connection is admitted, as before', { timeout: 30000 }, async () => {
  const engine = await startEngine();
  try {
    assert.equal((await upgrade(engine.url)).status, 101);
    assert.equal((await upgrade(engine.url, { authorization: 'Bearer whatever' })).status, 101);
    const w = await connectWorker(engine.url, { functions: { 'open::echo': async ({ a }) => ({ a }) } });
    assert.deepEqual(await w.trigger({ function_id: 'open::echo', payload: { a: 1 } }), { a: 1 });
    await closeWorker(w);
    assert.doesNotMatch(engine.logs(), /worker authentication on|refused \(/);
  } finally {
    await engine.stop('SIGTERM');
  }
});

test('auth.token admits the right bearer token only; refusals are 401 and logged once per interval', { timeout: 40000 }, async () => {
  const engine = await startEngine({
    config: managerConfig({ auth: { token: '${E2E_TOKEN}' } }),
    env: { E2E_TOKEN: TOKEN },
  });
  try {
    assert.match(engine.logs(), /worker authentication on: bearer token/);
    const missing = await upgrade(engine.url);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(JSON.parse(missing.body), {
      error: { code: 'UNAUTHORIZED', message: "this engine requires 'Authorization: Bearer <token>' (auth.token)" },
    });
    const wrong = await upgrade(engine.url, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).error.message, 'wrong token');
    assert.equal((await upgrade(`${engine.url.replace(/\/$/, '')}/otel`)).status, 401, 'the telemetry socket too');
    assert.equal((await upgrade(engine.url, { authorization: `bearer ${TOKEN}` })).status, 101);

    // A real worker with the token works; one with a wrong token retries
    // forever and never gets in, and the engine does not log every retry.
    const good = await connectWorker(engine.url, { options: bearer(TOKEN), functions: { 'tok::add': async ({ a, b }) => ({ c: a + b }) } });
    assert.deepEqual(await good.trigger({ function_id: 'tok::add', payload: { a: 2, b: 3 } }), { c: 5 });
    const before = (engine.logs().match(/refused \(401\)/g) ?? []).length;
    const intruder = registerWorker(engine.url, sdkOptions('intruder', { ...bearer('nope'), ...FAST_RECONNECT }));
    const attempt = intruder.trigger({ function_id: 'tok::add', payload: { a: 1, b: 1 }, timeoutMs: 3000 });
    assert.ok(await rejection(attempt), 'the intruder is never answered');
    await intruder.shutdown?.();
    const lines = (engine.logs().match(/refused \(401\)/g) ?? []).length - before;
    assert.ok(lines <= 1, `${lines} refusal lines for a few seconds of retries:\n${engine.logs()}`);
    // The first refusal of this engine was logged with its reason and address.
    assert.match(engine.logs(), /connection \d+ from 127\.0\.0\.1:\d+ refused \(401\): this engine requires/);

    // The CLI: --token gets in, no token gets the 401 and exit status 3.
    const ok = await troupe(['trigger', 'tok::add', '{"a":4,"b":5}', '--address', engine.url, '--token', TOKEN, '--json']);
    assert.equal(ok.status, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out), { c: 9 });
    const no = await troupe(['trigger', 'tok::add', '{"a":4,"b":5}', '--address', engine.url]);
    assert.equal(no.status, 3, no.err);
    assert.match(no.err, /HTTP 401 instead of upgrading.*UNAUTHORIZED/);
    await closeWorker(good);
  } finally {
    await engine.stop('SIGTERM');
  }
});

test('rbac.auth_function_id admits or refuses by header and restricts registrations and calls', { timeout: 60000 }, async () => {
  const engine = await startEngine({
    config: managerConfig({
      auth: { token: TOKEN },
      // e2e::ping::* : the test helpers' own round trip (connectWorker).
      rbac: { auth_function_id: 'auth::check', auth_timeout_ms: 700, expose_functions: ['match("api::*")', "match('e2e::ping::*')"] },
    }),
  });
  const inputs = [];
  // The trusted backend: it serves the auth function and the API, and is
  // admitted by the engine's token, without rbac limits.
  const backend = await connectWorker(engine.url, {
    name: 'backend',
    options: bearer(TOKEN),
    functions: {
      'auth::check': async (input) => {
        inputs.push(input);
        const role = input.headers?.['x-role'];
        if (role === 'admin') return { allowed_functions: ['internal::stats'], allow_trigger_type_registration: true };
        if (role === 'reader') return { forbidden_functions: ['api::delete'], allow_function_registration: false };
        if (role === 'slow') {
          await sleep(2000);
          return {};
        }
        if (role === 'odd') return 'yes';
        throw new Error('Missing credentials');
      },
      'api::list': async () => ({ items: [1, 2] }),
      'api::delete': async () => ({ deleted: true }),
      'internal::stats': async () => ({ n: 1 }),
      'internal::secret': async () => ({ secret: 42 }),
    },
  });
  try {
    assert.match(engine.logs(), /auth function auth::check/);
    // The backend is not limited: it calls what no pattern exposes.
    assert.deepEqual(await backend.trigger({ function_id: 'internal::secret', payload: {} }), { secret: 42 });

    // Refusals: the function's error (403), an answer of the wrong shape
    // (403), no answer within auth_timeout_ms (503).
    const none = await upgrade(engine.url);
    assert.equal(none.status, 403);
    assert.match(JSON.parse(none.body).error.message, /refused by the auth function auth::check: Missing credentials/);
    const odd = await upgrade(engine.url, { 'x-role': 'odd' });
    assert.equal(odd.status, 403);
    assert.match(odd.body, /not an object/);
    const t0 = Date.now();
    const slow = await upgrade(engine.url, { 'x-role': 'slow' });
    assert.equal(slow.status, 503);
    assert.match(slow.body, /did not answer within 700 ms/);
    assert.ok(Date.now() - t0 < 1900, 'refused at the timeout, not when the function answered');
    // Meanwhile other connections were not held up.
    const [a, b] = await Promise.all([upgrade(engine.url, { 'x-role': 'admin' }), upgrade(engine.url, { 'x-role': 'reader' })]);
    assert.deepEqual([a.status, b.status], [101, 101]);

    // What the function received: iii's AuthInput.
    const seen = inputs.find((x) => x.headers?.['x-role'] === 'admin');
    assert.equal(seen.ip_address, '127.0.0.1');
    assert.equal(seen.headers.upgrade?.toLowerCase(), 'websocket');
    const q = await upgrade(`${engine.url}?team=blue&team=red&k=a%20b`, { 'x-role': 'admin' });
    assert.equal(q.status, 101);
    assert.deepEqual(inputs.at(-1).query_params, { team: ['blue', 'red'], k: ['a b'] });

    // An admin: exposed api::*, its allowed internal::stats; not the rest.
    const admin = await connectWorker(engine.url, { name: 'admin', options: { headers: { 'x-role': 'admin' } } });
    assert.deepEqual(await admin.trigger({ function_id: 'api::list', payload: {} }), { items: [1, 2] });
    assert.deepEqual(await admin.trigger({ function_id: 'api::delete', payload: {} }), { deleted: true });
    assert.deepEqual(await admin.trigger({ function_id: 'internal::stats', payload: {} }), { n: 1 });
    const secret = await rejection(admin.trigger({ function_id: 'internal::secret', payload: {} }));
    assert.equal(secret?.code, 'FORBIDDEN');
    assert.match(secret?.message, /function 'internal::secret' not allowed \(add it to rbac\.expose_functions\)/);

    // A reader: api::delete forbidden, and its own functions not registered.
    const reader = registerWorker(engine.url, sdkOptions('reader', { headers: { 'x-role': 'reader' } }));
    reader.registerFunction('reader::own', async () => ({}));
    assert.deepEqual(await reader.trigger({ function_id: 'api::list', payload: {} }), { items: [1, 2] });
    const del = await rejection(reader.trigger({ function_id: 'api::delete', payload: {} }));
    assert.equal(del?.code, 'FORBIDDEN');
    assert.match(del?.message, /forbidden_functions/);
    const listed = await backend.trigger({ function_id: 'engine::functions::list', payload: {} });
    const ids = (listed.functions ?? listed).map((f) => f.function_id ?? f.id);
    assert.ok(ids.includes('api::list'), JSON.stringify(listed));
    assert.ok(!ids.includes('reader::own'), 'the reader may not register functions');
    assert.match(engine.logs(), /registration of function 'reader::own' refused/);
    await reader.shutdown?.();
    await closeWorker(admin);
  } finally {
    await closeWorker(backend);
    await engine.stop('SIGTERM');
  }
});
