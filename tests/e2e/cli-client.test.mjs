// The command-line client in the troupe binary (README: Command-line
// client): every command against a real engine with real iii-sdk workers,
// tables and --json, exit statuses 0 (ok), 1 (the engine's error), 2
// (usage), 3 (cannot connect, dropped, timeout); and, against a fake engine
// (the `ws` package), the frames the client sends, its bearer token, and
// tables for the functions main's engine does not have yet.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { useEngine } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { deferred, eventually, UUID_V4, within } from './lib/util.mjs';

const bin = path.resolve(process.env.TROUPE_BIN ?? '');

/** Runs `troupe ...args` without blocking the workers of this process. */
function troupe(args, { cwd, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', reject);
    proc.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, out, err });
    });
  });
}

/** `troupe ...args --json` against the test engine; the parsed stdout. */
async function json(args) {
  const r = await troupe([...args, '--address', env.url, '--json']);
  assert.equal(r.status, 0, `troupe ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out);
}

/** `troupe ...args` against the test engine. */
const remote = (args) => troupe([...args, '--address', env.url]);

let healed = false; // cli::flaky fails until this is set
const calls = { add: [], void: deferred(), queued: deferred(), flaky: [] };

const env = useEngine(
  {
    startupGraceMs: 0,
    queues: {
      default: { type: 'standard', concurrency: 10, max_retries: 3 },
      'cli-dlq': { type: 'standard', concurrency: 10, max_retries: 1, backoff_ms: 10 },
      'cli-fifo': { type: 'fifo', message_group_field: 'orderId' },
    },
  },
  async ({ url }) => {
    await connectWorker(url, {
      name: 'cli-worker',
      functions: {
        'cli::add': async (p) => {
          calls.add.push(p);
          return { c: p.a + p.b };
        },
        'cli::nothing': async () => undefined,
        'cli::void': async (p) => calls.void.resolve(p),
        'cli::queued': async (p) => calls.queued.resolve(p),
        'cli::boom': async () => {
          throw new Error('kaboom');
        },
        'cli::flaky': async (p) => {
          calls.flaky.push(p);
          if (!healed) throw new Error(`flaky failure ${p.n}`);
          return { ok: true };
        },
      },
    });
  },
);

test('queues prints a table of every queue and --json its stats', { timeout: 30000 }, async () => {
  const r = await remote(['queues']);
  assert.equal(r.status, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0], /^QUEUE +WAITING +IN_FLIGHT +DELAYED +DLQ +ENQUEUED +SUCCEEDED +FAILED +DEAD\b/);
  const names = lines.slice(1).map((l) => l.split(/ +/)[0]);
  assert.deepEqual(names.sort(), ['cli-dlq', 'cli-fifo', 'default']);
  assert.equal(r.err, '');

  const stats = await json(['queues']);
  assert.ok(Array.isArray(stats));
  for (const s of stats) {
    for (const k of ['queue', 'waiting', 'in_flight', 'delayed', 'dlq', 'enqueued_total', 'succeeded_total',
      'failed_attempts_total', 'dead_total']) assert.ok(k in s, `${k} in ${JSON.stringify(s)}`);
  }
});

test('trigger: a sync call prints the result, --json the raw result', { timeout: 30000 }, async () => {
  const r = await remote(['trigger', 'cli::add', '{"a":2,"b":3}']);
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { c: 5 });
  assert.equal(calls.add.at(-1).a, 2);
  assert.deepEqual(await json(['trigger', 'cli::add', '{"a":40,"b":2}']), { c: 42 });
  // A handler that returns nothing.
  const nothing = await remote(['trigger', 'cli::nothing']);
  assert.equal(nothing.status, 0, nothing.err);
  assert.equal(nothing.out, 'null\n');
});

test('trigger --void exits 0 once sent and the function runs', { timeout: 30000 }, async () => {
  const r = await remote(['trigger', 'cli::void', '{"v":1}', '--void']);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, '');
  const got = await within(5000, calls.void.promise, 'the Void call');
  assert.equal(got.v, 1);
  // Nobody answers a Void call, not even for a missing function.
  assert.equal((await remote(['trigger', 'cli::missing', '--void'])).status, 0);
});

test('trigger --queue prints the receipt and the job runs', { timeout: 30000 }, async () => {
  const r = await remote(['trigger', 'cli::queued', '{"orderId":"o1","n":7}', '--queue', 'cli-fifo']);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out.trim(), UUID_V4);
  assert.deepEqual(await within(5000, calls.queued.promise, 'the job'), { orderId: 'o1', n: 7 });
  const receipt = await json(['trigger', 'cli::nothing', '{}', '--queue', 'default']);
  assert.match(receipt.messageReceiptId, UUID_V4);
});

test('remote errors exit 1 with the code and message on stderr', { timeout: 30000 }, async () => {
  let r = await remote(['trigger', 'cli::missing', '{}']);
  assert.equal(r.status, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, 'troupe: function_not_found: Function cli::missing not found\n');
  r = await remote(['trigger', 'cli::boom']);
  assert.equal(r.status, 1);
  assert.match(r.err, /^troupe: invocation_failed: kaboom\n$/);
  r = await remote(['trigger', 'cli::add', '{}', '--queue', 'nope']);
  assert.equal(r.status, 1);
  assert.match(r.err, /enqueue_error: .*Queue 'nope' not found/);
  r = await remote(['trigger', 'cli::add', '{"n":1}', '--queue', 'cli-fifo']);
  assert.equal(r.status, 1);
  assert.match(r.err, /enqueue_error: .*requires field 'orderId'/);
  r = await remote(['dlq', 'list', 'nope']);
  assert.equal(r.status, 1);
  assert.equal(r.err, "troupe: queue_not_found: Queue 'nope' not found\n");
});

test('dlq list, redrive and discard', { timeout: 60000 }, async () => {
  const ids = [];
  for (let n = 1; n <= 3; n++) {
    ids.push((await json(['trigger', 'cli::flaky', JSON.stringify({ n }), '--queue', 'cli-dlq'])).messageReceiptId);
  }
  await eventually(async () => assert.equal((await json(['dlq', 'list', 'cli-dlq'])).length, 3), {
    timeoutMs: 10000,
    what: 'three dead jobs',
  });
  const dead = await json(['dlq', 'list', 'cli-dlq']);
  assert.deepEqual(dead.map((d) => d.id).sort(), [...ids].sort());
  assert.equal(dead[0].function_id, 'cli::flaky');
  assert.equal((await json(['dlq', 'list', 'cli-dlq', '--offset', '1', '--limit', '1']))[0].id, dead[1].id);
  assert.deepEqual(await json(['dlq', 'list', 'cli-dlq', '--offset', '5']), []);

  // The table: keys as columns, one row per dead job.
  const table = await remote(['dlq', 'list', 'cli-dlq']);
  assert.equal(table.status, 0, table.err);
  const lines = table.out.trimEnd().split('\n');
  assert.match(lines[0], /^ID +FUNCTION_ID +PAYLOAD +ERROR\b/);
  assert.equal(lines.length, 4);
  for (const id of ids) assert.ok(table.out.includes(id), table.out);
  const stats = (await json(['queues'])).find((s) => s.queue === 'cli-dlq');
  assert.equal(stats.dlq, 3);

  // discard one.
  let r = await remote(['dlq', 'discard', 'cli-dlq', ids[0]]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^discarded +1$/m);
  assert.deepEqual(await json(['dlq', 'discard', 'cli-dlq', ids[0]]), {
    queue: 'cli-dlq',
    message_id: ids[0],
    discarded: 0,
  });

  // redrive one, then the rest; healed, they succeed.
  healed = true;
  r = await remote(['dlq', 'redrive', 'cli-dlq', ids[1]]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^redriven +1$/m);
  await eventually(async () => assert.equal((await json(['dlq', 'list', 'cli-dlq'])).length, 1), {
    timeoutMs: 10000,
    what: 'one dead job left',
  });
  const all = await json(['dlq', 'redrive', 'cli-dlq']);
  assert.equal(all.queue, 'cli-dlq');
  assert.equal(all.redriven, 1);
  await eventually(
    async () => {
      const s = (await json(['queues'])).find((q) => q.queue === 'cli-dlq');
      assert.equal(s.dlq, 0);
      assert.equal(s.succeeded_total, 2);
    },
    { timeoutMs: 10000, what: 'the redriven jobs done' },
  );
  assert.deepEqual(calls.flaky.filter((p) => p.n === 1).length, 1, 'the discarded job never ran again');
});

test('workers lists the SDK worker, the engine\'s own and the client itself', { timeout: 30000 }, async () => {
  const r = await remote(['workers']);
  assert.equal(r.status, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0], /^NAME +ID +RUNTIME +VERSION +STATUS +FUNCTIONS +INVOCATIONS +ADDRESS$/);
  const row = lines.find((l) => l.startsWith('cli-worker '));
  assert.ok(row, r.out);
  assert.match(row, / node +0\.22\.1 +connected +7 +0 +127\.0\.0\.1$/);
  assert.ok(lines.some((l) => / engine /.test(l)), r.out);

  const { workers } = await json(['workers']);
  const sdk = workers.find((w) => w.name === 'cli-worker');
  assert.equal(sdk.runtime, 'node');
  assert.equal(sdk.function_count, 7); // six cli::* and the sync() ping
  const self = workers.filter((w) => w.name === 'troupe-cli');
  assert.equal(self.length, 1, 'the client is connected while it asks');
  assert.equal(self[0].runtime, 'troupe-cli');
});

test('pause, jobs, job and resume against the engine', { timeout: 30000 }, async () => {
  const paused = await json(['pause', 'default']);
  assert.equal(paused.queue, 'default');
  assert.equal(paused.paused, true);
  // Paused: the job is accepted and waits.
  const { messageReceiptId: id } = await json(['trigger', 'cli::nothing', '{"k":1}', '--queue', 'default']);
  const page = await json(['jobs', 'default', '--state', 'waiting', '--limit', '5']);
  assert.equal(page.queue, 'default');
  assert.equal(page.state, 'waiting');
  assert.ok(page.jobs.some((j) => j.id === id), JSON.stringify(page));
  const job = await json(['job', id, '--queue', 'default']);
  assert.equal(job.id, id);
  assert.equal(job.state, 'waiting');
  assert.deepEqual(job.payload, { k: 1 });
  const table = await remote(['jobs', 'default']);
  assert.equal(table.status, 0, table.err);
  assert.match(table.out, new RegExp(id));
  const missing = await remote(['job', '00000000-0000-4000-8000-000000000000']);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /^troupe: job_not_found: /);
  const resumed = await json(['resume', 'default']);
  assert.equal(resumed.paused, false);
  await eventually(async () => assert.equal((await remote(['job', id, '--queue', 'default'])).status, 1), {
    timeoutMs: 10000,
    what: 'the job done once the queue is resumed',
  });
});

test('bad arguments exit 2 with a message and need no engine', { timeout: 30000 }, async () => {
  const cases = [
    [['jobs'], /troupe jobs: missing argument/],
    [['jobs', 'q', 'extra'], /unexpected argument 'extra'/],
    [['jobs', 'q', '--limit', '-1'], /--limit takes a non-negative integer/],
    [['dlq', 'list', 'q', '--offset', 'x'], /--offset takes a non-negative integer/],
    [['dlq'], /missing command \(list, redrive or discard\)/],
    [['dlq', 'purge', 'q'], /unknown dlq command 'purge'/],
    [['dlq', 'discard', 'q'], /missing arguments/],
    [['queues', '--frob'], /unknown option '--frob'/],
    [['queues', '--timeout', '0'], /--timeout takes milliseconds/],
    [['queues', '--address', 'http://127.0.0.1:1'], /bad address/],
    [['trigger', 'f', '{"a":'], /the payload is not valid JSON/],
    [['trigger', 'f', '{}', '--void', '--queue', 'q'], /exclude each other/],
    [['trigger'], /missing argument/],
    [['help', 'frob'], /no command 'frob'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    // A port nothing listens on: a usage error must come before connecting.
    const r = await troupe(args.includes('--address') ? args : [...args, '--address', 'ws://127.0.0.1:1']);
    assert.equal(r.status, 2, `troupe ${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(r.out, '');
  }
});

