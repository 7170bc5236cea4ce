// Writer semantics: duplicates, batching, replaceable/addressable heads (races, equal created_at),
// NIP-09 deletions by e and a tags, NIP-40 expiration and purge, meta, close/reopen durability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { InsertResult, Store } from '../../src/store/types.js';
import { keypair, sign } from '../helpers/events.js';
import { collect, fake, hex32, ids, tempStore } from './helpers.js';

const alice = keypair('store-alice');
const bob = keypair('store-bob');
const put = (s: Store, e: NostrEvent): Promise<InsertResult> => s.insert(e, JSON.stringify(e));
const stored = (r: InsertResult): { replaced: string[]; deleted: string[] } => {
  assert.equal(r.status, 'stored', JSON.stringify(r));
  return r as { status: 'stored'; replaced: string[]; deleted: string[] };
};
const rejected = (r: InsertResult, reason: string): void => {
  assert.equal(r.status, 'rejected', JSON.stringify(r));
  assert.equal((r as { reason: string }).reason, reason);
  assert.match((r as { message: string }).message, new RegExp(`^${reason}: `));
};

test('stores raw exactly as received; duplicates are reported', async () => {
  const t = await tempStore();
  try {
    const e = sign(alice, { kind: 1, content: 'hi' });
    const raw = `{"content":"hi","id":"${e.id}", "pubkey":"${e.pubkey}","created_at":${e.created_at},"kind":1,"tags":[],"sig":"${e.sig}"}`;
    stored(await t.store.insert(e, raw));
    assert.deepEqual(await t.store.insert(e, raw), { status: 'duplicate' });
    assert.equal(t.store.get(e.id)?.raw, raw);
    assert.deepEqual(await collect(t.store, [{ ids: [e.id] }]), [raw]);
    // same id twice in one batch
    const f = sign(alice, { kind: 1, content: 'twice' });
    const [a, b] = await Promise.all([put(t.store, f), put(t.store, f)]);
    assert.equal(a.status, 'stored');
    assert.deepEqual(b, { status: 'duplicate' });
    assert.equal(t.store.stats().events, 2);
    assert.ok(t.store.stats().bytes > 0);
  } finally {
    await t.destroy();
  }
});

test('inserts made in one tick and while a commit is in flight all land', async () => {
  const t = await tempStore();
  try {
    const first = Array.from({ length: 300 }, () => fake({ kind: 1 }));
    const p1 = Promise.all(first.map((e) => put(t.store, e)));
    await new Promise((r) => setImmediate(r)); // the first batch is now committing
    const second = Array.from({ length: 300 }, () => fake({ kind: 1 }));
    const p2 = Promise.all(second.map((e) => put(t.store, e)));
    const rs = [...(await p1), ...(await p2)];
    assert.ok(rs.every((r) => r.status === 'stored'));
    assert.equal(t.store.count([{ kinds: [1] }]), 600);
  } finally {
    await t.destroy();
  }
});

test('a batch decided while the previous one commits sees its writes', async () => {
  const t = await tempStore();
  try {
    for (let round = 0; round < 5; round++) {
      const v1 = sign(alice, { kind: 30001, tags: [['d', `r${round}`]], created_at: 100 });
      const note = sign(alice, { kind: 1, content: `n${round}` });
      const filler = Array.from({ length: 2500 }, () => fake({ kind: 1 })); // > one batch
      const first = [...filler, v1, note].map((e) => put(t.store, e));
      await new Promise((r) => setImmediate(r));
      const v2 = sign(alice, { kind: 30001, tags: [['d', `r${round}`]], created_at: 200 });
      const del = sign(alice, { kind: 5, tags: [['e', note.id]] });
      const dup = put(t.store, v1);
      const [r2, rd] = await Promise.all([put(t.store, v2), put(t.store, del)]);
      assert.ok((await Promise.all(first)).every((r) => r.status === 'stored'));
      assert.deepEqual(await dup, { status: 'duplicate' });
      assert.deepEqual(stored(r2).replaced, [v1.id]);
      assert.deepEqual(stored(rd).deleted, [note.id]);
      assert.equal(t.store.getReplaceable(30001, alice.pk, `r${round}`)?.event.id, v2.id);
      assert.equal(t.store.get(note.id), undefined);
      assert.equal(t.store.get(v1.id), undefined);
    }
  } finally {
    await t.destroy();
  }
});

