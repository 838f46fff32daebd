// The troupe binary's command line: help and version, and configuration
// errors that stop it before any port opens, with exit status 2 and a
// FILE:LINE:COL message.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const bin = path.resolve(process.env.TROUPE_BIN ?? '');

function troupe(args, { cwd } = {}) {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 10000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function configFile(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-cli-'));
  const file = path.join(dir, 'iii-config.yaml');
  fs.writeFileSync(file, text);
  return file;
}

test('--help and --version print to stdout and exit 0', { timeout: 20000 }, () => {
  const help = troupe(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.out, /usage: troupe \[--config PATH\]/);
  const version = troupe(['--version']);
  assert.equal(version.status, 0);
  assert.match(version.out, /^troupe \d+\.\d+\.\d+\n$/);
});

test('an unknown argument exits 2 with a message', { timeout: 20000 }, () => {
  const r = troupe(['--frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.err, /unknown argument '--frobnicate'/);
});

test('a bad config exits 2 with FILE:LINE:COL before opening a port', { timeout: 20000 }, () => {
  const file = configFile(
    'workers:\n  - name: iii-queue\n    config:\n      queue_configs:\n        q: { type: fifo }\n');
  const r = troupe(['--config', file]);
  assert.equal(r.status, 2);
  assert.equal(
    r.err.trim(),
    `troupe: ${file}:5:9: Queue 'q' is of type 'fifo' but 'message_group_field' is not set`);
  assert.doesNotMatch(r.err, /listening/);
});

test('an unset ${VAR} without default is a config error naming it', { timeout: 20000 }, () => {
  const file = configFile(
    'workers:\n  - name: iii-worker-manager\n    config: { port: ${TROUPE_E2E_UNSET_PORT} }\n');
  const r = troupe(['--config', file]);
  assert.equal(r.status, 2);
  assert.match(r.err, /:3:21: environment variable 'TROUPE_E2E_UNSET_PORT' is not set/);
});

test('a missing config file given with --config exits 2', { timeout: 20000 }, () => {
  const r = troupe(['--config', '/nonexistent/iii-config.yaml']);
  assert.equal(r.status, 2);
  assert.match(r.err, /\/nonexistent\/iii-config.yaml: cannot read file/);
});

function fileBasedConfig(dir) {
  return configFile(
    'workers:\n  - name: iii-worker-manager\n    config: { port: 0 }\n' +
    '  - name: iii-queue\n    config:\n      adapter:\n        name: builtin\n' +
    `        config: { store_method: file_based, file_path: "${dir}" }\n`);
}

test('a corrupted store file stops troupe with exit status 3 and names the file', { timeout: 20000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-store-'));
  fs.writeFileSync(path.join(dir, 'troupe-queue.db'), 'this is not a database'.repeat(400));
  const r = troupe(['--config', fileBasedConfig(dir)]);
  assert.equal(r.status, 3, r.err);
  assert.match(r.err, /cannot open the job store/);
  assert.match(r.err, /troupe-queue\.db/);
  assert.doesNotMatch(r.err, /listening/);
});

test('a store directory that cannot be created stops troupe with exit status 3', { timeout: 20000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-store-'));
  fs.writeFileSync(path.join(dir, 'plain'), 'a file, not a directory');
  const r = troupe(['--config', fileBasedConfig(path.join(dir, 'plain', 'store'))]);
  assert.equal(r.status, 3, r.err);
  assert.match(r.err, /cannot create store directory .*Not a directory/);
});
