// Trigger registrations at the frame level: the engine answers only a failed
// one, with a triggerregistrationresult carrying an error; a trigger of a type
// nobody provides is parked until a worker provides it, as the iii worker
// protocol does (README: The protocol troupe speaks). trigger-providers.test.mjs
// has the same with SDK workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawConnection } from './lib/raw.mjs';
import { useEngine } from './lib/setup.mjs';

const env = useEngine({});

test('a trigger of a type nobody provides is parked, then sent to its provider', { timeout: 15000 }, async () => {
  const raw = await RawConnection.open(env.url);
  const provider = await RawConnection.open(env.url);
  try {
    await raw.next((m) => m.type === 'workerregistered', 3000, 'workerregistered');
    await raw.send(JSON.stringify({
      type: 'registertrigger', id: 't-parked', trigger_type: 'cron-late', function_id: 'jobs::nightly',
      config: { expression: '0 0 * * *' }, message_type: 'registertrigger',
    }));
    const answer = await raw.next((m) => m.type !== 'workerregistered', 500, 'no answer').catch(() => null);
    assert.equal(answer, null, `no reply to a parked trigger, got ${JSON.stringify(answer)}`);
    await provider.send(JSON.stringify({ type: 'registertriggertype', id: 'cron-late', description: 'cron jobs' }));
    const forwarded = await provider.next((m) => m.type === 'registertrigger', 3000, 'the parked trigger');
    assert.deepEqual(forwarded, {
      type: 'registertrigger', id: 't-parked', trigger_type: 'cron-late', function_id: 'jobs::nightly',
      config: { expression: '0 0 * * *' },
    });
  } finally {
    await raw.close();
    await provider.close();
  }
});

test('a worker that registers a trigger type receives the triggers of that type', { timeout: 15000 }, async () => {
  const provider = await RawConnection.open(env.url);
  const user = await RawConnection.open(env.url);
  try {
    await provider.send(JSON.stringify({ type: 'registertriggertype', id: 'cron', description: 'cron jobs' }));
    // Registration is fire-and-forget: retry until the type is known.
    let forwarded;
    for (let i = 0; i < 20 && !forwarded; i++) {
      await user.send(JSON.stringify({
        type: 'registertrigger', id: `t-${i}`, trigger_type: 'cron', function_id: 'jobs::nightly',
        config: { expression: '0 0 * * *' },
      }));
      forwarded = await provider.next((m) => m.type === 'registertrigger', 250, 'forwarded trigger').catch(() => null);
    }
    assert.ok(forwarded, 'the provider got the registertrigger');
    assert.equal(forwarded.trigger_type, 'cron');
    assert.equal(forwarded.function_id, 'jobs::nightly');
    assert.deepEqual(forwarded.config, { expression: '0 0 * * *' });
  } finally {
    await provider.close();
    await user.close();
  }
});
