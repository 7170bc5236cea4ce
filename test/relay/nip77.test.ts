// NIP-77 served by the relay over a real WebSocket: nostr-tools' reconciler as the client against a
// relay holding 100k events finds exactly the differences; errors come as NEG-ERR with prefixes;
// with NIP-77 off, NEG-OPEN is an unknown message (NOTICE), which is what sync falls back on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/nostr/event.js';
import { NegentropyInitiator, NegentropyStorage, buildItems } from '../../src/negentropy/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestRelay } from '../helpers/relay.js';
import { loadNostrToolsNip77 } from '../negentropy/helpers.js';

const N = 100_000;

function syntheticEvent(i: number): NostrEvent {
  // the store does not verify signatures; sockets are not involved in loading
  return {
    id: randomBytes(32).toString('hex'),
    pubkey: 'a'.repeat(64),
    created_at: 1_700_000_000 + Math.floor(i / 3),
    kind: 1,
    tags: [],
    content: '',
    sig: 'b'.repeat(128),
  };
}

test('a nostr-tools NIP-77 client reconciles against a relay holding 100k events', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' } });
  const c = await TestClient.connect(relay.url);
  try {
    const events = Array.from({ length: N }, (_, i) => syntheticEvent(i));
    for (let i = 0; i < N; i += 5000) await Promise.all(events.slice(i, i + 5000).map((e) => relay.store.insert(e, JSON.stringify(e))));

    const nt = await loadNostrToolsNip77();
    const storage = new nt.NegentropyStorageVector();
    const expectNeed = new Set<string>();
    events.forEach((e, i) => (i % 100 === 0 ? expectNeed.add(e.id) : storage.insert(e.created_at, e.id)));
    const expectHave = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const extra = syntheticEvent(i * 7);
      expectHave.add(extra.id);
      storage.insert(extra.created_at, extra.id);
    }
    storage.seal();
    const neg = new nt.Negentropy(storage); // its default frame limit, 60,000 bytes, as clients use it
    const have = new Set<string>();
    const need = new Set<string>();

    c.send(['NEG-OPEN', 'nt', { kinds: [1] }, neg.initiate()]);
    for (;;) {
      const m = await c.next((x) => (x[0] === 'NEG-MSG' || x[0] === 'NEG-ERR') && x[1] === 'nt');
      assert.equal(m[0], 'NEG-MSG', String(m[2]));
      const next = neg.reconcile(m[2] as string, (id) => have.add(id), (id) => need.add(id));
      if (next === null) break;
      c.send(['NEG-MSG', 'nt', next]);
    }
    c.send(['NEG-CLOSE', 'nt']);
    assert.deepEqual(need, expectNeed);
    assert.deepEqual(have, expectHave);
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('NEG-ERR blocked: over maxItems, closed: for malformed messages and unknown sessions', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' }, negentropy: { maxItems: 10 } });
  const c = await TestClient.connect(relay.url);
  try {
    for (let i = 0; i < 11; i++) {
      const e = syntheticEvent(i);
      await relay.store.insert(e, JSON.stringify(e));
    }
    const init = () => new NegentropyInitiator(new NegentropyStorage(buildItems([]))).initiate();
    c.send(['NEG-OPEN', 'big', {}, init()]);
    assert.match((await c.next((m) => m[0] === 'NEG-ERR' && m[1] === 'big'))[2] as string, /^blocked:/);
    c.send(['NEG-OPEN', 'small', { limit: 5, kinds: [2] }, init()]);
    assert.equal((await c.next((m) => m[1] === 'small'))[0], 'NEG-MSG');
    c.send(['NEG-OPEN', 'bad', { kinds: [2] }, 'zz']);
    assert.match((await c.next((m) => m[0] === 'NEG-ERR' && m[1] === 'bad'))[2] as string, /^closed:/);
    c.send(['NEG-MSG', 'nobody', '61']);
    assert.match((await c.next((m) => m[0] === 'NEG-ERR' && m[1] === 'nobody'))[2] as string, /^closed:/);
    assert.equal(c.received.some((m) => m[0] === 'NOTICE'), false);
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('with NIP-77 off, NEG-OPEN is an unknown message type (NOTICE)', async () => {
  const relay = await startTestRelay({ negentropy: { enabled: false } });
  const c = await TestClient.connect(relay.url);
  try {
    c.send(['NEG-OPEN', 'x', {}, '61']);
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /unknown message type "NEG-OPEN"/);
  } finally {
    await c.close();
    await relay.destroy();
  }
});
