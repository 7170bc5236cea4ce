// Durability: everything acknowledged with OK true is there after a restart on the same data dir.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay, tempDir } from '../helpers/relay.js';
import { rmSync } from 'node:fs';

test('acknowledged events survive a restart with the same data dir', async () => {
  const dataDir = tempDir();
  const alice = keypair('alice');
  const events = Array.from({ length: 60 }, (_, i) => sign(alice, { kind: 1, content: `n${i}` }));
  let relay = await startTestRelay({ policy: { mode: 'open' } }, { dataDir });
  let c = await TestClient.connect(relay.url);
  const oks = await Promise.all(events.map((e) => c.publish(e)));
  assert.ok(oks.every((r) => r.ok));
  await c.close();
  await relay.close();

  relay = await startTestRelay({ policy: { mode: 'open' } }, { dataDir });
  c = await TestClient.connect(relay.url);
  const { events: got } = await c.req('all', { authors: [alice.pk] });
  assert.deepEqual(new Set(got.map((e) => e.id)), new Set(events.map((e) => e.id)));
  await c.close();
  await relay.close();
  rmSync(dataDir, { recursive: true, force: true });
});
