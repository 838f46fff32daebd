// HTTP triggers (README: HTTP triggers): real iii-sdk workers register `http`
// triggers, plain node:http requests reach them through iii-http. Request
// object, response mapping, the engine's own answers (404,
// 500, 504, 413, 400), registration errors, routes following their
// workers, and many requests over keep-alive connections.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { httpRequest } from './lib/http.mjs';
import { RawConnection } from './lib/raw.mjs';
import { useEngine } from './lib/setup.mjs';
import { eventually, sleep } from './lib/util.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';

const DEFAULT_TIMEOUT_MS = 1000;
const MAX_BODY_BYTES = 4096;
const NOT_FOUND = { error: { code: 'NOT_FOUND', message: 'Not Found' } };

/** Registers an http trigger on `iii`; returns its {unregister}. */
function route(iii, functionId, apiPath, httpMethod) {
  const config = { api_path: apiPath };
  if (httpMethod !== undefined) config.http_method = httpMethod;
  return iii.registerTrigger({ type: 'http', function_id: functionId, config });
}

const env = useEngine({ http: { defaultTimeoutMs: DEFAULT_TIMEOUT_MS, maxBodyBytes: MAX_BODY_BYTES } }, async (env) => {
  const main = await connectWorker(env.url, {
    name: 'http-main',
    functions: {
      'http::echo': async (req) => ({ status_code: 200, body: req }),
      'http::custom': async () => ({ status_code: 201, headers: { 'X-Custom': 'yes', 'X-Num': 5 }, body: { ok: true } }),
      'http::array-headers': async () => ({
        status_code: 202,
        headers: ['X-One: 1', '  X-Two :  two words ', 'no colon here'],
        body: [1, 2],
      }),
      'http::text': async () => ({ headers: { 'Content-Type': 'text/plain' }, body: 'plain text' }),
      'http::string': async () => ({ body: 'hi' }),
      'http::nothing': async () => null,
      'http::throws': async () => {
        throw new Error('handler exploded');
      },
      'http::slow': async () => {
        await sleep(DEFAULT_TIMEOUT_MS * 2.5);
        return { body: { late: true } };
      },
      'http::parallel': async (req) => {
        await sleep(100);
        return { body: { n: req.path_params.n, q: req.query_params.q } };
      },
    },
  });
  route(main, 'http::echo', '/echo/:name', 'POST');
  route(main, 'http::echo', 'echo/:name', 'get'); // same path, another method
  route(main, 'http::echo', '/echo-default');
  route(main, 'http::custom', '/custom', 'PUT');
  route(main, 'http::array-headers', '/array-headers', 'DELETE');
  route(main, 'http::text', '/text');
  route(main, 'http::string', '/string');
  route(main, 'http::nothing', '/nothing', 'PATCH');
  route(main, 'http::throws', '/throws');
  route(main, 'http::slow', '/slow');
  route(main, 'http::parallel', '/parallel/:n', 'OPTIONS');
  await sync(main);
});

const get = (path, opts) => httpRequest(env.httpUrl, path, opts);

test('path and query parameters, headers and a JSON body reach the function', { timeout: 15000 }, async () => {
  const body = { k: 'v', n: [1, 2, { deep: null }] };
  const r = await get('/echo/world?x=1&y=two+words%21&x=3&flag', {
    method: 'POST',
    headers: { 'X-Custom': 'abc' },
    body,
  });
  assert.equal(r.status, 200);
  const req = r.json;
  assert.deepEqual(Object.keys(req), ['query_params', 'path_params', 'headers', 'path', 'method', 'body', 'trigger']);
  assert.deepEqual(req.query_params, { x: '3', y: 'two words!', flag: '' });
  assert.deepEqual(req.path_params, { name: 'world' });
  assert.equal(req.headers['x-custom'], 'abc');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers.host, new URL(env.httpUrl).host);
  assert.equal(req.path, '/echo/:name', 'path is the api_path as registered');
  assert.equal(req.method, 'POST');
  assert.deepEqual(req.body, body);
  assert.deepEqual(req.trigger, { type: 'http', path: '/echo/:name', method: 'POST' });
});

test('path parameters stay raw; other content types give body null', { timeout: 15000 }, async () => {
  const r = await get('/echo/a%20b', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"k":1}' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.path_params, { name: 'a%20b' });
  assert.equal(r.json.body, null);
  const g = await get('/echo/x');
  assert.equal(g.json.method, 'GET');
  assert.equal(g.json.path, 'echo/:name');
});

