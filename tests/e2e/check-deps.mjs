// ctest's e2e_deps: fails with a clear message when `npm ci` has not been run
// here, or when the installed SDK is not the pinned one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const want = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8')).dependencies;
const problems = [];
let npmCi = false;
for (const [name, version] of Object.entries(want)) {
  const manifest = path.join(here, 'node_modules', name, 'package.json');
  if (!fs.existsSync(manifest)) {
    problems.push(`${path.join('tests/e2e/node_modules', name)} is missing`);
    npmCi = true;
    continue;
  }
  const got = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
  if (got !== version) {
    problems.push(`${name} is ${got}, package.json pins ${version}`);
    npmCi = true;
  }
}
const bin = process.env.TROUPE_BIN;
if (!bin) problems.push('TROUPE_BIN is not set');
else if (!fs.existsSync(bin)) problems.push(`TROUPE_BIN=${bin} does not exist (build the troupe target first)`);

if (problems.length) {
  console.error(`e2e dependencies not ready:\n  - ${problems.join('\n  - ')}`);
  if (npmCi) console.error(`fix: (cd ${here} && npm ci)`);
  process.exit(1);
}
console.log(`e2e dependencies ok: ${Object.entries(want).map(([n, v]) => `${n}@${v}`).join(', ')}; TROUPE_BIN=${bin}`);
