// Losing a cluster node and getting it back: kill -9 is seen at once (the
// link breaks), SIGSTOP after peer_timeout_ms (the link goes silent), and
// SIGTERM is a goodbye (the node leaves). A restarted node rejoins as a new
// incarnation, a resumed one as the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logLines, logTime, memberOf, startCluster, waitForLog, waitForMesh, waitForStatus } from './lib/cluster.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { sleep } from './lib/util.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';

cleanUpAfterAll();

const HEARTBEAT_MS = 200;
const PEER_TIMEOUT_MS = 1000;

async function stopAll(cluster) {
  await Promise.all(Object.values(cluster.nodes).map((n) => n.stop()));
}

/** Polls until every node in `watchers` lists `name` as `status`; resolves with the ms it took from `t0`. */
async function allSee(watchers, name, status, { t0, timeoutMs }) {
  await Promise.all(watchers.map((w) => waitForStatus(w, name, status, { timeoutMs, intervalMs: 10 })));
  return Date.now() - t0;
}

test('kill -9 of b: down on a and c within 500 ms; restarted on the same port it rejoins within 2 s', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS });
  try {
    const before = await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    const { a, c } = cluster.nodes;
    const oldIncarnation = before[1][0].incarnation;

    const t0 = Date.now();
    await cluster.nodes.b.kill9();
    const seen = await allSee([a, c], 'b', 'down', { t0, timeoutMs: 500 });
    console.log(`b down on a and c ${seen} ms after kill -9`);
    for (const node of [a, c]) {
      const line = await waitForLog(node, /\[cluster\] b is down \(/);
      assert.match(line, /remote_link_unreachable/);
      assert.ok(logTime(line) - t0 < 500, `logged ${logTime(line) - t0} ms after the kill: ${line}`);
      const row = await memberOf(node, 'b');
      assert.equal(row.incarnation, oldIncarnation);
      assert.equal(row.advertise, cluster.addressOf('b'));
      assert.match(row.reason, /remote_link_unreachable/);
    }
    // The others are not disturbed.
    await waitForMesh([a, c], { timeoutMs: 500 });

    const b = await cluster.restart('b');
    const t1 = Date.now();
    const tables = await waitForMesh(cluster.nodes, { timeoutMs: 2000 });
    console.log(`b up everywhere ${Date.now() - t1} ms after it listened again`);
    const newIncarnation = tables[1][0].incarnation;
    assert.notEqual(newIncarnation, oldIncarnation, 'a restart is a new incarnation');
    for (const node of [a, c]) {
      assert.equal((await memberOf(node, 'b')).incarnation, newIncarnation);
      assert.equal(logLines(node, /\[cluster\] b joined \(/).length, 2, node.engine.logs());
      assert.doesNotMatch(node.engine.logs(), /b is back after being declared down/);
    }
    assert.equal(logLines(b, /\[cluster\] [ac] joined \(/).length, 2, b.engine.logs());
  } finally {
    await stopAll(cluster);
  }
});

test('SIGSTOP of c: down on a and b within peer_timeout_ms + 1 s; SIGCONT: up again within 3 s, the same run', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS });
  const { a, b, c } = cluster.nodes;
  let stopped = false;
  try {
    const before = await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    const incarnation = before[2][0].incarnation;

    const t0 = Date.now();
    c.engine.proc.kill('SIGSTOP');
    stopped = true;
    const seen = await allSee([a, b], 'c', 'down', { t0, timeoutMs: PEER_TIMEOUT_MS + 1000 });
    console.log(`c down on a and b ${seen} ms after SIGSTOP (peer_timeout_ms ${PEER_TIMEOUT_MS})`);
    // Not before the link was silent for peer_timeout_ms (less one
    // heartbeat: the last one may have been just before the stop).
    for (const node of [a, b]) {
      const line = await waitForLog(node, /\[cluster\] c is down \(/);
      const after = logTime(line) - t0;
      assert.ok(after >= PEER_TIMEOUT_MS - HEARTBEAT_MS - 50, `down after only ${after} ms: ${line}`);
    }
    await waitForMesh([a, b], { timeoutMs: 500 });
    // Still down a while later: a frozen node cannot answer a redial.
    await sleep(500);
    for (const node of [a, b]) assert.equal((await memberOf(node, 'c')).status, 'down');

    const t1 = Date.now();
    c.engine.proc.kill('SIGCONT');
    stopped = false;
    const tables = await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    console.log(`c up everywhere ${Date.now() - t1} ms after SIGCONT`);
    assert.equal(tables[2][0].incarnation, incarnation);
    for (const node of [a, b]) {
      assert.equal((await memberOf(node, 'c')).incarnation, incarnation, 'the same run');
      const back = await waitForLog(node, /\[cluster\] c is back after being declared down/);
      assert.ok(logTime(back) >= t1 - 5, back);
      assert.equal(logLines(node, /\[cluster\] c joined \(/).length, 1, 'a return is not a join');
      assert.doesNotMatch(node.engine.logs(), /c restarted \(new incarnation\)/);
    }
    assert.ok(c.engine.alive());
  } finally {
    if (stopped) c.engine.proc.kill('SIGCONT');
    await stopAll(cluster);
  }
});