test('http_method defaults to GET and is case-insensitive', { timeout: 15000 }, async () => {
  assert.equal((await get('/echo-default')).status, 200);
  assert.equal((await get('/echo-default', { method: 'POST', body: {} })).status, 404);
  assert.equal((await get('/echo/lower')).json.trigger.method, 'GET');
});

test('custom status and headers, object and array form', { timeout: 15000 }, async () => {
  const custom = await get('/custom', { method: 'PUT' });
  assert.equal(custom.status, 201);
  assert.equal(custom.headers['x-custom'], 'yes');
  assert.equal(custom.headers['x-num'], undefined, 'a non-string header value is dropped');
  assert.equal(custom.headers['content-type'], 'application/json');
  assert.deepEqual(custom.json, { ok: true });

  const arr = await get('/array-headers', { method: 'DELETE' });
  assert.equal(arr.status, 202);
  assert.equal(arr.headers['x-one'], '1');
  assert.equal(arr.headers['x-two'], 'two words');
  assert.deepEqual(arr.json, [1, 2]);
});

test('string bodies: raw with a content type, JSON without; null gives {}', { timeout: 15000 }, async () => {
  const text = await get('/text');
  assert.equal(text.status, 200);
  assert.equal(text.headers['content-type'], 'text/plain');
  assert.equal(text.text, 'plain text');

  const str = await get('/string');
  assert.equal(str.headers['content-type'], 'application/json');
  assert.equal(str.text, '"hi"');

  const nothing = await get('/nothing', { method: 'PATCH' });
  assert.equal(nothing.status, 200);
  assert.equal(nothing.text, '{}');
});

test('HEAD is served by the GET route, without a body', { timeout: 15000 }, async () => {
  const r = await get('/text', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '10');
  assert.equal(r.text, '');
});

test('no route: 404 with the NOT_FOUND body', { timeout: 15000 }, async () => {
  for (const [method, path] of [['GET', '/nope'], ['GET', '/echo/a/b'], ['DELETE', '/text']]) {
    const r = await get(path, { method });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(r.json, NOT_FOUND);
  }
});

test('a failing function gives 500 with code, message and error_id', { timeout: 15000 }, async () => {
  const r = await get('/throws');
  assert.equal(r.status, 500);
  assert.equal(r.json.error.message, 'handler exploded');
  assert.equal(typeof r.json.error.code, 'string');
  assert.match(r.json.error.error_id, /^[0-9a-f]{32}$/);
  assert.match(env.engine.logs(), new RegExp(`error_id ${r.json.error.error_id}`));
});

test('504 after default_timeout, while other requests go on', { timeout: 20000 }, async () => {
  const started = Date.now();
  const slow = get('/slow').then((r) => ({ ...r, ms: Date.now() - started }));
  const others = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`/echo/${i}`)));
  const othersMs = Date.now() - started;
  assert.ok(others.every((r, i) => r.status === 200 && r.json.path_params.name === String(i)));
  const r = await slow;
  assert.ok(othersMs < r.ms, `the other requests (${othersMs} ms) did not wait for the slow one (${r.ms} ms)`);
  assert.equal(r.status, 504);
  assert.equal(r.json.error.code, 'TIMEOUT');
  assert.ok(r.ms >= DEFAULT_TIMEOUT_MS - 50 && r.ms < DEFAULT_TIMEOUT_MS * 2.5, `answered after ${r.ms} ms`);
});

test('413 for a body over max_body_bytes; the limit itself passes', { timeout: 15000 }, async () => {
  const big = await get('/echo/big', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(MAX_BODY_BYTES + 1) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, 'PAYLOAD_TOO_LARGE');
  const fits = await get('/echo/fits', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(MAX_BODY_BYTES) });
  assert.equal(fits.status, 200);
  assert.equal(fits.json.headers['content-length'], String(MAX_BODY_BYTES));
});

test('400 for a malformed JSON body; the connection stays usable', { timeout: 15000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const bad = await get('/echo/bad', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"k":', agent });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'BAD_REQUEST');
    assert.match(bad.json.error.message, /not valid JSON/);
    const good = await get('/echo/good', { method: 'POST', body: { fine: true }, agent });
    assert.equal(good.status, 200);
    assert.deepEqual(good.json.body, { fine: true });
    assert.equal(good.localPort, bad.localPort, 'same keep-alive connection');
    const empty = await get('/echo/empty', { method: 'POST', headers: { 'content-type': 'application/json' }, agent });
    assert.equal(empty.status, 200, 'an empty JSON body is null, not an error');
    assert.equal(empty.json.body, null);
  } finally {
    agent.destroy();
  }
});

