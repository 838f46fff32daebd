// Engines joining a cluster (troupe-cluster): any start order ends in a full
// mesh, duplicate or self seeds give one peer, and nodes that must not join
// (another cookie, another queue configuration, other heartbeat settings, a
// name already taken) are refused, logged on both sides, and never 'up'.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeTables,
  freePorts,
  logLines,
  memberOf,
  startCluster,
  startNode,
  waitForLog,
  waitForMesh,
  waitForStatus,
} from './lib/cluster.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { sleep } from './lib/util.mjs';

cleanUpAfterAll();

const MESH_MS = 3000;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Stops every node given (nodes, or {name: node} maps), all at once. */
async function stopAll(...given) {
  const nodes = given.flatMap((g) => (!g ? [] : g.engine ? [g] : Object.values(g)));
  await Promise.all(nodes.map((n) => n.stop()));
}

/**
 * Checks the tables of a full mesh: each node lists itself first (self,
 * up, its own address), then exactly the others, once each, up, with the
 * address and incarnation that node gives for itself.
 */
function assertMesh(nodes, tables) {
  const selfRows = tables.map((t) => t[0]);
  nodes.forEach((node, i) => {
    const table = tables[i];
    assert.deepEqual(
      { name: table[0].name, self: table[0].self, status: table[0].status, advertise: table[0].advertise },
      { name: node.name, self: true, status: 'up', advertise: node.address },
      `${node.name} lists itself first`,
    );
    assert.deepEqual(
      table.map((m) => m.name).sort(),
      nodes.map((n) => n.name).sort(),
      `${node.name} lists every node once: ${JSON.stringify(table)}`,
    );
    for (const row of table.slice(1)) {
      const j = nodes.findIndex((n) => n.name === row.name);
      assert.equal(row.self, false);
      assert.equal(row.status, 'up');
      assert.equal(row.advertise, nodes[j].address, `${node.name}'s address of ${row.name}`);
      assert.equal(row.incarnation, selfRows[j].incarnation, `${node.name}'s incarnation of ${row.name}`);
      assert.equal(row.reason, undefined, `no reason on an up member: ${JSON.stringify(row)}`);
    }
  });
}

for (const order of [
  ['a', 'b', 'c'],
  ['c', 'b', 'a'],
]) {
  test(`start order ${order.join(',')}: full mesh within ${MESH_MS} ms of the last start`, { timeout: 30000 }, async () => {
    // b and c seed with a only: c learns of b from a's member table.
    const cluster = await startCluster({ order });
    const t0 = Date.now();
    const nodes = ['a', 'b', 'c'].map((n) => cluster.nodes[n]);
    try {
      const tables = await waitForMesh(nodes, { timeoutMs: MESH_MS });
      console.log(`order ${order}: full mesh ${Date.now() - t0} ms after the last start`);
      assertMesh(nodes, tables);
      for (const node of nodes) {
        assert.match(node.engine.logs(), new RegExp(`\\[cluster\\] node ${node.name} listening on ${esc(node.address)}`));
        for (const other of nodes.filter((n) => n !== node)) {
          const joined = logLines(node, new RegExp(`\\[cluster\\] ${other.name} joined \\(${esc(other.address)}\\)`));
          assert.equal(joined.length, 1, `${node.name} logs "${other.name} joined" once:\n${node.engine.logs()}`);
        }
      }
      if (order[0] !== 'a') {
        // The seed was down at first: the early nodes kept trying.
        for (const n of ['b', 'c'])
          assert.match(cluster.nodes[n].engine.logs(), new RegExp(`cannot join ${esc(cluster.addressOf('a'))} yet: `));
      }
    } finally {
      await stopAll(cluster.nodes);
    }
  });
}

test('a node seeding itself, and a seed listed twice and as localhost, give one peer', { timeout: 30000 }, async () => {
  const cluster = await startCluster({
    names: ['a', 'b'],
    seedsOf: (n, at) =>
      n === 'a'
        ? [at('a'), at('b'), at('b'), at('b').replace('127.0.0.1', 'localhost')]
        : [at('a'), at('b'), at('a')],
    order: ['b', 'a'],
  });
  const nodes = [cluster.nodes.a, cluster.nodes.b];
  try {
    const tables = await waitForMesh(nodes, { timeoutMs: MESH_MS });
    // Time for any redundant dial to land.
    await sleep(600);
    const again = await Promise.all(nodes.map((n) => n.members()));
    assertMesh(nodes, again);
    assert.deepEqual(
      again.map((t) => t.map((m) => m.incarnation)),
      tables.map((t) => t.map((m) => m.incarnation)),
    );
    for (const node of nodes) {
      const other = node.name === 'a' ? 'b' : 'a';
      assert.equal(logLines(node, new RegExp(`\\] ${other} joined`)).length, 1, node.engine.logs());
      assert.doesNotMatch(node.engine.logs(), /refused|cannot join itself|restarted/, `${node.name}:\n${node.engine.logs()}`);
    }
  } finally {
    await stopAll(cluster.nodes);
  }
});