test('--help lists the commands; help COMMAND and COMMAND --help show one', { timeout: 30000 }, async () => {
  const r = await troupe(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.out, /usage: troupe \[--config PATH\]/);
  for (const cmd of ['queues', 'jobs QUEUE', 'job ID', 'dlq list QUEUE', 'dlq redrive QUEUE', 'dlq discard QUEUE ID',
    'pause QUEUE', 'resume QUEUE', 'trigger FUNCTION', 'workers', 'check-config']) {
    assert.ok(r.out.includes(`  ${cmd}`), `${cmd} in --help`);
  }
  for (const args of [['help', 'dlq', 'redrive'], ['dlq', 'redrive', '--help']]) {
    const h = await troupe(args);
    assert.equal(h.status, 0);
    assert.match(h.out, /^usage: troupe dlq redrive QUEUE \[ID\]/);
    assert.match(h.out, /iii::queue::redrive_message/);
    assert.match(h.out, /Exit status: 0 ok, 1/);
  }
  const overview = await troupe(['help']);
  assert.equal(overview.status, 0);
  assert.match(overview.out, /check-config \[PATH\]/);
});

async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

test('an engine that is down exits 3', { timeout: 30000 }, async () => {
  const port = await closedPort();
  for (const args of [['queues'], ['trigger', 'f', '{}'], ['dlq', 'redrive', 'q']]) {
    const r = await troupe([...args, '--address', `ws://127.0.0.1:${port}`]);
    assert.equal(r.status, 3, r.err);
    assert.equal(r.err, `troupe: cannot connect to ws://127.0.0.1:${port}: Connection refused\n`);
    assert.equal(r.out, '');
  }
  // The default address when nothing listens there.
  const probe = net.connect(49134, '127.0.0.1');
  const listening = await new Promise((resolve) => {
    probe.once('connect', () => resolve(true));
    probe.once('error', () => resolve(false));
  });
  probe.destroy();
  if (!listening) {
    const r = await troupe(['queues']);
    assert.equal(r.status, 3);
    assert.match(r.err, /cannot connect to ws:\/\/127\.0\.0\.1:49134/);
  }
});