test('replaceable: newest wins, in one batch in either order, and across batches', async () => {
  const t = await tempStore();
  try {
    const old = sign(alice, { kind: 0, content: 'old', created_at: 1000 });
    const mid = sign(alice, { kind: 0, content: 'mid', created_at: 2000 });
    const neu = sign(alice, { kind: 0, content: 'new', created_at: 3000 });
    // older first in the batch: both stored, the second replaces the first
    const [r1, r2] = await Promise.all([put(t.store, old), put(t.store, mid)]);
    stored(r1);
    assert.deepEqual(stored(r2).replaced, [old.id]);
    // newer first in the batch: the older one is rejected
    const older = sign(alice, { kind: 0, content: 'older', created_at: 1500 });
    const [r3, r4] = await Promise.all([put(t.store, neu), put(t.store, older)]);
    assert.deepEqual(stored(r3).replaced, [mid.id]);
    rejected(r4, 'replaced');
    assert.equal(t.store.getReplaceable(0, alice.pk, '')?.event.id, neu.id);
    assert.deepEqual(ids(await collect(t.store, [{ authors: [alice.pk] }])), [neu.id]);
    assert.equal(t.store.get(old.id), undefined);
    assert.equal(t.store.count([{ kinds: [0] }]), 1);
    // a replaceable kind ignores d tags: still one slot
    const withD = sign(alice, { kind: 10002, tags: [['d', 'x']], created_at: 10 });
    const withoutD = sign(alice, { kind: 10002, created_at: 11 });
    stored(await put(t.store, withD));
    assert.deepEqual(stored(await put(t.store, withoutD)).replaced, [withD.id]);
    // other authors have their own slot
    stored(await put(t.store, sign(bob, { kind: 0, created_at: 1 })));
    assert.equal(t.store.count([{ kinds: [0] }]), 2);
  } finally {
    await t.destroy();
  }
});

test('replaceable with equal created_at: the lowest id wins', async () => {
  const t = await tempStore();
  try {
    const pk = hex32();
    const vs = Array.from({ length: 6 }, () => fake({ kind: 3, pubkey: pk, created_at: 5000 }));
    const lowest = [...vs].sort((a, b) => (a.id < b.id ? -1 : 1))[0]!;
    // half in one batch, half across batches
    await Promise.all(vs.slice(0, 3).map((e) => put(t.store, e)));
    for (const e of vs.slice(3)) await put(t.store, e);
    assert.equal(t.store.getReplaceable(3, pk, '')?.event.id, lowest.id);
    assert.deepEqual(ids(await collect(t.store, [{ kinds: [3] }])), [lowest.id]);
    const r = await put(t.store, fake({ kind: 3, pubkey: pk, created_at: 5000, id: 'f'.repeat(64) }));
    rejected(r, 'replaced');
    const z = fake({ kind: 3, pubkey: pk, created_at: 5000, id: '0'.repeat(64) });
    assert.deepEqual(stored(await put(t.store, z)).replaced, [lowest.id]);
  } finally {
    await t.destroy();
  }
});

