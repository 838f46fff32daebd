// What the examples' drivers (run.mjs) share: waiting for a condition, and
// reading the engine's own counters of a queue (engine::queue::stats).

/// Polls `condition` (sync or async) every 50 ms until it is true, or throws
/// after `timeoutMs` naming `what`.
export async function waitUntil(condition, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/// Returns `queueStats(queue)`, which asks the engine (through worker `iii`)
/// for a queue's counters; `example` names the example in the error hint.
export function statsReader(iii, url, example) {
  return (queue) =>
    iii.trigger({ function_id: 'engine::queue::stats', payload: { queue }, timeoutMs: 10000 }).catch((err) => {
      throw new Error(`engine::queue::stats failed (${err.message}); is troupe running at ${url} with examples/${example}/iii-config.yaml?`)
    })
}
