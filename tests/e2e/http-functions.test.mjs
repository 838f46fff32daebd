// HTTP-invoked functions (README: HTTP-invoked functions): a worker
// registers a function with an `invocation` ({url, method, timeout_ms,
// headers}) and the engine calls that URL itself, for sync calls, Void and
// queue jobs (with the queue's retries). The endpoint is a Node HTTP server
// on 127.0.0.1 started here.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';
import { enqueue } from './lib/queues.mjs';
import { eventually, rejection, sleep } from './lib/util.mjs';

const requests = []; // every request the endpoint got: {method, path, headers, body}
const failuresLeft = new Map(); // path -> how many more 500s to answer
let server;
let base; // http://127.0.0.1:PORT
let refusedUrl; // a port nobody listens on
let engine;
let owner;
let caller;

function handle(req, res) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const path = req.url;
    requests.push({ method: req.method, path, headers: req.headers, body });
    const reply = (status, value, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    if (path.startsWith('/echo')) return reply(200, { got: JSON.parse(body), method: req.method });
    if (path === '/empty') return reply(204, '');
    if (path === '/text') return reply(200, 'not json', 'text/plain');
    if (path === '/flaky') {
      const left = failuresLeft.get(path) ?? 0;
      if (left > 0) {
        failuresLeft.set(path, left - 1);
        return reply(500, { error: { code: 'upstream_down', message: 'try again' } });
      }
      return reply(200, { done: JSON.parse(body) });
    }
    if (path === '/teapot') return reply(418, 'short and stout', 'text/plain');
    if (path === '/slow') return setTimeout(() => reply(200, { late: true }), 2000);
    if (path === '/big') return reply(200, JSON.stringify({ pad: 'x'.repeat(4096) }));
    return reply(404, { error: { code: 'not_found', message: path } });
  });
}

before(async () => {
  server = http.createServer(handle);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  // A port that was free a moment ago: connecting to it is refused.
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  refusedUrl = `http://127.0.0.1:${probe.address().port}/nobody`;
  await new Promise((resolve) => probe.close(resolve));

  const config = engineConfig({
    queues: {
      default: { type: 'standard', max_retries: 3, concurrency: 10 },
      hooks: { type: 'standard', max_retries: 4, backoff_ms: 100, concurrency: 2 },
    },
  });
  config.workers.push({
    name: 'iii-http-functions',
    config: {
      security: { url_allowlist: ['127.0.0.1'], block_private_ips: false, require_https: false },
      default_timeout_ms: 5000,
      max_response_bytes: 1024,
    },
  });
  engine = await startEngine({ config });
  caller = await connectWorker(engine.url, { name: 'caller' });
  owner = await connectWorker(engine.url, { name: 'owner' });
  const fn = (id, path, extra = {}) => owner.registerFunction(id, { url: `${base}${path}`, ...extra });
  fn('hook::echo', '/echo?x=1', { method: 'PUT', headers: { 'x-custom': 'present' }, timeout_ms: 3000 });
  fn('hook::empty', '/empty');
  fn('hook::text', '/text');
  fn('hook::flaky', '/flaky');
  fn('hook::teapot', '/teapot');
  fn('hook::slow', '/slow', { timeout_ms: 200 });
  fn('hook::big', '/big');
  owner.registerFunction('hook::refused', { url: refusedUrl });
  await sync(owner);
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
});
cleanUpAfterAll();

const lastRequest = (path) => requests.filter((r) => r.path === path).at(-1);

test('a sync call is sent to the URL and its JSON answer is the result', async () => {
  const r = await caller.trigger({ function_id: 'hook::echo', payload: { a: 1, s: 'ü' }, timeoutMs: 5000 });
  assert.equal(r.method, 'PUT');
  assert.equal(r.got.a, 1);
  assert.equal(r.got.s, 'ü');
  const req = lastRequest('/echo?x=1');
  assert.equal(req.method, 'PUT');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['x-custom'], 'present');
  assert.equal(req.headers['x-iii-function-path'], 'hook::echo');
  assert.match(req.headers['x-iii-invocation-id'], /^[0-9a-f-]{36}$/);
  assert.ok(Math.abs(Number(req.headers['x-iii-timestamp']) - Date.now() / 1000) < 60);
  // The payload as the caller sent it, plus the engine's _caller_worker_id.
  const body = JSON.parse(req.body);
  assert.equal(body.a, 1);
  assert.equal(typeof body._caller_worker_id, 'string');
});

