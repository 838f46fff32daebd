// iii's introspection functions, the engine::functions-available trigger
// type and engine::log::* with real iii-sdk workers: the results have the
// SDK's (iii 0.22.1's) shapes and follow workers as they come and go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TriggerAction } from 'iii-sdk';
import { EngineFunctions, EngineTriggers } from 'iii-sdk/engine';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker, sync } from './lib/workers.mjs';
import { eventually, rejection, UUID_V4 } from './lib/util.mjs';

let engine;
let orders; // owns orders::create (with description, metadata) and an http trigger
let watcher; // subscribes to engine::functions-available
let caller;
const changes = []; // payloads the watcher's function got

cleanUpAfterAll();

async function setup() {
  if (engine) return;
  engine = await startEngine({ config: engineConfig({ http: true }), args: ['--log-level', 'debug'] });
  orders = await connectWorker(engine.url, {
    name: 'orders',
    options: { workerDescription: 'takes orders' },
  });
  orders.registerFunction('orders::create', async () => ({ ok: true }), {
    description: 'Create an order',
    metadata: { team: 'shop' },
  });
  orders.registerTrigger({
    type: 'http',
    function_id: 'orders::create',
    config: { api_path: '/orders', http_method: 'POST' },
    metadata: { route: 'create' },
  });
  await sync(orders);
  watcher = await connectWorker(engine.url, { name: 'watcher' });
  watcher.registerFunction('watcher::on-change', async (payload) => {
    changes.push(payload);
    return null;
  });
  watcher.registerTrigger({
    type: EngineTriggers.FUNCTIONS_AVAILABLE,
    function_id: 'watcher::on-change',
    config: {},
  });
  await sync(watcher);
  caller = await connectWorker(engine.url, { name: 'caller' });
}

/** Polls `fn` until it returns something truthy; resolves with that. */
const until = (fn, opts) =>
  eventually(async () => {
    const v = await fn();
    if (!v) throw new Error('not yet');
    return v;
  }, opts);

const call = (function_id, payload = {}) => caller.trigger({ function_id, payload, timeoutMs: 5000 });

test('engine::functions::list: FunctionSummary rows sorted by id, engine ones hidden by default', { timeout: 30000 }, async () => {
  await setup();
  const { functions } = await call(EngineFunctions.LIST_FUNCTIONS);
  assert.ok(Array.isArray(functions));
  const ids = functions.map((f) => f.function_id);
  assert.deepEqual(ids, [...ids].sort());
  const create = functions.find((f) => f.function_id === 'orders::create');
  assert.deepEqual(create, {
    function_id: 'orders::create',
    worker_name: 'orders',
    description: 'Create an order',
    metadata: { team: 'shop' },
  });
  assert.ok(!ids.includes('engine::functions::list'), 'engine::* hidden');
  assert.ok(ids.includes('engine::queue::stats'), 'engine::queue::* stays, as in iii');
  assert.ok(ids.includes('iii::queue::redrive'));

  const all = await call(EngineFunctions.LIST_FUNCTIONS, { include_internal: true });
  const own = all.functions.find((f) => f.function_id === 'engine::functions::list');
  assert.equal(own.worker_name, 'iii-engine-functions');
  assert.equal(all.functions.find((f) => f.function_id === 'engine::log::info').worker_name, 'iii-observability');
  assert.equal(all.functions.find((f) => f.function_id === 'engine::queue::stats').worker_name, 'iii-queue');

  const byPrefix = await call(EngineFunctions.LIST_FUNCTIONS, { prefix: 'orders::' });
  assert.deepEqual(byPrefix.functions.map((f) => f.function_id), ['orders::create']);
  const bySearch = await call(EngineFunctions.LIST_FUNCTIONS, { search: 'AN ORDER' });
  assert.deepEqual(bySearch.functions.map((f) => f.function_id), ['orders::create']);
  const byWorker = await call(EngineFunctions.LIST_FUNCTIONS, { worker: 'watcher' });
  assert.ok(byWorker.functions.every((f) => f.worker_name === 'watcher'));
  assert.ok(byWorker.functions.some((f) => f.function_id === 'watcher::on-change'));
});

