// One engine per test file: `const env = useEngine(configOptions, setup)` at
// the top of a file starts it before the first test (env.engine, env.url,
// env.httpUrl with `http` in the options), then runs `setup(env)` (for the
// file's shared workers) and, after the last test, shuts down every worker
// and stops every engine the file started.
//
// Node 20 runs several root-level before() hooks concurrently, so a file must
// not add its own before(): put that work in `setup` instead.
import { after, before } from 'node:test';
import { engineConfig, startEngine, stopAllEngines } from './engine.mjs';
import { closeAllWorkers } from './workers.mjs';

export function useEngine(configOptions = {}, setup = async () => {}) {
  const env = { engine: null, url: null, httpUrl: null };
  before(async () => {
    env.engine = await startEngine({ config: engineConfig(configOptions) });
    env.url = env.engine.url;
    env.httpUrl = env.engine.httpUrl;
    await setup(env);
  });
  cleanUpAfterAll();
  return env;
}

/** Ends every worker and engine of the file (for files that manage engines themselves). */
export function cleanUpAfterAll() {
  after(async () => {
    await closeAllWorkers();
    await stopAllEngines();
  });
}