test('an empty 2xx answer is null; a non-JSON 2xx answer is invalid_response', async () => {
  assert.equal(await caller.trigger({ function_id: 'hook::empty', payload: {}, timeoutMs: 5000 }), null);
  assert.equal(lastRequest('/empty').method, 'POST');
  const err = await rejection(caller.trigger({ function_id: 'hook::text', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'invalid_response');
});

test('a Void call reaches the endpoint', async () => {
  const before = requests.filter((r) => r.path === '/echo?x=1').length;
  await caller.trigger({ function_id: 'hook::echo', payload: { via: 'void' }, action: TriggerAction.Void() });
  await eventually(
    async () => assert.equal(requests.filter((r) => r.path === '/echo?x=1').length, before + 1),
    { timeoutMs: 5000, intervalMs: 20, what: 'the void call' },
  );
  assert.equal(JSON.parse(lastRequest('/echo?x=1').body).via, 'void');
});

test('a queue job is delivered to the endpoint, retried after 500s until it succeeds', async () => {
  failuresLeft.set('/flaky', 2);
  const before = requests.filter((r) => r.path === '/flaky').length;
  await enqueue(caller, 'hooks', 'hook::flaky', { orderId: 'o-1' });
  await eventually(
    async () => {
      const got = requests.filter((r) => r.path === '/flaky').slice(before);
      assert.equal(got.length, 3, `attempts so far: ${got.length}`);
    },
    { timeoutMs: 10000, intervalMs: 50, what: 'three attempts' },
  );
  await eventually(
    async () => {
      const s = await caller.trigger({ function_id: 'engine::queue::stats', payload: { queue: 'hooks' } });
      assert.equal(s.succeeded_total, 1);
      assert.equal(s.failed_attempts_total, 2);
    },
    { timeoutMs: 5000, intervalMs: 50, what: 'the job succeeding' },
  );
  for (const r of requests.filter((r) => r.path === '/flaky').slice(before))
    assert.equal(JSON.parse(r.body).orderId, 'o-1');
});

test('a 500 with an error body gives its code and the status; another status gives http_error', async () => {
  failuresLeft.set('/flaky', 1);
  let err = await rejection(caller.trigger({ function_id: 'hook::flaky', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'upstream_down');
  assert.match(err.message, /HTTP 500.*try again/);
  err = await rejection(caller.trigger({ function_id: 'hook::teapot', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'http_error');
  assert.match(err.message, /HTTP 418/);
});

test('timeout, connection refused and an oversized answer each have their code', async () => {
  const t0 = Date.now();
  let err = await rejection(caller.trigger({ function_id: 'hook::slow', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'http_timeout');
  assert.ok(Date.now() - t0 < 1500, `timed out after ${Date.now() - t0} ms`);
  err = await rejection(caller.trigger({ function_id: 'hook::refused', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'http_request_failed');
  assert.match(err.message, /refused/i);
  err = await rejection(caller.trigger({ function_id: 'hook::big', payload: {}, timeoutMs: 5000 }));
  assert.equal(err.code, 'response_too_large');
});

test('bad invocations are refused without harm to the connection', async () => {
  const bad = await connectWorker(engine.url, { name: 'bad' });
  bad.registerFunction('bad::ftp', { url: 'ftp://127.0.0.1/x' });
  bad.registerFunction('bad::method', { url: `${base}/echo`, method: 'TRACE' });
  bad.registerFunction('bad::host', { url: 'http://example.com/x' }); // not in the allowlist
  bad.registerFunction('bad::nourl', { method: 'POST' });
  await sync(bad);
  for (const id of ['bad::ftp', 'bad::method', 'bad::host', 'bad::nourl']) {
    const err = await rejection(caller.trigger({ function_id: id, payload: {}, timeoutMs: 3000 }));
    assert.equal(err.code, 'function_not_found', id);
  }
  await closeWorker(bad);
});

test('the functions go away when their worker disconnects', async () => {
  await closeWorker(owner);
  await eventually(
    async () => {
      const err = await rejection(caller.trigger({ function_id: 'hook::echo', payload: {}, timeoutMs: 1000 }));
      assert.equal(err.code, 'function_not_found');
    },
    { timeoutMs: 5000, intervalMs: 50, what: 'hook::echo gone' },
  );
  await sleep(10);
});

test('unregister removes an HTTP-invoked function', async () => {
  const w = await connectWorker(engine.url, { name: 'temp' });
  const ref = w.registerFunction('hook::temp', { url: `${base}/empty` });
  await sync(w);
  assert.equal(await caller.trigger({ function_id: 'hook::temp', payload: {}, timeoutMs: 5000 }), null);
  ref.unregister();
  await sync(w);
  const err = await rejection(caller.trigger({ function_id: 'hook::temp', payload: {}, timeoutMs: 3000 }));
  assert.equal(err.code, 'function_not_found');
  await closeWorker(w);
});

test('without iii-http-functions in the config, functions with an invocation are refused', async () => {
  const plain = await startEngine({ config: engineConfig() });
  const w = await connectWorker(plain.url, { name: 'w' });
  w.registerFunction('hook::nomodule', { url: `${base}/empty` });
  await sync(w);
  const err = await rejection(w.trigger({ function_id: 'hook::nomodule', payload: {}, timeoutMs: 3000 }));
  assert.equal(err.code, 'function_not_found');
  await closeWorker(w);
});