/**
 * Starts `nodes` (a cluster that meshes), then `intruder`; waits for
 * `refuser` to log the refusal of the intruder and the intruder to log
 * being refused, both matching `why`; then checks for a while that the
 * intruder is never 'up' anywhere and nobody is 'up' in its table.
 */
async function assertRefused({ cluster, intruder, refuser, why }) {
  const members = Object.values(cluster.nodes);
  const refusedHere = await waitForLog(
    refuser,
    new RegExp(`\\[cluster\\] refused ${esc(intruder.name)} \\(${esc(intruder.address)}\\): .*${why.source}`),
  );
  const refusedThere = await waitForLog(
    intruder,
    new RegExp(`\\[cluster\\] ${esc(refuser.address)} refused by ${esc(refuser.name)}: .*${why.source}`),
  );
  console.log(`refuser: ${refusedHere}\nintruder: ${refusedThere}`);
  console.log(`tables: ${await describeTables([...members, intruder])}`);
  // Several redials (250 ms, 500 ms, 1 s ...) later, still out.
  const until = Date.now() + 1800;
  let theirs;
  while (Date.now() < until) {
    for (const node of members) {
      const table = await node.members();
      const row = table.slice(1).find((m) => m.incarnation && m.advertise === intruder.address);
      assert.ok(
        !row || row.status !== 'up',
        `${node.name} lists the intruder as up: ${JSON.stringify(table)}`,
      );
      assert.ok(table.slice(1).every((m) => m.status === 'up'), `${node.name}: ${await describeTables(members)}`);
    }
    theirs = await intruder.members();
    assert.deepEqual(
      theirs.filter((m) => m.status === 'up').map((m) => m.name),
      [intruder.name],
      `the intruder sees nobody up: ${JSON.stringify(theirs)}`,
    );
    await sleep(100);
  }
  for (const node of members) {
    assert.doesNotMatch(
      node.engine.logs(),
      new RegExp(`\\] ${esc(intruder.name)} joined \\(${esc(intruder.address)}\\)`),
      `${node.name} never logs the intruder joining`,
    );
  }
  assert.doesNotMatch(intruder.engine.logs(), /\[cluster\] \S+ joined \(/, 'the intruder never logs a join');
  // The intruder keeps redialling (with backoff: the other side may be
  // reconfigured), saying "cannot join" once until the reason changes.
  assert.equal(logLines(intruder, /cannot join .* yet: refused by /).length, 1, intruder.engine.logs());
  // The refuser says it once too, however often the intruder redials.
  assert.equal(logLines(refuser, new RegExp(`refused ${esc(intruder.name)} `)).length, 1, refuser.engine.logs());
  return theirs;
}

/** A node not in `cluster`, seeding with a. */
async function intruderOf(cluster, name, options = {}) {
  const [port] = await freePorts(1);
  return startNode({ ...cluster.options('a'), name, port, seeds: [cluster.addressOf('a')], ...options });
}

test('a node with another cookie is refused, logged on both sides, never up', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ names: ['a', 'b'], cookie: 'orange' });
  let intruder;
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    intruder = await intruderOf(cluster, 'c', { cookie: 'lemon' });
    await assertRefused({ cluster, intruder, refuser: cluster.nodes.a, why: /cookie mismatch/ });
    assert.doesNotMatch(
      cluster.nodes.a.engine.logs() + intruder.engine.logs(),
      /orange|lemon/,
      'the cookie is never logged',
    );
  } finally {
    await stopAll(cluster.nodes, intruder);
  }
});

test('a node with a cookie is refused by one without', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ names: ['a', 'b'] });
  let intruder;
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    intruder = await intruderOf(cluster, 'c', { cookie: 'lemon' });
    await assertRefused({
      cluster,
      intruder,
      refuser: cluster.nodes.a,
      why: /the other node has a cookie, this one none/,
    });
  } finally {
    await stopAll(cluster.nodes, intruder);
  }
});

test('a node with another queue configuration is refused, logged on both sides, never up', { timeout: 30000 }, async () => {
  const queues = {
    default: { type: 'standard', concurrency: 10, max_retries: 3 },
    orders: { type: 'fifo', message_group_field: 'customer', concurrency: 1, max_retries: 3 },
  };
  // Concurrency and retries may differ between nodes; a FIFO/standard split may not.
  const cluster = await startCluster({
    names: ['a', 'b'],
    queues: (n) => (n === 'b' ? { ...queues, default: { ...queues.default, concurrency: 3, max_retries: 7 } } : queues),
  });
  let intruder;
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    intruder = await intruderOf(cluster, 'c', {
      queues: { ...queues, orders: { type: 'standard', concurrency: 1, max_retries: 3 } },
    });
    await assertRefused({ cluster, intruder, refuser: cluster.nodes.a, why: /different queue configuration/ });
  } finally {
    await stopAll(cluster.nodes, intruder);
  }
});

