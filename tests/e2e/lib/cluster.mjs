// Several troupe engines joined into a cluster on 127.0.0.1 (troupe-cluster
// in each one's `workers`), and ways to watch their member tables: the
// engine function engine::cluster::members, called through one SDK worker
// per node, and the nodes' `[cluster] ...` log lines.
import net from 'node:net';
import { engineConfig, startEngine } from './engine.mjs';
import { closeWorker, connectWorker } from './workers.mjs';
import { sleep } from './util.mjs';

export const MEMBERS_FUNCTION = 'engine::cluster::members';

/**
 * `n` distinct ports free on 127.0.0.1 right now: picked at random, all
 * bound at once (so none is handed out twice), then released. Seeds need
 * their ports before any node starts.
 */
export async function freePorts(n) {
  // Below Linux's ephemeral range (32768-60999): a port released here must
  // not be taken as the local port of some client socket before the engine
  // binds it.
  const LOW = 20000;
  const HIGH = 32000;
  const servers = [];
  try {
    while (servers.length < n) {
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
      if (servers.some((s) => s.address().port === port)) continue;
      const server = net.createServer();
      const ok = await new Promise((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/**
 * The troupe-cluster worker entry: `{name, host, port, seeds, heartbeat_ms,
 * peer_timeout_ms}`, plus `cookie` when set and whatever `extra` holds
 * (`advertise`, or a field to override).
 */
export function clusterEntry({ name, port, seeds = [], heartbeatMs = 200, peerTimeoutMs = 1000, cookie, extra = {} }) {
  const config = { host: '127.0.0.1', port, seeds, heartbeat_ms: heartbeatMs, peer_timeout_ms: peerTimeoutMs };
  if (name !== undefined) config.name = name;
  if (cookie !== undefined) config.cookie = cookie;
  return { name: 'troupe-cluster', config: { ...config, ...extra } };
}

/**
 * Starts one node: engineConfig(engineOptions) with the troupe-cluster
 * entry added. Resolves once the engine listens for workers (the cluster
 * listener opens before that) with {name, engine, url, httpUrl (null
 * without `http` in engineOptions), clusterPort, address: '127.0.0.1:PORT',
 * members(), stop(signal), kill9()}.
 */
export async function startNode({ name, port, seeds, heartbeatMs, peerTimeoutMs, cookie, extra, ...engineOptions }) {
  const config = engineConfig(engineOptions);
  config.workers.push(clusterEntry({ name, port, seeds, heartbeatMs, peerTimeoutMs, cookie, extra }));
  const engine = await startEngine({ config });
  let worker; // connected on first use
  const node = {
    name,
    engine,
    url: engine.url,
    httpUrl: engine.httpUrl,
    clusterPort: port,
    address: `127.0.0.1:${port}`,
    /** This node's member table (engine::cluster::members), itself first. */
    async members({ timeoutMs = 2000 } = {}) {
      worker ??= connectWorker(engine.url, { name: `members-${name}` });
      const iii = await worker;
      return iii.trigger({ function_id: MEMBERS_FUNCTION, payload: {}, timeoutMs });
    },
    /** Closes the SDK worker members() uses (before the engine goes away). */
    async closeWorker() {
      const w = worker;
      worker = undefined;
      if (w) await closeWorker(await w).catch(() => {});
    },
    async stop(signal = 'SIGTERM') {
      await node.closeWorker();
      return engine.stop(signal);
    },
    async kill9() {
      const code = await engine.kill9();
      await node.closeWorker();
      return code;
    },
  };
  return node;
}

/** `value(name)` when `value` is a function, else `value`. */
const perNode = (value, name) => (typeof value === 'function' ? value(name) : value);

/**
 * Starts a cluster on fixed free ports. Options:
 *  - `names` (['a','b','c']), started in `order` (default: `names`), one
 *    after the other (each waits for the previous one's listening line, not
 *    for it to join);
 *  - `seedsOf(name, addressOf)` -> the node's seeds (default: every node
 *    seeds with the first name's address, the first one with none);
 *  - `queues`, `storePath`, `cookie`, `http` (engineConfig's, for iii-http
 *    on a free port): a value for every node or a function of the name; `extra` ({name: {...}}, or a function of the name):
 *    troupe-cluster fields added or overridden for that node;
 *  - `heartbeatMs` (200), `peerTimeoutMs` (1000).
 * Resolves with {nodes: {name: node}, ports: {name: port}, addressOf(name),
 * options, restart(name)}: restart starts a stopped node again with the same
 * name, ports and settings, replacing nodes[name].
 */
export async function startCluster({
  names = ['a', 'b', 'c'],
  order = names,
  seedsOf,
  queues,
  storePath,
  cookie,
  http,
  extra = {},
  heartbeatMs = 200,
  peerTimeoutMs = 1000,
} = {}) {
  const list = await freePorts(names.length);
  const ports = Object.fromEntries(names.map((n, i) => [n, list[i]]));
  const addressOf = (n) => `127.0.0.1:${ports[n]}`;
  const seeds = seedsOf ?? ((n) => (n === names[0] ? [] : [addressOf(names[0])]));
  const optionsOf = (n) => ({
    name: n,
    port: ports[n],
    seeds: seeds(n, addressOf),
    heartbeatMs,
    peerTimeoutMs,
    cookie: perNode(cookie, n),
    extra: (typeof extra === 'function' ? extra(n) : extra[n]) ?? {},
    queues: perNode(queues, n),
    storePath: perNode(storePath, n),
    http: perNode(http, n),
  });
  const cluster = {
    nodes: {},
    ports,
    addressOf,
    options: optionsOf,
    async start(n) {
      cluster.nodes[n] = await startNode(optionsOf(n));
      return cluster.nodes[n];
    },
    restart(n) {
      return cluster.start(n);
    },
  };
  for (const n of order) await cluster.start(n);
  return cluster;
}

/** `name`'s row in `node`'s member table, or undefined. */
export async function memberOf(node, name) {
  return (await node.members()).find((m) => m.name === name);
}

/**
 * Polls `check()` (every `intervalMs`) until it returns a truthy value,
 * which it resolves with; after `timeoutMs` it throws `describe()`'s text.
 */
async function poll(check, { timeoutMs, intervalMs = 25, describe }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last;
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = await describe().catch((err) => `(${err.message})`);
      throw new Error(`${why}${last ? ` (last error: ${last.message})` : ''} after ${timeoutMs} ms`);
    }
    await sleep(intervalMs);
  }
}

/** Every node's table as 'name: other=status ...', for failure messages. */
export async function describeTables(nodes) {
  const rows = await Promise.all(
    nodes.map(async (n) => {
      try {
        const table = await n.members({ timeoutMs: 1000 });
        return `${n.name}: ${table.map((m) => `${m.name}=${m.self ? 'self' : m.status}${m.reason ? ` (${m.reason})` : ''}`).join(' ')}`;
      } catch (err) {
        return `${n.name}: (members failed: ${err.message})`;
      }
    }),
  );
  return rows.join('; ');
}

/**
 * Resolves once every node in `nodes` (an array or {name: node}) lists
 * itself first and every other one as 'up', with the tables; the time it
 * took is in `.ms`.
 */
export async function waitForMesh(nodes, { timeoutMs = 5000 } = {}) {
  const all = Array.isArray(nodes) ? nodes : Object.values(nodes);
  const t0 = Date.now();
  const tables = await poll(
    async () => {
      const got = await Promise.all(all.map((n) => n.members({ timeoutMs: 1000 })));
      const ok = got.every(
        (table, i) =>
          table[0]?.self === true &&
          table[0].name === all[i].name &&
          all.every((other) => other === all[i] || table.some((m) => m.name === other.name && m.status === 'up')),
      );
      return ok && got;
    },
    { timeoutMs, describe: async () => `no full mesh of ${all.map((n) => n.name)}: ${await describeTables(all)}` },
  );
  return Object.assign(tables, { ms: Date.now() - t0 });
}

/**
 * Resolves with `other`'s row in `node`'s table once its status is
 * `status` (or one of them, given an array).
 */
export async function waitForStatus(node, other, status, { timeoutMs = 5000, intervalMs = 25 } = {}) {
  const wanted = [status].flat();
  return poll(
    async () => {
      const row = await memberOf(node, other);
      return row && wanted.includes(row.status) && row;
    },
    {
      timeoutMs,
      intervalMs,
      describe: async () =>
        `${node.name} does not list ${other} as ${wanted.join('/')}: ${JSON.stringify(await memberOf(node, other))}`,
    },
  );
}

/**
 * Resolves with the first line of `engine`'s output (an engine, or a node)
 * matching `regex` once it is there (also when it was logged before).
 */
export async function waitForLog(engine, regex, { timeoutMs = 5000 } = {}) {
  const e = engine.engine ?? engine;
  return poll(() => e.logs().split('\n').find((line) => regex.test(line)), {
    timeoutMs,
    intervalMs: 20,
    describe: async () => `no line matching ${regex} in the log:\n${e.logs()}`,
  });
}

/** The lines of `engine`'s output matching `regex`. */
export function logLines(engine, regex) {
  const e = engine.engine ?? engine;
  return e
    .logs()
    .split('\n')
    .filter((line) => regex.test(line));
}

/** The time (ms since the epoch) at the start of a log line, or NaN. */
export function logTime(line) {
  return Date.parse(line.split(' ', 1)[0]);
}