test('bad http triggers are refused with a reason; a route without a function gives 500', { timeout: 15000 }, async () => {
  const raw = await RawConnection.open(env.url);
  try {
    await raw.next((m) => m.type === 'workerregistered', 3000, 'workerregistered');
    const trigger = (id, config) =>
      raw.send({ type: 'registertrigger', id, trigger_type: 'http', function_id: 'raw::missing', config });
    const rejection = (id) =>
      raw.next((m) => m.type === 'triggerregistrationresult' && m.id === id, 3000, `rejection of ${id}`);
    await trigger('h-1', { http_method: 'GET' });
    await trigger('h-2', { api_path: '/conflict/:x' });
    await trigger('h-3', { api_path: 'conflict/:y', http_method: 'POST' });
    await trigger('h-4', { api_path: '/x', http_method: 'TRACE' });
    const r1 = await rejection('h-1');
    assert.deepEqual(r1.error, { code: 'trigger_registration_failed', message: 'api_path is required for http triggers' });
    assert.equal(r1.trigger_type, 'http');
    assert.equal(r1.function_id, 'raw::missing');
    assert.match((await rejection('h-3')).error.message, /POST \/conflict\/:y conflicts with GET \/conflict\/:x/);
    assert.match((await rejection('h-4')).error.message, /http_method 'TRACE' is not supported/);
    assert.ok(!raw.received.some((m) => m.json?.id === 'h-2'), 'h-2 was accepted');

    const r = await get('/conflict/1');
    assert.equal(r.status, 500);
    assert.equal(r.json.error.code, 'function_not_found');
  } finally {
    await raw.close();
  }
});

test('a route goes away with its worker, or when unregistered', { timeout: 20000 }, async () => {
  const w = await connectWorker(env.url, {
    name: 'http-leaving',
    functions: { 'http::leaving': async () => ({ body: { here: true } }) },
  });
  route(w, 'http::leaving', '/leaving');
  const t = route(w, 'http::leaving', '/unregistered');
  await sync(w);
  assert.deepEqual((await get('/leaving')).json, { here: true });
  assert.deepEqual((await get('/unregistered')).json, { here: true });
  t.unregister();
  await eventually(async () => assert.equal((await get('/unregistered')).status, 404), { timeoutMs: 5000 });
  await closeWorker(w);
  await eventually(
    async () => {
      const r = await get('/leaving');
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, NOT_FOUND);
    },
    { timeoutMs: 5000, what: 'the route answering 404' },
  );
});

test('the last worker to register a route wins; the earlier one leaving does not remove it', { timeout: 20000 }, async () => {
  const a = await connectWorker(env.url, { name: 'owner-a', functions: { 'http::owner-a': async () => ({ body: 'a' }) } });
  route(a, 'http::owner-a', '/owner');
  await sync(a);
  assert.equal((await get('/owner')).json, 'a');
  const b = await connectWorker(env.url, { name: 'owner-b', functions: { 'http::owner-b': async () => ({ body: 'b' }) } });
  route(b, 'http::owner-b', 'owner'); // same route: the leading '/' is optional
  await sync(b);
  assert.equal((await get('/owner')).json, 'b');
  await closeWorker(a);
  await sync(b);
  assert.equal((await get('/owner')).json, 'b');
  await closeWorker(b);
  await eventually(async () => assert.equal((await get('/owner')).status, 404), { timeoutMs: 5000 });
});

test('200 concurrent requests over keep-alive connections, each answered correctly', { timeout: 30000 }, async () => {
  const SOCKETS = 20;
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS });
  try {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => get(`/parallel/${i}?q=${i * 7}`, { method: 'OPTIONS', agent })),
    );
    const ms = Date.now() - started;
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      assert.deepEqual(r.json, { n: String(i), q: String(i * 7) }, `request ${i}`);
    });
    const sockets = new Set(answers.map((r) => r.localPort));
    assert.ok(sockets.size <= SOCKETS, `${sockets.size} connections for ${SOCKETS} sockets`);
    // Each call takes 100 ms: one connection at a time would need 20 s.
    assert.ok(ms < 8000, `200 requests took ${ms} ms on ${sockets.size} connections`);
  } finally {
    agent.destroy();
  }
});