/**
 * A fake engine on 127.0.0.1: it records each upgrade's headers and every
 * frame, sends `workerregistered` first, and answers each invokefunction
 * that has an invocation_id with `answer(frame)`: {result}, {error},
 * 'drop' (closes the TCP connection), or 'silent'.
 */
async function fakeEngine(answer) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const fake = { url: `ws://127.0.0.1:${wss.address().port}`, headers: [], frames: [], closes: [] };
  wss.on('connection', (ws, req) => {
    fake.headers.push(req.headers);
    ws.send(JSON.stringify({ type: 'workerregistered', worker_id: 'w-1' }));
    ws.on('close', (code) => fake.closes.push(code));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      fake.frames.push(frame);
      if (frame.type !== 'invokefunction' || !frame.invocation_id) return;
      const a = answer(frame);
      if (a === 'drop') return ws.terminate();
      if (a === 'silent') return;
      // Something unrelated first: a result for another call.
      ws.send(JSON.stringify({ type: 'invocationresult', invocation_id: 'other', result: 'not yours' }));
      ws.send(JSON.stringify({ type: 'invocationresult', invocation_id: frame.invocation_id, function_id: frame.function_id, ...a }));
    });
  });
  fake.close = () => new Promise((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(resolve);
  });
  return fake;
}

