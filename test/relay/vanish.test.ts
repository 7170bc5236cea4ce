// NIP-62 request to vanish (issue 11, item 5): a kind 62 naming this relay (or ALL_RELAYS) erases
// every stored event of its author up to its created_at — NIP-09 deletions included, other
// authors untouched — is itself kept, and the erased events are refused when published again.
// Gift wraps (kind 1059) that p-tag the author go too. A request naming only another relay is
// refused. Works in grasp mode too (it only erases).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

const alice = keypair('vanish-alice');
const bob = keypair('vanish-bob');

test('NIP-62: erase the author’s events, keep the request, refuse re-publication', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' } });
  const c = await TestClient.connect(relay.url);
  try {
    const now = Math.floor(Date.now() / 1000);
    const notes = [1, 2, 3].map((i) => sign(alice, { kind: 1, content: `alice ${i}`, created_at: now - 100 + i }));
    const profile = sign(alice, { kind: 0, content: '{}', created_at: now - 50 });
    const deletion = sign(alice, { kind: 5, tags: [['e', 'ab'.repeat(32)]], created_at: now - 40 });
    const bobs = sign(bob, { kind: 1, content: 'bob stays', created_at: now - 30 });
    for (const e of [...notes, profile, deletion, bobs]) assert.equal((await c.publish(e)).ok, true);

    const elsewhere = sign(alice, { kind: 62, tags: [['relay', 'wss://other.example.com']], created_at: now - 20 });
    const refused = await c.publish(elsewhere);
    assert.equal(refused.ok, false);
    assert.match(refused.message, /^invalid: a request to vanish \(NIP-62\) must name this relay/);
    assert.equal((await c.req('still', { authors: [alice.pk] })).events.length, 5);

    const request = sign(alice, { kind: 62, tags: [['relay', relay.url]], content: 'bye', created_at: now - 10 });
    assert.deepEqual(await c.publish(request), { ok: true, message: '' });
    const left = await c.req('after', { authors: [alice.pk] });
    assert.deepEqual(
      left.events.map((e) => e.id),
      [request.id],
    );
    assert.equal((await c.req('bob', { authors: [bob.pk] })).events.length, 1);

    const again = await c.publish(notes[0]!);
    assert.equal(again.ok, false);
    assert.match(again.message, /^blocked:/);
    // newer events from the author are accepted (the request covers up to its created_at)
    assert.equal((await c.publish(sign(alice, { kind: 1, content: 'back', created_at: now }))).ok, true);

    // ALL_RELAYS is honoured too
    const all = sign(alice, { kind: 62, tags: [['relay', 'ALL_RELAYS']], created_at: now + 1 });
    assert.equal((await c.publish(all)).ok, true);
    assert.deepEqual(
      (await c.req('all', { authors: [alice.pk], kinds: [1] })).events,
      [],
    );
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('NIP-62: gift wraps (kind 1059) to the author are erased and refused again', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' } });
  const c = await TestClient.connect(relay.url);
  try {
    const now = Math.floor(Date.now() / 1000);
    const toAlice = sign(bob, { kind: 1059, tags: [['p', alice.pk]], content: 'sealed', created_at: now - 50 });
    const toBob = sign(alice, { kind: 1059, tags: [['p', bob.pk]], content: 'sealed', created_at: now - 50 });
    for (const e of [toAlice, toBob]) assert.equal((await c.publish(e)).ok, true);
    assert.equal((await c.publish(sign(alice, { kind: 62, tags: [['relay', relay.url]], created_at: now - 10 }))).ok, true);
    // toBob is alice's own event: erased as hers; toAlice because it p-tags her
    assert.deepEqual((await c.req('wraps', { kinds: [1059] })).events, []);
    const again = await c.publish(toAlice);
    assert.equal(again.ok, false);
    assert.match(again.message, /^blocked:/);
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('NIP-62 in grasp mode: accepted from any author naming this relay; NIP-11 lists 62', async () => {
  const relay = await startTestRelay();
  const c = await TestClient.connect(relay.url);
  try {
    const r = await c.publish(sign(alice, { kind: 62, tags: [['relay', relay.url]] }));
    assert.deepEqual(r, { ok: true, message: '' });
    const doc = (await (await fetch(`http://127.0.0.1:${relay.port}/`, { headers: { accept: 'application/nostr+json' } })).json()) as { supported_nips: number[] };
    assert.ok(doc.supported_nips.includes(62));
  } finally {
    await c.close();
    await relay.destroy();
  }
});
