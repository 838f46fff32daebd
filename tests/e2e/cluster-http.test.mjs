// HTTP triggers across a cluster (README: Cluster): three engines a, b, c,
// each serving iii-http. A route registered by a worker on one node is
// served on every node's REST port with the request object unchanged; it
// goes away everywhere when unregistered, when its worker leaves and when
// its node is killed; a node that joins later gets the routes registered
// before; on a tie a node's own route wins over another node's, and among
// other nodes' routes the latest registration.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCluster, waitForMesh } from './lib/cluster.mjs';
import { httpRequest } from './lib/http.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { eventually } from './lib/util.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';

cleanUpAfterAll();

const NAMES = ['a', 'b', 'c'];
const NOT_FOUND = { error: { code: 'NOT_FOUND', message: 'Not Found' } };

let cluster;
/** Workers a test connected, closed after it. */
let workers = [];

before(async () => {
  // c starts later, in the first test.
  cluster = await startCluster({ names: NAMES, order: ['a', 'b'], http: true, heartbeatMs: 200, peerTimeoutMs: 1000 });
  await waitForMesh([cluster.nodes.a, cluster.nodes.b], { timeoutMs: 5000 });
});

after(async () => {
  await closeWorkers();
});

async function closeWorkers() {
  const list = workers;
  workers = [];
  await Promise.all(list.map((iii) => closeWorker(iii).catch(() => {})));
}

const node = (n) => cluster.nodes[n];
const request = (n, path, opts) => httpRequest(node(n).httpUrl, path, opts);

/** A worker on node `n` serving `functions`. */
async function workerOn(n, functions, name = `w-${n}`) {
  const iii = await connectWorker(node(n).url, { name, functions });
  workers.push(iii);
  return iii;
}

/** Registers an http trigger on `iii`; returns its {unregister}. */
function route(iii, functionId, apiPath, httpMethod, metadata) {
  const config = { api_path: apiPath };
  if (httpMethod !== undefined) config.http_method = httpMethod;
  const t = { type: 'http', function_id: functionId, config };
  if (metadata !== undefined) t.metadata = metadata;
  return iii.registerTrigger(t);
}

/** Waits until `path` on each node in `names` answers `status` (and `check(r)` passes). */
async function servedOn(names, path, status, { method = 'GET', check = () => {}, timeoutMs = 5000 } = {}) {
  await Promise.all(
    names.map((n) =>
      eventually(
        async () => {
          const r = await request(n, path, { method, timeoutMs: 2000 });
          assert.equal(r.status, status, `${method} ${path} on ${n}: ${r.text}`);
          check(r);
          return r;
        },
        { timeoutMs, intervalMs: 25, what: `${method} ${path} answering ${status} on ${n}` },
      ),
    ),
  );
}

test('a route registered on b before c joined is served on c once it joins', { timeout: 30000 }, async () => {
  const w = await workerOn('b', { 'b::early': async () => ({ body: { from: 'b' } }) });
  route(w, 'b::early', '/early');
  await sync(w);
  await servedOn(['a', 'b'], '/early', 200);
  await cluster.start('c');
  await waitForMesh(cluster.nodes, { timeoutMs: 5000 });
  await servedOn(['c'], '/early', 200, { check: (r) => assert.deepEqual(r.json, { from: 'b' }), timeoutMs: 2000 });
  await closeWorkers();
  await servedOn(NAMES, '/early', 404, { check: (r) => assert.deepEqual(r.json, NOT_FOUND) });
});

