// The queue functions in a cluster answer for every node: a worker on node a
// sees the stats and dead-letter queues of a, b and c (summed, and per node
// in `nodes`), and redrives or discards a dead job wherever it is. A node
// that does not answer in time is listed with its error instead of holding
// the call up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster, waitForMesh } from './lib/cluster.mjs';
import { enqueue } from './lib/queues.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { connectWorker } from './lib/workers.mjs';
import { eventually, rejection } from './lib/util.mjs';

cleanUpAfterAll();

const QUEUE = 'work';
const queues = { [QUEUE]: { type: 'standard', max_retries: 1, backoff_ms: 10, concurrency: 5 } };
// Long enough that a frozen node stays `up` while it is asked.
const PEER_TIMEOUT_MS = 15000;
const NAMES = ['a', 'b', 'c'];
const DEAD = { a: 1, b: 2, c: 3 }; // jobs that die on each node

const call = (iii, functionId, payload, timeoutMs = 15000) => iii.trigger({ function_id: functionId, payload, timeoutMs });
const stats = (iii) => call(iii, 'engine::queue::stats', { queue: QUEUE });
const perNode = (merged, field) => Object.fromEntries(merged.nodes.map((n) => [n.node, n[field]]));

test('the queue functions answer for every node of the cluster', { timeout: 90000 }, async () => {
  const cluster = await startCluster({ queues, heartbeatMs: 500, peerTimeoutMs: PEER_TIMEOUT_MS });
  const { nodes } = cluster;
  let frozen = false;
  try {
    await waitForMesh(nodes, { timeoutMs: 5000 });
    // On every node a worker whose function fails until healed: each job
    // runs where it was enqueued (local providers first) and dies there.
    let healed = false;
    const calls = []; // {node, tag}
    const workers = {};
    for (const n of NAMES)
      workers[n] = await connectWorker(nodes[n].url, {
        name: `cq-${n}`,
        functions: {
          'cq::work': async ({ tag }) => {
            calls.push({ node: n, tag });
            if (!healed) throw new Error(`fails on ${n}`);
            return { done: tag };
          },
        },
      });
    const a = workers.a;

    const ids = {}; // tag -> {id, node}
    for (const n of NAMES)
      for (let i = 1; i <= DEAD[n]; i++) {
        const tag = `${n}-${i}`;
        ids[tag] = { id: await enqueue(workers[n], QUEUE, 'cq::work', { tag }), node: n };
      }
    const total = Object.keys(ids).length;

    // stats {queue} from a: the sums, and every node in `nodes`, a first.
    const s = await eventually(
      async () => {
        const got = await stats(a);
        assert.equal(got.dlq, total, JSON.stringify(got));
        return got;
      },
      { timeoutMs: 15000, intervalMs: 100, what: `${total} dead jobs across the cluster` },
    );
    assert.equal(s.queue, QUEUE);
    assert.equal(s.dead_total, total);
    assert.equal(s.enqueued_total, total);
    assert.equal(s.failed_attempts_total, total);
    assert.deepEqual(
      s.nodes.map((n) => n.node),
      NAMES,
      'this node first, then the others',
    );
    assert.deepEqual(perNode(s, 'dlq'), DEAD);
    assert.deepEqual(perNode(s, 'dead_total'), DEAD);
    for (const n of s.nodes) for (const f of ['waiting', 'in_flight', 'delayed', 'succeeded_total']) assert.equal(n[f], 0, `${n.node}.${f}`);
    for (const n of NAMES) assert.ok(calls.filter((c) => c.tag.startsWith(`${n}-`)).every((c) => c.node === n), 'each job ran on its node');
    // From c the same sums, c first.
    const fromC = await stats(workers.c);
    assert.equal(fromC.dlq, total);
    assert.deepEqual(
      fromC.nodes.map((n) => n.node),
      ['c', 'a', 'b'],
    );
    // Every queue: an array, each queue merged.
    const all = await call(a, 'engine::queue::stats', {});
    assert.ok(Array.isArray(all), JSON.stringify(all));
    assert.equal(all.find((q) => q.queue === QUEUE)?.dlq, total);

    const topics = await call(a, 'engine::queue::dlq_topics', {});
    const topic = topics.find((t) => t.topic === QUEUE);
    assert.equal(topic?.message_count, total, JSON.stringify(topics));
    assert.deepEqual(
      Object.fromEntries(topic.nodes.map((n) => [n.node, n.message_count])),
      DEAD,
    );

    // dlq_messages from a: every node's dead jobs, newest first, with their node.
    const list = await call(a, 'engine::queue::dlq_messages', { queue: QUEUE });
    assert.equal(list.length, total, JSON.stringify(list));
    for (const [tag, { id, node }] of Object.entries(ids)) {
      const entry = list.find((e) => e.id === id);
      assert.ok(entry, `${tag} is listed`);
      assert.equal(entry.node, node, `${tag} is on ${node}`);
      assert.deepEqual(entry.payload, { tag });
      assert.equal(entry.error?.message, `fails on ${node}`);
    }
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].failed_at >= list[i].failed_at, 'newest first');
    const page = await call(a, 'engine::queue::dlq_messages', { queue: QUEUE, offset: 2, limit: 3 });
    assert.deepEqual(
      page.map((e) => e.id),
      list.slice(2, 5).map((e) => e.id),
      'offset and limit apply to the merged list',
    );

    // redrive_message, called on a, of a job that is dead on c: it runs
    // again there.
    healed = true;
    const onC = ids['c-2'];
    const r = await call(a, 'iii::queue::redrive_message', { queue: QUEUE, message_id: onC.id });
    assert.equal(r.redriven, 1, JSON.stringify(r));
    assert.equal(r.message_id, onC.id);
    assert.deepEqual(perNode(r, 'redriven'), { a: 0, b: 0, c: 1 });
    await eventually(
      async () => {
        const got = await stats(a);
        assert.deepEqual(perNode(got, 'succeeded_total'), { a: 0, b: 0, c: 1 });
        assert.deepEqual(perNode(got, 'dlq'), { a: 1, b: 2, c: 2 });
      },
      { timeoutMs: 10000, intervalMs: 100, what: 'c-2 succeeding on c' },
    );
    assert.deepEqual(
      calls.filter((c) => c.tag === 'c-2').map((c) => c.node),
      ['c', 'c'],
      'c-2 ran on c both times',
    );
    assert.equal((await call(a, 'iii::queue::redrive_message', { queue: QUEUE, message_id: onC.id })).redriven, 0, 'not dead any more');

    // discard_message, called on a, of a job that is dead on b.
    const onB = ids['b-1'];
    const d = await call(a, 'iii::queue::discard_message', { queue: QUEUE, message_id: onB.id });
    assert.equal(d.discarded, 1, JSON.stringify(d));
    assert.deepEqual(perNode(d, 'discarded'), { a: 0, b: 1, c: 0 });
    assert.equal((await call(a, 'iii::queue::discard_message', { queue: QUEUE, message_id: onB.id })).discarded, 0);
    const left = await call(a, 'engine::queue::dlq_messages', { queue: QUEUE });
    assert.equal(left.length, total - 2);
    assert.ok(!left.some((e) => e.id === onB.id || e.id === onC.id));

    // redrive {queue} from a: every node's dead jobs.
    const all1 = await call(a, 'iii::queue::redrive', { queue: QUEUE });
    assert.equal(all1.redriven, total - 2, JSON.stringify(all1));
    assert.deepEqual(perNode(all1, 'redriven'), { a: 1, b: 1, c: 2 });
    await eventually(
      async () => {
        const got = await stats(a);
        assert.equal(got.dlq, 0, JSON.stringify(got));
        assert.equal(got.succeeded_total, total - 1, JSON.stringify(got));
      },
      { timeoutMs: 10000, intervalMs: 100, what: 'every redriven job succeeding' },
    );

    // Errors are refused on the calling node, as without a cluster.
    assert.equal((await rejection(call(a, 'iii::queue::redrive', {}))).code, 'queue_not_set');
    assert.equal((await rejection(call(a, 'engine::queue::stats', { queue: 'nope' }))).code, 'queue_not_found');

    // A node that cannot answer (frozen, still `up`) is listed with its
    // error after the per-node timeout; the others still answer.
    nodes.c.engine.proc.kill('SIGSTOP');
    frozen = true;
    const t0 = Date.now();
    const partial = await stats(a);
    const took = Date.now() - t0;
    console.log(`stats with c frozen answered after ${took} ms`);
    assert.ok(took < 9000, `took ${took} ms`);
    assert.equal(partial.succeeded_total, 2, 'a and b counted');
    const c = partial.nodes.find((n) => n.node === 'c');
    assert.equal(c?.error?.code, 'timeout', JSON.stringify(partial));
    assert.equal(c.dlq, undefined);
    nodes.c.engine.proc.kill('SIGCONT');
    frozen = false;
  } finally {
    if (frozen) nodes.c.engine.proc.kill('SIGCONT');
    await Promise.all(Object.values(nodes).map((n) => n.stop()));
  }
});