test('engine::functions::info: FunctionDetail with its registered triggers, batches, NOT_FOUND', { timeout: 20000 }, async () => {
  await setup();
  const detail = await call(EngineFunctions.INFO_FUNCTIONS, { function_id: 'orders::create' });
  assert.equal(detail.function_id, 'orders::create');
  assert.equal(detail.worker_name, 'orders');
  assert.equal(detail.description, 'Create an order');
  assert.deepEqual(detail.metadata, { team: 'shop' });
  assert.equal(detail.registered_triggers.length, 1);
  const [ref] = detail.registered_triggers;
  assert.match(ref.id, UUID_V4);
  assert.equal(ref.trigger_type, 'http');
  assert.deepEqual(ref.config, { api_path: '/orders', http_method: 'POST' });

  const batch = await call(EngineFunctions.INFO_FUNCTIONS, { function_ids: ['orders::create', 'nope::x', 'orders::create'] });
  assert.equal(batch.functions.length, 2);
  assert.equal(batch.functions[0].function_id, 'orders::create');
  assert.deepEqual(batch.functions[1], { function_id: 'nope::x', error: 'not_found' });

  const missing = await rejection(call(EngineFunctions.INFO_FUNCTIONS, { function_id: 'nope::x' }));
  assert.equal(missing.code, 'NOT_FOUND');
  assert.match(missing.message, /Function 'nope::x' is not registered/);
});

test('engine::workers::list and info: WorkerSummary rows, the engine’s own workers, changes as workers go', { timeout: 30000 }, async () => {
  await setup();
  const named = async (name) => (await call(EngineFunctions.LIST_WORKERS)).workers.find((w) => w.name === name);
  const w = await until(() => named('orders'), { what: 'orders listed' });
  assert.match(w.id, UUID_V4);
  assert.equal(w.description, 'takes orders');
  assert.equal(w.runtime, 'node');
  assert.equal(w.version, '0.22.1');
  assert.equal(w.status, 'connected');
  assert.equal(w.ip_address, '127.0.0.1');
  assert.equal(typeof w.os, 'string');
  assert.equal(w.function_count, 2, 'orders::create and its ping function');
  assert.equal(w.active_invocations, 0);
  assert.ok(w.connected_at_ms > Date.now() - 120000 && w.connected_at_ms <= Date.now());
  assert.deepEqual(
    Object.keys(w).sort(),
    ['active_invocations', 'connected_at_ms', 'description', 'function_count', 'id', 'ip_address', 'isolation', 'name', 'os', 'runtime', 'status', 'version'],
  );
  const all = (await call(EngineFunctions.LIST_WORKERS)).workers;
  const names = all.map((x) => x.name);
  assert.deepEqual(names, [...names].sort());
  const engineFns = all.find((x) => x.name === 'iii-engine-functions');
  assert.equal(engineFns.runtime, 'engine');
  assert.equal(engineFns.isolation, 'in-process');
  const nodeOnly = (await call(EngineFunctions.LIST_WORKERS, { runtime: 'node' })).workers;
  assert.ok(nodeOnly.length >= 3 && nodeOnly.every((x) => x.runtime === 'node'));

  const info = await call(EngineFunctions.INFO_WORKERS, { name: 'orders' });
  assert.equal(info.worker.id, w.id);
  assert.equal(info.worker.internal, false);
  assert.equal(typeof info.worker.pid, 'number');
  assert.ok(info.functions.some((f) => f.function_id === 'orders::create'));
  assert.equal(info.registered_triggers.length, 1);
  assert.equal(info.registered_triggers[0].function_id, 'orders::create');
  assert.deepEqual(info.trigger_types, []);
  const http = await call(EngineFunctions.INFO_WORKERS, { name: 'iii-http' });
  assert.deepEqual(http.trigger_types.map((t) => t.id), ['http']);

  const temp = await connectWorker(engine.url, { name: 'temp-worker' });
  await until(() => named('temp-worker'), { what: 'temp-worker listed' });
  await closeWorker(temp);
  await until(async () => !(await named('temp-worker')), { what: 'temp-worker gone' });
  const gone = await rejection(call(EngineFunctions.INFO_WORKERS, { name: 'temp-worker' }));
  assert.equal(gone.code, 'NOT_FOUND');
});

test('engine::triggers::list and engine::registered-triggers::list / info', { timeout: 20000 }, async () => {
  await setup();
  const { triggers } = await call(EngineFunctions.LIST_TRIGGERS);
  assert.deepEqual(triggers, [{ id: 'http', worker_name: 'iii-http', description: 'HTTP API trigger' }]);
  const internal = await call(EngineFunctions.LIST_TRIGGERS, { include_internal: true });
  assert.ok(internal.triggers.some((t) => t.id === 'engine::functions-available' && t.worker_name === 'iii-engine-functions'));

  const { registered_triggers: rows } = await call(EngineFunctions.LIST_REGISTERED_TRIGGERS);
  const route = rows.find((r) => r.trigger_type === 'http');
  assert.deepEqual(Object.keys(route).sort(), ['config', 'config_summary', 'function_id', 'id', 'trigger_type', 'worker_name']);
  assert.equal(route.function_id, 'orders::create');
  assert.equal(route.worker_name, 'orders');
  assert.equal(route.config_summary, JSON.stringify({ api_path: '/orders', http_method: 'POST' }));
  assert.ok(rows.some((r) => r.trigger_type === 'engine::functions-available' && r.function_id === 'watcher::on-change'));
  const onlyHttp = await call(EngineFunctions.LIST_REGISTERED_TRIGGERS, { trigger_type: 'http' });
  assert.deepEqual(onlyHttp.registered_triggers.map((r) => r.id), [route.id]);

  const detail = await call(EngineFunctions.INFO_REGISTERED_TRIGGERS, { id: route.id });
  assert.equal(detail.id, route.id);
  assert.deepEqual(detail.metadata, { route: 'create' });
  assert.equal(detail.trigger.id, 'http');
  assert.ok(detail.trigger.instance_count >= 1);
  assert.equal(detail.function.function_id, 'orders::create');
  const missing = await rejection(call(EngineFunctions.INFO_REGISTERED_TRIGGERS, { id: 'nope' }));
  assert.equal(missing.code, 'NOT_FOUND');
});