test("a's routes reach b and c with the request object and the response unchanged", { timeout: 30000 }, async () => {
  const w = await workerOn('a', {
    'a::echo': async (req) => ({ status_code: 201, headers: { 'X-From': 'a' }, body: req }),
  });
  route(w, 'a::echo', '/echo/:name', 'POST', { team: 'web' });
  route(w, 'a::echo', 'echo/:name', 'get');
  await sync(w);
  await servedOn(NAMES, '/echo/x', 201);
  await servedOn(NAMES, '/echo/x', 201, { method: 'POST' });
  const body = { k: 'v', n: [1, 2, { deep: null }], s: 'ünï' };
  const answers = {};
  for (const n of NAMES) {
    for (const method of ['POST', 'GET']) {
      const r = await request(n, '/echo/wörld%20x?x=1&y=two+words%21&x=3&flag', {
        method,
        headers: { 'X-Custom': 'abc' },
        body: method === 'POST' ? body : undefined,
      });
      assert.equal(r.status, 201, `${method} on ${n}: ${r.text}`);
      assert.equal(r.headers['x-from'], 'a');
      answers[`${method} ${n}`] = r.json;
    }
  }
  const post = answers['POST a'];
  assert.deepEqual(Object.keys(post), ['query_params', 'path_params', 'headers', 'path', 'method', 'body', 'trigger']);
  assert.deepEqual(post.query_params, { x: '3', y: 'two words!', flag: '' });
  assert.deepEqual(post.path_params, { name: 'w%C3%B6rld%20x' });
  assert.equal(post.path, '/echo/:name');
  assert.equal(post.method, 'POST');
  assert.deepEqual(post.body, body);
  assert.deepEqual(post.trigger, { type: 'http', path: '/echo/:name', method: 'POST' });
  assert.equal(post.headers['x-custom'], 'abc');
  assert.equal(answers['GET a'].body, null);
  assert.equal(answers['GET a'].path, 'echo/:name');
  // The same object on every node; only the Host header names another port.
  const withoutHost = (req) => ({ ...req, headers: { ...req.headers, host: undefined } });
  for (const n of ['b', 'c']) {
    for (const method of ['POST', 'GET']) {
      const here = answers[`${method} ${n}`];
      assert.equal(here.headers.host, new URL(node(n).httpUrl).host);
      assert.deepEqual(withoutHost(here), withoutHost(answers[`${method} a`]), `${method} on ${n}`);
    }
  }
  await closeWorkers();
});

test('an unregistered route, or one whose worker left, is 404 on b and c', { timeout: 30000 }, async () => {
  const w = await workerOn('a', {
    'a::leaving': async () => ({ body: { here: true } }),
  });
  const t = route(w, 'a::leaving', '/unregistered', 'PUT');
  route(w, 'a::leaving', '/leaving');
  await sync(w);
  await servedOn(NAMES, '/unregistered', 200, { method: 'PUT' });
  await servedOn(NAMES, '/leaving', 200);
  t.unregister();
  await servedOn(NAMES, '/unregistered', 404, { method: 'PUT', check: (r) => assert.deepEqual(r.json, NOT_FOUND) });
  await servedOn(['b', 'c'], '/leaving', 200, { timeoutMs: 1000 });
  await closeWorkers();
  await servedOn(NAMES, '/leaving', 404, { check: (r) => assert.deepEqual(r.json, NOT_FOUND) });
});

test("a node's own route wins on it; among other nodes' routes the latest wins", { timeout: 30000 }, async () => {
  const from = (who) => (r) => assert.deepEqual(r.json, { from: who });
  const wb = await workerOn('b', { 'b::shared': async () => ({ body: { from: 'b' } }) });
  route(wb, 'b::shared', '/shared');
  await sync(wb);
  await servedOn(NAMES, '/shared', 200, { check: from('b') });
  const wa = await workerOn('a', { 'a::shared': async () => ({ body: { from: 'a' } }) });
  const ta = route(wa, 'a::shared', 'shared'); // the same route
  await sync(wa);
  await servedOn(['a', 'c'], '/shared', 200, { check: from('a') });
  // b keeps its own route.
  for (let i = 0; i < 5; i++) from('b')(await request('b', '/shared'));
  // a's route gone: everyone falls back to b's, which never went away.
  ta.unregister();
  await servedOn(NAMES, '/shared', 200, { check: from('b') });
  await closeWorkers();
  await servedOn(NAMES, '/shared', 404);
});

test("kill -9 of a: its routes vanish on b and c within a second, the others' stay", { timeout: 30000 }, async () => {
  const wa = await workerOn('a', { 'a::doomed': async () => ({ body: { from: 'a' } }) });
  route(wa, 'a::doomed', '/doomed/:id');
  await sync(wa);
  const wc = await workerOn('c', { 'c::stays': async () => ({ body: { from: 'c' } }) });
  route(wc, 'c::stays', '/stays');
  await sync(wc);
  await servedOn(['b', 'c'], '/doomed/1', 200);
  await servedOn(['a', 'b'], '/stays', 200);
  const t0 = Date.now();
  await node('a').kill9();
  await servedOn(['b', 'c'], '/doomed/1', 404, { timeoutMs: 1000, check: (r) => assert.deepEqual(r.json, NOT_FOUND) });
  const ms = Date.now() - t0;
  assert.ok(ms < 1000, `gone after ${ms} ms`);
  await servedOn(['b', 'c'], '/stays', 200, { check: (r) => assert.deepEqual(r.json, { from: 'c' }), timeoutMs: 1000 });
});