test('the frames the client sends, its bearer token and its clean close', { timeout: 30000 }, async () => {
  const fake = await fakeEngine((f) => ({ result: { echo: f.data } }));
  try {
    let r = await troupe(['trigger', 'math::add', '{"a":1}', '--address', fake.url, '--token', 's3cret', '--json']);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { echo: { a: 1 } });
    assert.equal(fake.headers[0].authorization, 'Bearer s3cret');
    const [register, call] = fake.frames;
    assert.equal(register.function_id, 'engine::workers::register');
    assert.deepEqual(register.action, { type: 'void' });
    assert.equal(register.invocation_id, undefined);
    assert.equal(register.data.name, 'troupe-cli');
    assert.match(call.invocation_id, UUID_V4);
    assert.deepEqual(call, { type: 'invokefunction', invocation_id: call.invocation_id, function_id: 'math::add', data: { a: 1 } });
    await eventually(async () => assert.deepEqual(fake.closes, [1000]), { timeoutMs: 3000, what: 'a normal close' });

    r = await troupe(['trigger', 'f', '[1,2]', '--queue', 'payment', '--address', fake.url]);
    assert.equal(r.status, 0, r.err);
    const enq = fake.frames.at(-1);
    assert.deepEqual(enq.action, { type: 'enqueue', queue: 'payment' });
    assert.deepEqual(enq.data, [1, 2]);
    assert.match(enq.invocation_id, UUID_V4);
    assert.equal(fake.headers[1].authorization, undefined, 'no token, no header');

    r = await troupe(['trigger', 'f', '"x"', '--void', '--address', fake.url]);
    assert.equal(r.status, 0, r.err);
    await eventually(async () => assert.deepEqual(fake.frames.at(-1), {
      type: 'invokefunction', function_id: 'f', data: 'x', action: { type: 'void' },
    }), { timeoutMs: 3000, what: 'the Void frame' });

    // What each command sends as data.
    const sent = [
      [['jobs', 'q', '--state', 'dead', '--offset', '2', '--limit', '3'], 'engine::queue::jobs', { queue: 'q', state: 'dead', offset: 2, limit: 3 }],
      [['job', 'j1', '--queue', 'q'], 'engine::queue::job', { id: 'j1', queue: 'q' }],
      [['job', 'j1'], 'engine::queue::job', { id: 'j1' }],
      [['pause', 'q'], 'engine::queue::pause', { queue: 'q' }],
      [['resume', 'q'], 'engine::queue::resume', { queue: 'q' }],
      [['workers'], 'engine::workers::list', {}],
      [['queues'], 'engine::queue::stats', {}],
      [['dlq', 'list', 'q', '--limit', '0'], 'engine::queue::dlq_messages', { queue: 'q', limit: 0 }],
      [['dlq', 'redrive', 'q'], 'iii::queue::redrive', { queue: 'q' }],
      [['dlq', 'redrive', 'q', 'm'], 'iii::queue::redrive_message', { queue: 'q', message_id: 'm' }],
      [['dlq', 'discard', 'q', 'm'], 'iii::queue::discard_message', { queue: 'q', message_id: 'm' }],
    ];
    for (const [args, fn, data] of sent) {
      r = await troupe([...args, '--address', fake.url, '--json']);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.err}`);
      const f = fake.frames.at(-1);
      assert.equal(f.function_id, fn, args.join(' '));
      assert.deepEqual(f.data, data, args.join(' '));
      assert.deepEqual(JSON.parse(r.out), { echo: data });
    }
  } finally {
    await fake.close();
  }
});

test('tables for results of any shape', { timeout: 30000 }, async () => {
  const results = {
    'engine::queue::jobs': [
      { id: 'j1', state: 'waiting', attempts: 0, payload: { orderId: 'o1' } },
      { id: 'j2', state: 'delayed', attempts: 2, due_at: 123 },
    ],
    'engine::queue::job': { id: 'j1', queue: 'q', state: 'waiting', payload: { n: 1 } },
    'engine::queue::pause': { queue: 'q', paused: true },
    'engine::workers::list': { workers: [{ id: 'w1', name: 'billing', runtime: 'node', version: '0.22.1', function_count: 2 }] },
    'engine::queue::stats': [{ queue: 'q', waiting: 1, in_flight: 0, delayed: 0, dlq: 0, enqueued_total: 1,
      succeeded_total: 0, failed_attempts_total: 0, dead_total: 0, held: 0, paused: true }],
  };
  const fake = await fakeEngine((f) => ({ result: results[f.function_id] ?? null }));
  const run = async (args) => {
    const r = await troupe([...args, '--address', fake.url]);
    assert.equal(r.status, 0, r.err);
    return r.out;
  };
  try {
    assert.equal(await run(['jobs', 'q']),
      'ID  STATE    ATTEMPTS  PAYLOAD           DUE_AT\n' +
      'j1  waiting  0         {"orderId":"o1"}\n' +
      'j2  delayed  2                           123\n');
    assert.equal(await run(['job', 'j1']),
      'id       j1\nqueue    q\nstate    waiting\npayload  {"n":1}\n');
    assert.equal(await run(['pause', 'q']), 'queue   q\npaused  true\n');
    assert.equal(await run(['workers']),
      'NAME     ID  RUNTIME  VERSION  STATUS  FUNCTIONS  INVOCATIONS  ADDRESS\nbilling  w1  node     0.22.1           2\n');
    const q = await run(['queues']);
    assert.match(q, /^QUEUE .* DEAD +HELD +PAUSED\nq +1 .* true\n$/);
    assert.equal(await run(['resume', 'q']), 'null\n');
  } finally {
    await fake.close();
  }
});

test('a connection that drops before the answer, or no answer in time, exits 3', { timeout: 30000 }, async () => {
  const dropping = await fakeEngine(() => 'drop');
  try {
    const r = await troupe(['queues', '--address', dropping.url]);
    assert.equal(r.status, 3);
    assert.match(r.err, new RegExp(`^troupe: connection to ${dropping.url} lost before an answer`));
  } finally {
    await dropping.close();
  }
  const silent = await fakeEngine(() => 'silent');
  try {
    const started = Date.now();
    const r = await troupe(['trigger', 'f', '--address', silent.url, '--timeout', '300']);
    assert.equal(r.status, 3);
    assert.equal(r.err, `troupe: no answer from ${silent.url} within 300 ms\n`);
    assert.ok(Date.now() - started < 5000);
  } finally {
    await silent.close();
  }
  // Something that accepts TCP but never upgrades.
  const mute = net.createServer(() => {});
  await new Promise((resolve) => mute.listen(0, '127.0.0.1', resolve));
  try {
    const url = `ws://127.0.0.1:${mute.address().port}`;
    const r = await troupe(['queues', '--address', url, '--timeout', '300']);
    assert.equal(r.status, 3);
    assert.equal(r.err, `troupe: cannot connect to ${url} within 300 ms\n`);
  } finally {
    mute.close();
  }
  // A plain HTTP server: it answers, but not with an upgrade.
  const http404 = net.createServer((s) => s.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'));
  await new Promise((resolve) => http404.listen(0, '127.0.0.1', resolve));
  try {
    const r = await troupe(['queues', '--address', `ws://127.0.0.1:${http404.address().port}`]);
    assert.equal(r.status, 3);
    assert.match(r.err, /answered HTTP 404 instead of upgrading/);
  } finally {
    http404.close();
  }
});