test('addressable: keyed by d; the loser loses all its index entries', async () => {
  const t = await tempStore();
  try {
    const a1 = sign(alice, { kind: 30617, tags: [['d', 'repo'], ['t', 'v1']], created_at: 100 });
    const a2 = sign(alice, { kind: 30617, tags: [['d', 'repo'], ['t', 'v2']], created_at: 200 });
    const other = sign(alice, { kind: 30617, tags: [['d', 'other']], created_at: 50 });
    const noD = sign(alice, { kind: 30617, created_at: 60 });
    const [r1, r2] = await Promise.all([put(t.store, a2), put(t.store, a1)]);
    stored(r1);
    rejected(r2, 'replaced');
    stored(await put(t.store, other));
    stored(await put(t.store, noD));
    assert.equal(t.store.getReplaceable(30617, alice.pk, 'repo')?.event.id, a2.id);
    assert.equal(t.store.getReplaceable(30617, alice.pk, '')?.event.id, noD.id);
    assert.equal(t.store.count([{ kinds: [30617] }]), 3);
    const a3 = sign(alice, { kind: 30617, tags: [['d', 'repo'], ['t', 'v3']], created_at: 300 });
    assert.deepEqual(stored(await put(t.store, a3)).replaced, [a2.id]);
    assert.deepEqual(await collect(t.store, [{ '#t': ['v2'] }]), []);
    assert.equal(t.store.count([{ '#t': ['v2'] }]), 0);
    assert.equal(t.store.count([{ '#d': ['repo'] }]), 1);
    assert.equal(t.store.hasTagValue('t', 'v2'), false);
    assert.equal(t.store.negentropyItems({ authors: [alice.pk] }, 100) !== 'too-many', true);
    const items = t.store.negentropyItems({ authors: [alice.pk] }, 100);
    assert.notEqual(items, 'too-many');
    if (items !== 'too-many') assert.equal(items.count, 3);
  } finally {
    await t.destroy();
  }
});

test('kind 5 by e tag deletes only the author\'s own events; re-sends are refused', async () => {
  const t = await tempStore();
  try {
    const mine = sign(alice, { kind: 1, content: 'mine' });
    const theirs = sign(bob, { kind: 1, content: 'theirs' });
    const myDeletion = sign(alice, { kind: 5, tags: [] });
    stored(await put(t.store, mine));
    stored(await put(t.store, theirs));
    stored(await put(t.store, myDeletion));
    const del = sign(alice, { kind: 5, tags: [['e', mine.id], ['e', theirs.id], ['e', myDeletion.id]] });
    assert.deepEqual(stored(await put(t.store, del)).deleted, [mine.id]);
    assert.equal(t.store.get(mine.id), undefined);
    assert.equal(t.store.get(theirs.id)?.event.id, theirs.id, 'another author\'s event is untouched');
    assert.equal(t.store.get(myDeletion.id)?.event.id, myDeletion.id, 'a kind 5 does not delete a kind 5');
    assert.equal(t.store.get(del.id)?.event.id, del.id, 'the deletion itself is stored');
    assert.deepEqual(await collect(t.store, [{ kinds: [1] }]), [JSON.stringify(theirs)]);
    assert.equal(t.store.isDeleted(mine), true);
    assert.equal(t.store.isDeleted(theirs), false);
    rejected(await put(t.store, mine), 'deleted');
    // Bob deleting Alice's event has no effect
    const other = sign(alice, { kind: 1, content: 'other' });
    stored(await put(t.store, other));
    assert.deepEqual(stored(await put(t.store, sign(bob, { kind: 5, tags: [['e', other.id]] }))).deleted, []);
    assert.ok(t.store.get(other.id));
    // deletion first, target later in the same batch: the target is refused
    const later = sign(alice, { kind: 1, content: 'later' });
    const pre = sign(alice, { kind: 5, tags: [['e', later.id]] });
    const [d, l] = await Promise.all([put(t.store, pre), put(t.store, later)]);
    stored(d);
    rejected(l, 'deleted');
  } finally {
    await t.destroy();
  }
});

