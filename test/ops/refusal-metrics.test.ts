// Metrics fed by the relay core: refusals by reason (policy code, bad signature) and NIP-77
// session/byte counters move when a client does those things over a real socket.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NegentropyInitiator, NegentropyStorage, buildItems } from '../../src/negentropy/index.js';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('refusals by reason and NIP-77 traffic show in /metrics', async () => {
  const relay = await startTestRelay({ policy: { mode: 'grasp' } });
  const c = await TestClient.connect(relay.url);
  try {
    const unrelated = sign(keypair('alice'), { kind: 1, content: 'not about any repository' });
    assert.equal((await c.publish(unrelated)).ok, false);
    const good = sign(keypair('alice'), { kind: 1, content: 'x' });
    assert.equal((await c.publish({ ...good, content: 'tampered' })).ok, false);

    const init = new NegentropyInitiator(new NegentropyStorage(buildItems([])));
    c.send(['NEG-OPEN', 'n1', {}, init.initiate()]);
    await c.next((m) => m[0] === 'NEG-MSG' && m[1] === 'n1');
    c.send(['NEG-CLOSE', 'n1']);

    // and one stored event, so a write batch is committed
    const mode = await startTestRelay({ policy: { mode: 'open' } });
    const d = await TestClient.connect(mode.url);
    assert.equal((await d.publish(sign(keypair('bob'), { kind: 1, content: 'batch' }))).ok, true);
    const batches = await (await fetch(`http://127.0.0.1:${mode.port}/metrics`)).text();
    await d.close();
    await mode.destroy();
    assert.match(batches, /^grasp_relay_write_batch_seconds_count [1-9]\d*$/m);
    assert.match(batches, /^grasp_relay_write_batch_events_sum [1-9]\d*$/m);

    const text = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
    assert.equal(metricValue(text, 'grasp_relay_events_refused_total', 'reason="unrelated"'), 1);
    assert.equal(metricValue(text, 'grasp_relay_events_refused_total', 'reason="bad-signature"'), 1);
    assert.match(text, /^grasp_relay_nip77_sessions_total 1$/m);
    assert.match(text, /^grasp_relay_nip77_bytes_total\{direction="in"\} [1-9]\d*$/m);
    assert.match(text, /^grasp_relay_nip77_bytes_total\{direction="out"\} [1-9]\d*$/m);
  } finally {
    await c.close();
    await relay.destroy();
  }
});