function configFile(text, name = 'iii-config.yaml') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-cli-client-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return { dir, file };
}

test('check-config: ok, FILE:LINE:COL errors, the default file, --json', { timeout: 30000 }, async () => {
  const good = configFile(
    'workers:\n  - name: iii-queue\n    config:\n      queue_configs:\n        q: { type: fifo, message_group_field: k }\n');
  let r = await troupe(['check-config', good.file]);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, 'ok\n');
  assert.deepEqual(JSON.parse((await troupe(['check-config', good.file, '--json'])).out), { ok: true, file: good.file });
  // Without PATH: ./iii-config.yaml.
  r = await troupe(['check-config'], { cwd: good.dir });
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, 'ok\n');

  const bad = configFile(
    'workers:\n  - name: iii-queue\n    config:\n      queue_configs:\n        q: { type: fifo }\n');
  r = await troupe(['check-config', bad.file]);
  assert.equal(r.status, 2);
  assert.equal(r.out, '');
  assert.equal(r.err, `${bad.file}:5:9: Queue 'q' is of type 'fifo' but 'message_group_field' is not set\n`);
  r = await troupe(['check-config', bad.file, '--json']);
  assert.equal(r.status, 2);
  assert.deepEqual(JSON.parse(r.out), {
    ok: false,
    file: bad.file,
    errors: [`${bad.file}:5:9: Queue 'q' is of type 'fifo' but 'message_group_field' is not set`],
  });
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-cli-client-'));
  r = await troupe(['check-config'], { cwd: empty });
  assert.equal(r.status, 2);
  assert.match(r.err, /^iii-config\.yaml: cannot read file/);
  // The engine itself is not started by check-config, whatever the file says.
  const port = await closedPort();
  const listens = configFile(`workers:\n  - name: iii-worker-manager\n    config: { port: ${port} }\n`);
  r = await troupe(['check-config', listens.file]);
  assert.equal(r.status, 0, r.err);
  assert.doesNotMatch(r.err, /listening/);
});