test('SIGTERM of c: it says it leaves, a and b log "c left the cluster" and list it as left', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS });
  const { a, b, c } = cluster.nodes;
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    assert.equal(await c.stop('SIGTERM'), 0, 'exit code');
    assert.match(c.engine.logs(), /\[cluster\] node c leaves the cluster/);
    for (const node of [a, b]) {
      await waitForLog(node, /\[cluster\] c left the cluster/, { timeoutMs: 2000 });
      const row = await waitForStatus(node, 'c', 'left', { timeoutMs: 1000 });
      assert.equal(row.advertise, cluster.addressOf('c'));
      assert.doesNotMatch(node.engine.logs(), /c is down/, `a goodbye is not a loss:\n${node.engine.logs()}`);
    }
    // It stays 'left' while the others redial it and fail.
    await sleep(800);
    for (const node of [a, b]) assert.equal((await memberOf(node, 'c')).status, 'left');
    await waitForMesh([a, b], { timeoutMs: 500 });

    // Started again, it is up everywhere.
    const t0 = Date.now();
    await cluster.restart('c');
    await waitForMesh(cluster.nodes, { timeoutMs: 2000 });
    console.log(`c up everywhere ${Date.now() - t0} ms after its restart`);
  } finally {
    await stopAll(cluster);
  }
});

// A node that joins (or rejoins) learns the functions the others already
// serve: the node it dials announces them right after its answer.
test('a restarted node can call functions that were registered before it joined', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS });
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    const onA = await connectWorker(cluster.nodes.a.url, {
      name: 'on-a',
      functions: { 'svc::before': async () => ({ from: 'a' }) },
    });
    await cluster.nodes.b.kill9();
    const b = await cluster.restart('b');
    await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    const onB = await connectWorker(b.url, { name: 'on-b' });
    let answer;
    for (let i = 0; i < 20 && !answer; ++i) {
      try {
        answer = await onB.trigger({ function_id: 'svc::before', payload: {}, timeoutMs: 1000 });
      } catch (err) {
        assert.equal(err.code, 'function_not_found', String(err));
        await sleep(50);
      }
    }
    assert.deepEqual(answer, { from: 'a' });
    await closeWorker(onB);
    await closeWorker(onA);
  } finally {
    await stopAll(cluster);
  }
});

// engine::cluster::forget: an operator declares a lost member gone; bad
// calls get clear errors.
test('engine::cluster::forget drops a down member and refuses bad calls', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS });
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: 3000 });
    const { a } = cluster.nodes;
    const caller = await connectWorker(a.url, { name: 'operator' });
    const forget = (payload) => caller.trigger({ function_id: 'engine::cluster::forget', payload, timeoutMs: 2000 });
    await assert.rejects(forget({}), (err) => err.code === 'invalid_argument');
    await assert.rejects(forget({ node: 5 }), (err) => err.code === 'invalid_argument');
    await assert.rejects(forget({ node: 'nobody' }), (err) => err.code === 'node_not_found');
    await assert.rejects(forget({ node: 'b' }), (err) => err.code === 'node_is_up' && /is up/.test(err.message));
    await cluster.nodes.b.kill9();
    await waitForStatus(a, 'b', 'down', { timeoutMs: 1000 });
    assert.deepEqual(await forget({ node: 'b' }), { node: 'b', forgotten: true });
    await waitForLog(a, /\[cluster\] an operator declared b .* gone for good/);
    const table = await a.members();
    assert.deepEqual(table.map((m) => m.name).sort(), ['a', 'c'], JSON.stringify(table));
    await closeWorker(caller);
  } finally {
    await stopAll(cluster);
  }
});