test('kind 5 by a tag deletes versions up to its created_at', async () => {
  const t = await tempStore();
  try {
    const addr = `30617:${alice.pk}:repo`;
    const v1 = sign(alice, { kind: 30617, tags: [['d', 'repo']], created_at: 100 });
    stored(await put(t.store, v1));
    const del = sign(alice, { kind: 5, tags: [['a', addr]], created_at: 150 });
    assert.deepEqual(stored(await put(t.store, del)).deleted, [v1.id]);
    assert.equal(t.store.getReplaceable(30617, alice.pk, 'repo'), undefined);
    const older = sign(alice, { kind: 30617, tags: [['d', 'repo']], created_at: 150 });
    assert.equal(t.store.isDeleted(older), true);
    rejected(await put(t.store, older), 'deleted');
    rejected(await put(t.store, v1), 'deleted');
    const newer = sign(alice, { kind: 30617, tags: [['d', 'repo']], created_at: 151 });
    stored(await put(t.store, newer));
    assert.equal(t.store.getReplaceable(30617, alice.pk, 'repo')?.event.id, newer.id);
    // a deletion older than the head leaves it
    const stale = sign(alice, { kind: 5, tags: [['a', addr]], created_at: 120 });
    assert.deepEqual(stored(await put(t.store, stale)).deleted, []);
    assert.ok(t.store.get(newer.id));
    // Bob cannot delete Alice's address
    assert.deepEqual(stored(await put(t.store, sign(bob, { kind: 5, tags: [['a', addr]], created_at: 999 }))).deleted, []);
    assert.ok(t.store.get(newer.id));
    // replaceable kinds by address (empty d)
    const meta = sign(alice, { kind: 0, created_at: 10 });
    stored(await put(t.store, meta));
    const delMeta = sign(alice, { kind: 5, tags: [['a', `0:${alice.pk}:`]], created_at: 11 });
    assert.deepEqual(stored(await put(t.store, delMeta)).deleted, [meta.id]);
  } finally {
    await t.destroy();
  }
});

test('addresses with long d values (hashed in keys) and d values containing colons', async () => {
  const t = await tempStore();
  try {
    const longD = 'd'.repeat(2000);
    const otherLongD = 'd'.repeat(1999) + 'e';
    const a = sign(alice, { kind: 30023, tags: [['d', longD]], created_at: 10 });
    const b = sign(alice, { kind: 30023, tags: [['d', otherLongD]], created_at: 11 });
    const a2 = sign(alice, { kind: 30023, tags: [['d', longD]], created_at: 12 });
    stored(await put(t.store, a));
    stored(await put(t.store, b));
    assert.deepEqual(stored(await put(t.store, a2)).replaced, [a.id]);
    assert.equal(t.store.getReplaceable(30023, alice.pk, longD)?.event.id, a2.id);
    assert.equal(t.store.getReplaceable(30023, alice.pk, otherLongD)?.event.id, b.id);
    assert.deepEqual(ids(await collect(t.store, [{ '#d': [longD] }])), [a2.id]);
    const colon = sign(alice, { kind: 30617, tags: [['d', 'a:b:c']], created_at: 5 });
    stored(await put(t.store, colon));
    const del = sign(alice, { kind: 5, tags: [['a', `30617:${alice.pk}:a:b:c`]], created_at: 6 });
    assert.deepEqual(stored(await put(t.store, del)).deleted, [colon.id]);
    const delLong = sign(alice, { kind: 5, tags: [['a', `30023:${alice.pk}:${longD}`]], created_at: 20 });
    assert.deepEqual(stored(await put(t.store, delLong)).deleted, [a2.id]);
    assert.ok(t.store.get(b.id));
  } finally {
    await t.destroy();
  }
});

test('expiration: refused when already expired, never served once expired, purged', async () => {
  const t = await tempStore();
  try {
    const now = t.clock.seconds;
    rejected(await put(t.store, sign(alice, { kind: 1, tags: [['expiration', String(now - 1)]] })), 'expired');
    const soon = sign(alice, { kind: 1, tags: [['expiration', String(now + 10)], ['t', 'x']], created_at: now });
    const later = sign(alice, { kind: 1, tags: [['expiration', String(now + 1000)], ['t', 'x']], created_at: now });
    const never = sign(alice, { kind: 1, tags: [['t', 'x']], created_at: now - 5 });
    for (const e of [soon, later, never]) stored(await put(t.store, e));
    assert.equal(t.store.count([{ '#t': ['x'] }]), 3);
    t.clock.ms += 10_000; // soon has expired (expiration ≤ now)
    assert.equal(t.store.get(soon.id), undefined);
    assert.equal(t.store.has(soon.id), false);
    assert.deepEqual(ids(await collect(t.store, [{ '#t': ['x'] }])).sort(), [later.id, never.id].sort());
    assert.deepEqual(ids(await collect(t.store, [{ ids: [soon.id] }])), []);
    assert.equal(t.store.count([{ '#t': ['x'] }]), 2);
    assert.equal(t.store.count([{ kinds: [1] }]), 2);
    assert.equal(t.store.querySync({ authors: [alice.pk] }, 10).length, 2);
    const items = t.store.negentropyItems({ kinds: [1] }, 10);
    assert.ok(items !== 'too-many' && items.count === 2);
    assert.equal(await t.store.purgeExpired(t.clock.seconds), 1);
    assert.equal(t.store.stats().events, 2);
    assert.equal(await t.store.purgeExpired(t.clock.seconds), 0);
    t.clock.ms += 2_000_000;
    assert.equal(await t.store.purgeExpired(t.clock.seconds), 1);
    assert.deepEqual(ids(await collect(t.store, [{}])), [never.id]);
  } finally {
    await t.destroy();
  }
});

