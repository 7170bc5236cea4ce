// Kind semantics end to end: replaceable and addressable (incl. two versions in one batch),
// ephemeral, NIP-09 deletion and re-send, NIP-40 expiration, NIP-45 COUNT.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemClock, type Clock } from '../../src/clock.js';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const alice = keypair('alice');
const bob = keypair('bob');
const now = () => Math.floor(Date.now() / 1000);

describe('kinds, deletion, expiration, count', () => {
  let relay: TestRelay;
  let c: TestClient;
  let offsetMs = 0;
  const clock: Clock = { now: () => Date.now() + offsetMs, setTimeout: systemClock.setTimeout };
  before(async () => {
    relay = await startTestRelay({ policy: { mode: 'open' } }, { clock });
    c = await TestClient.connect(relay.url);
  });
  after(async () => {
    await c.close();
    await relay.destroy();
  });

  test('replaceable: newest wins, an older one is refused, equal created_at keeps the lowest id', async () => {
    const t = now() - 1000;
    const v1 = sign(alice, { kind: 0, content: 'v1', created_at: t });
    const v2 = sign(alice, { kind: 0, content: 'v2', created_at: t + 10 });
    assert.equal((await c.publish(v1)).ok, true);
    assert.equal((await c.publish(v2)).ok, true);
    const old = await c.publish(sign(alice, { kind: 0, content: 'old', created_at: t + 5 }));
    assert.equal(old.ok, false);
    assert.match(old.message, /newer version/);
    const { events } = await c.req('r', { kinds: [0], authors: [alice.pk] });
    assert.deepEqual(events.map((e) => e.content), ['v2']);

    const a = sign(bob, { kind: 10002, content: 'a', created_at: t });
    const b = sign(bob, { kind: 10002, content: 'b', created_at: t });
    const [low, high] = a.id < b.id ? [a, b] : [b, a];
    assert.equal((await c.publish(high)).ok, true);
    assert.equal((await c.publish(low)).ok, true);
    const { events: heads } = await c.req('r2', { kinds: [10002], authors: [bob.pk] });
    assert.deepEqual(heads.map((e) => e.id), [low.id]);
  });

  test('two versions in one batch: the newer survives whatever the order', async () => {
    const t = now() - 500;
    const older = sign(alice, { kind: 30000, tags: [['d', 'race']], content: 'older', created_at: t });
    const newer = sign(alice, { kind: 30000, tags: [['d', 'race']], content: 'newer', created_at: t + 1 });
    const [r1, r2] = await Promise.all([c.publish(newer), c.publish(older)]);
    assert.equal(r1.ok, true);
    assert.equal(r2.ok, false);
    const other = sign(alice, { kind: 30000, tags: [['d', 'other']], content: 'other d', created_at: t });
    assert.equal((await c.publish(other)).ok, true);
    const { events } = await c.req('a', { kinds: [30000], authors: [alice.pk] });
    assert.deepEqual(events.map((e) => e.content).sort(), ['newer', 'other d']);
    assert.equal(await c.count('ac', { kinds: [30000], authors: [alice.pk], '#d': ['race'] }), 1);
  });

  test('ephemeral events reach live subscribers and are never stored', async () => {
    const listener = await TestClient.connect(relay.url);
    await listener.req('eph', { kinds: [20001] });
    const e = sign(alice, { kind: 20001, content: 'ping' });
    assert.equal((await c.publish(e)).ok, true);
    const m = await listener.next((x) => x[0] === 'EVENT' && x[1] === 'eph');
    assert.equal((m[2] as { id: string }).id, e.id);
    assert.equal((await c.req('eph2', { ids: [e.id] })).events.length, 0);
    await listener.close();
  });

  test('NIP-09: a deletion removes the author’s events, not others’, and the deleted id stays refused', async () => {
    const mine = sign(alice, { kind: 1, content: 'to delete' });
    const theirs = sign(bob, { kind: 1, content: 'not alice’s' });
    const addr = sign(alice, { kind: 30023, tags: [['d', 'post']], content: 'article', created_at: now() - 100 });
    for (const e of [mine, theirs, addr]) assert.equal((await c.publish(e)).ok, true);
    const del = sign(alice, {
      kind: 5,
      tags: [['e', mine.id], ['e', theirs.id], ['a', `30023:${alice.pk}:post`]],
      created_at: now() - 50,
    });
    assert.equal((await c.publish(del)).ok, true);
    const ids = (await c.req('d', { ids: [mine.id, theirs.id, addr.id, del.id] })).events.map((e) => e.id).sort();
    assert.deepEqual(ids, [theirs.id, del.id].sort());
    const resend = await c.publish(mine);
    assert.equal(resend.ok, false);
    assert.match(resend.message, /^blocked: .*deleted/);
    const oldVersion = await c.publish(sign(alice, { kind: 30023, tags: [['d', 'post']], content: 'older', created_at: now() - 60 }));
    assert.equal(oldVersion.ok, false);
    const newVersion = await c.publish(sign(alice, { kind: 30023, tags: [['d', 'post']], content: 'after', created_at: now() - 10 }));
    assert.equal(newVersion.ok, true);
  });

  test('NIP-40: expired on arrival is refused; expired later is never served', async () => {
    const dead = sign(alice, { kind: 1, tags: [['expiration', String(now() - 1)]] });
    const r = await c.publish(dead);
    assert.equal(r.ok, false);
    assert.match(r.message, /^invalid: .*expired/);
    const soon = sign(alice, { kind: 1, content: 'soon gone', tags: [['expiration', String(now() + 30)]] });
    assert.equal((await c.publish(soon)).ok, true);
    assert.equal((await c.req('x1', { ids: [soon.id] })).events.length, 1);
    offsetMs = 60_000;
    try {
      assert.equal((await c.req('x2', { ids: [soon.id] })).events.length, 0);
      assert.equal(await c.count('x3', { ids: [soon.id] }), 0);
      assert.ok((await relay.store.purgeExpired(Math.floor(clock.now() / 1000))) >= 1);
    } finally {
      offsetMs = 0;
    }
    assert.equal((await c.req('x4', { ids: [soon.id] })).events.length, 0);
  });

  test('COUNT counts distinct matches across filters', async () => {
    const carol = keypair('carol-count');
    for (let i = 0; i < 7; i++) await c.publish(sign(carol, { kind: 1111, tags: [['t', i % 2 ? 'odd' : 'even']] }));
    assert.equal(await c.count('c1', { authors: [carol.pk] }), 7);
    assert.equal(await c.count('c2', { authors: [carol.pk], '#t': ['odd'] }), 3);
    assert.equal(await c.count('c3', { authors: [carol.pk], '#t': ['odd'] }, { authors: [carol.pk], kinds: [1111] }), 7);
    assert.equal(await c.count('c4', { kinds: [1111], authors: [carol.pk], since: 0, until: 1 }), 0);
  });
});
