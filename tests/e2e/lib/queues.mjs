// Named queues from a test's point of view: enqueue through the SDK
// (TriggerAction.Enqueue) and the engine's queue functions (stats, DLQ,
// redrive, discard) called with sync triggers.
import assert from 'node:assert/strict';
import { TriggerAction } from 'iii-sdk';
import { eventually } from './util.mjs';

/**
 * Enqueues `payload` for `functionId` on `queue`; resolves with the receipt
 * id (the job's id) after checking the reply's shape.
 */
export async function enqueue(iii, queue, functionId, payload, { timeoutMs = 10000 } = {}) {
  const reply = await iii.trigger({
    function_id: functionId,
    payload,
    action: TriggerAction.Enqueue({ queue }),
    timeoutMs,
  });
  assert.equal(typeof reply?.messageReceiptId, 'string', `enqueue reply ${JSON.stringify(reply)}`);
  return reply.messageReceiptId;
}

const call = (iii, functionId, payload, timeoutMs = 5000) => iii.trigger({ function_id: functionId, payload, timeoutMs });

/** `engine::queue::stats` for one queue. */
export const queueStats = (iii, queue) => call(iii, 'engine::queue::stats', { queue });

/** `engine::queue::dlq_messages`: the queue's dead jobs, newest first. */
export const dlqMessages = (iii, queue, { offset, limit } = {}) =>
  call(iii, 'engine::queue::dlq_messages', { queue, offset, limit });

/** `engine::queue::dlq_topics`: [{topic, broker_type, message_count}] for every queue. */
export const dlqTopics = (iii) => call(iii, 'engine::queue::dlq_topics', {});

/** `iii::queue::redrive`: every dead job of `queue` back to it. */
export const redrive = (iii, queue) => call(iii, 'iii::queue::redrive', { queue });

/** `iii::queue::redrive_message`: one dead job back to its queue. */
export const redriveMessage = (iii, queue, messageId) =>
  call(iii, 'iii::queue::redrive_message', { queue, message_id: messageId });

/** `iii::queue::discard_message`: drops one dead job. */
export const discardMessage = (iii, queue, messageId) =>
  call(iii, 'iii::queue::discard_message', { queue, message_id: messageId });

/**
 * Polls the queue's stats until `check(stats)` does not throw (use asserts
 * in it); resolves with those stats.
 */
export function statsEventually(iii, queue, check, { timeoutMs = 10000, intervalMs = 50, what } = {}) {
  return eventually(
    async () => {
      const stats = await queueStats(iii, queue);
      check(stats);
      return stats;
    },
    { timeoutMs, intervalMs, what: what ?? `stats of queue ${queue}` },
  );
}

/** Polls until the queue has nothing waiting, delayed or in flight. */
export function queueIdle(iii, queue, options = {}) {
  return statsEventually(
    iii,
    queue,
    (s) => {
      assert.equal(s.waiting + s.delayed + s.in_flight, 0, `queue ${queue} busy: ${JSON.stringify(s)}`);
    },
    { what: `queue ${queue} idle`, ...options },
  );
}

/** `engine::queue::job`: the job `id` in any state (`queue` optional). */
export const jobLookup = (iii, id, queue) => call(iii, 'engine::queue::job', { queue, id });

/** `engine::queue::jobs`: one page of `queue`'s jobs in `state`. */
export const jobList = (iii, queue, state, { offset, limit } = {}) =>
  call(iii, 'engine::queue::jobs', { queue, state, offset, limit });

/** `engine::queue::groups`: one page of a FIFO queue's groups. */
export const groupList = (iii, queue, { offset, limit } = {}) =>
  call(iii, 'engine::queue::groups', { queue, offset, limit });

/** `engine::queue::pause` / `engine::queue::resume`. */
export const pauseQueue = (iii, queue) => call(iii, 'engine::queue::pause', { queue });
export const resumeQueue = (iii, queue) => call(iii, 'engine::queue::resume', { queue });

/** `engine::queue::retry_now`: a delayed job runs at once. */
export const retryNow = (iii, queue, id) => call(iii, 'engine::queue::retry_now', { queue, id });