test('an expired replaceable head does not block an older version', async () => {
  const t = await tempStore();
  try {
    const now = t.clock.seconds;
    const head = sign(alice, { kind: 10002, tags: [['expiration', String(now + 5)]], created_at: now });
    const older = sign(alice, { kind: 10002, created_at: now - 100 });
    stored(await put(t.store, head));
    rejected(await put(t.store, older), 'replaced');
    t.clock.ms += 10_000;
    assert.equal(t.store.getReplaceable(10002, alice.pk, ''), undefined);
    assert.deepEqual(stored(await put(t.store, older)).replaced, [head.id]);
    assert.equal(t.store.getReplaceable(10002, alice.pk, '')?.event.id, older.id);
  } finally {
    await t.destroy();
  }
});

test('purge removes many expired events in chunks', async () => {
  const t = await tempStore();
  try {
    const now = t.clock.seconds;
    const evs = Array.from({ length: 4500 }, (_, i) =>
      fake({ kind: 1, tags: [['expiration', String(now + 1 + (i % 5))]] }),
    );
    await Promise.all(evs.map((e) => put(t.store, e)));
    assert.equal(t.store.count([{ kinds: [1] }]), 4500);
    t.clock.ms += 60_000;
    assert.equal(t.store.count([{ kinds: [1] }]), 0);
    assert.equal(await t.store.purgeExpired(t.clock.seconds), 4500);
    assert.equal(t.store.stats().events, 0);
  } finally {
    await t.destroy();
  }
});

test('meta values and acknowledged events survive close and reopen', async () => {
  const t = await tempStore();
  try {
    const evs = Array.from({ length: 50 }, (_, i) => sign(alice, { kind: 1, content: String(i) }));
    const head = sign(alice, { kind: 30000, tags: [['d', 'x']], created_at: 7 });
    const del = sign(alice, { kind: 5, tags: [['e', evs[0]!.id]] });
    await Promise.all([...evs, head].map((e) => put(t.store, e)));
    await put(t.store, del);
    await t.store.putMeta('sync:state', { cursor: 42, peers: ['a'] });
    const s = await t.reopen();
    assert.deepEqual(s.getMeta('sync:state'), { cursor: 42, peers: ['a'] });
    assert.equal(s.getMeta('missing'), undefined);
    assert.equal(s.count([{ kinds: [1] }]), 49);
    assert.equal(s.stats().events, 51);
    assert.equal(s.getReplaceable(30000, alice.pk, 'x')?.event.id, head.id);
    rejected(await put(s, evs[0]!), 'deleted');
    assert.equal((await put(s, evs[1]!)).status, 'duplicate');
  } finally {
    await t.destroy();
  }
});

test('close waits for pending writes', async () => {
  const t = await tempStore();
  try {
    const evs = Array.from({ length: 100 }, () => fake({ kind: 1 }));
    const pending = evs.map((e) => put(t.store, e));
    const s = await t.reopen();
    assert.ok((await Promise.all(pending)).every((r) => r.status === 'stored'));
    assert.equal(s.count([{ kinds: [1] }]), 100);
  } finally {
    await t.destroy();
  }
});
