// Out of file descriptors: the accept loop backs off and logs once in a
// while instead of spinning (one core at 100 % and tens of MB/s of log
// lines before), and serves again as soon as descriptors are free.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { engineConfig, startEngine } from './lib/engine.mjs';
import { cleanUpAfterAll } from './lib/setup.mjs';
import { closeWorker, connectWorker } from './lib/workers.mjs';
import { sleep } from './lib/util.mjs';

cleanUpAfterAll();

/** The process's CPU time (utime + stime) in seconds. */
function cpuSeconds(pid) {
  const fields = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('EMFILE: accept backs off with a few log lines, then serves again', { timeout: 30000 }, async () => {
  const engine = await startEngine({ config: engineConfig() });
  execFileSync('prlimit', ['--pid', String(engine.proc.pid), '--nofile=64:64']);
  const socks = [];
  for (let i = 0; i < 120; i++) {
    const s = net.connect(engine.port, '127.0.0.1');
    s.on('error', () => {});
    socks.push(s);
  }
  await sleep(300);
  const cpu0 = cpuSeconds(engine.proc.pid);
  const lines0 = engine.logs().split('\n').length;
  await sleep(2000);
  const cpu = cpuSeconds(engine.proc.pid) - cpu0;
  const accepts = engine.logs().split('\n').filter((l) => /\[ws\] accept: /.test(l));
  console.log(`2 s out of descriptors: ${cpu.toFixed(2)} s of engine CPU, ${accepts.length} accept warnings, ${engine.logs().split('\n').length - lines0} log lines`);
  assert.ok(accepts.length > 0, 'the exhaustion is logged');
  assert.ok(accepts.length <= 3, `${accepts.length} accept warnings:\n${accepts.slice(0, 5).join('\n')}`);
  assert.match(accepts[0], /Too many open files .*not accepting for \d+ ms at a time/);
  assert.ok(engine.alive());
  for (const s of socks) s.destroy();
  await sleep(100);
  const iii = await connectWorker(engine.url, { name: 'after', functions: { 'fd::ok': async () => ({ ok: true }) } });
  assert.deepEqual(await iii.trigger({ function_id: 'fd::ok', payload: {}, timeoutMs: 5000 }), { ok: true });
  await closeWorker(iii);
});