test('engine::functions-available fires with iii’s payload when functions appear and go', { timeout: 30000 }, async () => {
  await setup();
  const has = (p, id) => p.functions.some((f) => f.function_id === id);
  await until(() => changes.some((p) => has(p, 'watcher::on-change')), { what: 'fired for the watcher’s own registration' });
  const first = changes.at(-1);
  assert.equal(first.event, 'functions_changed');
  assert.ok(first.functions.some((f) => f.function_id === 'engine::functions::list'), 'engine functions included, as in iii');

  const extra = await connectWorker(engine.url, { name: 'extra', functions: { 'extra::fn': async () => 1 } });
  await until(() => changes.length > 0 && has(changes.at(-1), 'extra::fn'), { what: 'fired on register' });
  const row = changes.at(-1).functions.find((f) => f.function_id === 'extra::fn');
  assert.deepEqual(row, { function_id: 'extra::fn', worker_name: 'extra' });
  extra.unregisterFunction?.('extra::fn');
  await closeWorker(extra);
  await until(() => !has(changes.at(-1), 'extra::fn'), { what: 'fired on unregister' });
});

test('engine::log::* lines land in the engine log with the worker’s name and fields', { timeout: 20000 }, async () => {
  await setup();
  const levels = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
  for (const [level, text] of Object.entries(levels)) {
    const r = await orders.trigger({
      function_id: `engine::log::${level}`,
      // Fields sorted by key, as iii's serde map keeps them.
      payload: { message: `order ${level}`, data: { orderId: 'ord_1', amount: 5, nested: { a: [1] } } },
    });
    assert.equal(r, null);
    await until(() => engine.logs().split('\n').some((l) =>
      l.includes(text) && l.includes('[worker orders]') && l.includes(`order ${level} amount=5 nested={"a":[1]} orderId=ord_1`)),
    { what: `${level} line`, timeoutMs: 5000 });
  }
  // Void, as a logger would send it; a newline cannot forge a second line.
  await caller.trigger({
    function_id: 'engine::log::info',
    payload: { message: 'two\nlines', data: 'plain', trace_id: 't1' },
    action: TriggerAction.Void(),
  });
  await until(() => engine.logs().includes('[worker caller] two\\nlines data=plain trace_id=t1'), { what: 'void line', timeoutMs: 5000 });
});

test('bad input gets invalid_argument, never a crash', { timeout: 20000 }, async () => {
  await setup();
  const cases = [
    [EngineFunctions.LIST_FUNCTIONS, [1, 2]],
    [EngineFunctions.LIST_FUNCTIONS, { prefix: 5 }],
    [EngineFunctions.LIST_FUNCTIONS, { include_internal: 'yes' }],
    [EngineFunctions.LIST_FUNCTIONS, { workers: ['a', 3] }],
    [EngineFunctions.INFO_FUNCTIONS, {}],
    [EngineFunctions.INFO_FUNCTIONS, { function_id: 'a', function_ids: ['a'] }],
    [EngineFunctions.INFO_FUNCTIONS, { function_ids: [] }],
    [EngineFunctions.INFO_FUNCTIONS, { function_id: {} }],
    [EngineFunctions.INFO_WORKERS, {}],
    [EngineFunctions.LIST_WORKERS, { runtime: 1 }],
    [EngineFunctions.LIST_TRIGGERS, 'x'],
    [EngineFunctions.LIST_REGISTERED_TRIGGERS, { trigger_type: false }],
    [EngineFunctions.INFO_REGISTERED_TRIGGERS, { id: 7 }],
    ['engine::log::info', {}],
    ['engine::log::warn', { message: 42 }],
    ['engine::log::error', 'just text'],
  ];
  for (const [fn, payload] of cases) {
    const err = await rejection(call(fn, payload));
    assert.equal(err.code, 'invalid_argument', `${fn} ${JSON.stringify(payload)}: ${err.message}`);
  }
  assert.ok((await call(EngineFunctions.LIST_FUNCTIONS)).functions.length > 0, 'still answering');
});