test('a node with other heartbeat settings is refused, logged on both sides, never up', { timeout: 30000 }, async () => {
  const cluster = await startCluster({ names: ['a', 'b'] });
  let intruder;
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    intruder = await intruderOf(cluster, 'c', { heartbeatMs: 250 });
    await assertRefused({
      cluster,
      intruder,
      refuser: cluster.nodes.a,
      why: /different heartbeat settings \(heartbeat_ms\/peer_timeout_ms 200\/1000 here, 250\/1000 there\)/,
    });
  } finally {
    await stopAll(cluster.nodes, intruder);
  }
});

test('a second live node named b is refused; the first b stays up everywhere', { timeout: 30000 }, async () => {
  const cluster = await startCluster();
  let intruder;
  try {
    const before = await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    intruder = await intruderOf(cluster, 'b');
    await assertRefused({ cluster, intruder, refuser: cluster.nodes.a, why: /duplicate name/ });
    assert.match(
      logLines(cluster.nodes.a, /refused b /)[0],
      /duplicate name: a live node named 'b' is already a member/,
    );
    // Nothing changed for the real b: same rows, same incarnations.
    const after = await waitForMesh(cluster.nodes, { timeoutMs: 1000 });
    assert.deepEqual(
      after.map((t) => t.map(({ name, advertise, incarnation, status }) => ({ name, advertise, incarnation, status }))),
      before.map((t) => t.map(({ name, advertise, incarnation, status }) => ({ name, advertise, incarnation, status }))),
    );
    for (const node of Object.values(cluster.nodes))
      assert.doesNotMatch(node.engine.logs(), /restarted \(new incarnation\)|is down/, `${node.name}:\n${node.engine.logs()}`);
  } finally {
    await stopAll(cluster.nodes, intruder);
  }
});

test('a member that comes back with another queue configuration is listed as refused, with the reason', { timeout: 30000 }, async () => {
  const queues = { default: { type: 'standard', concurrency: 10, max_retries: 3 } };
  const cluster = await startCluster({ queues });
  try {
    await waitForMesh(cluster.nodes, { timeoutMs: MESH_MS });
    await cluster.nodes.c.kill9();
    const c = await startNode({
      ...cluster.options('c'),
      queues: { ...queues, orders: { type: 'fifo', message_group_field: 'customer', concurrency: 1, max_retries: 3 } },
    });
    cluster.nodes.c = c;
    const { a, b } = cluster.nodes;
    await waitForLog(a, /\[cluster\] refused c \(.*\): different queue configuration/);
    const row = await waitForStatus(a, 'c', 'refused', { timeoutMs: 3000 });
    assert.match(row.reason, /^different queue configuration/);
    assert.equal(row.advertise, cluster.addressOf('c'));
    // b only redials c, and c refuses it: b does not see c up either.
    await waitForLog(b, new RegExp(`${esc(cluster.addressOf('c'))} refused by c: different queue configuration`));
    const rowOnB = await memberOf(b, 'c');
    console.log(`b lists c as ${JSON.stringify(rowOnB)}`);
    assert.ok(['down', 'refused'].includes(rowOnB.status), JSON.stringify(rowOnB));
    // a and b still see each other.
    await waitForMesh([a, b], { timeoutMs: 1000 });
    const theirs = await c.members();
    assert.deepEqual(theirs.filter((m) => m.status === 'up').map((m) => m.name), ['c'], JSON.stringify(theirs));
  } finally {
    await stopAll(cluster.nodes);
  }
});

// When the node that has the live b dials the impostor itself (here a has
// its address as a seed), the impostor accepts a first and only a's check
// of the answer refuses it: a must leave its row for the live b alone, and
// tell the impostor (hello_refusal), which drops its half-made join.
test(
  'a second b that a dials itself is refused too, and the live b keeps its place',
  { timeout: 30000 },
  async () => {
    const cluster = await startCluster({
      names: ['a', 'b', 'x'],
      order: ['a', 'b'],
      seedsOf: (n, at) => (n === 'a' ? [at('b'), at('x')] : n === 'b' ? [at('a')] : []),
    });
    let intruder;
    try {
      const { a, b } = cluster.nodes;
      const before = await waitForMesh([a, b], { timeoutMs: MESH_MS });
      intruder = await startNode({ ...cluster.options('x'), name: 'b' });
      await waitForLog(a, /\[cluster\] refused b \(.*\): duplicate name/);
      await sleep(1500); // a few redials of the impostor
      console.log(`tables: ${await describeTables([a, b, intruder])}`);
      const row = await memberOf(a, 'b');
      assert.deepEqual(
        { status: row.status, advertise: row.advertise, incarnation: row.incarnation },
        { status: 'up', advertise: cluster.addressOf('b'), incarnation: before[1][0].incarnation },
        'a still lists the live b',
      );
      assert.doesNotMatch(a.engine.logs(), /b restarted \(new incarnation\)/);
      const theirs = await intruder.members();
      assert.deepEqual(theirs.filter((m) => m.status === 'up').map((m) => m.name), ['b'], JSON.stringify(theirs));
    } finally {
      await stopAll(cluster.nodes, intruder);
    }
  },
);
