// Purgatory sub-databases (git.md §2.4) on a real LMDB in a temp dir: entries by id and d, address
// replacement, expiry bookkeeping, refs/nostr placeholders, counts, restart persistence, invisibility
// to REQ/COUNT/NIP-77 lookups of the store, and the sweep with an injected clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sweepPurgatory, heldForSync, purgatoryDs } from '../../src/store/purgatory.js';
import { fake, hex32, tempStore, ManualClock } from './helpers.js';

const raw = (e: object): string => JSON.stringify(e);

test('purgatory: add, get, forD, getAddress, replacement of an older address version, remove', async () => {
  const t = await tempStore(new ManualClock(1_000_000));
  try {
    const p = t.store.purgatory;
    const owner = hex32();
    const ann1 = fake({ kind: 30617, pubkey: owner, created_at: 100, tags: [['d', 'repo']] });
    const ann2 = fake({ kind: 30617, pubkey: owner, created_at: 200, tags: [['d', 'repo']] });
    const state = fake({ kind: 30618, pubkey: owner, created_at: 150, tags: [['d', 'repo'], ['refs/heads/main', 'a'.repeat(40)]] });
    const pr = fake({ kind: 1618, created_at: 160, tags: [['a', `30617:${owner}:repo`], ['a', `30617:${hex32()}:other`], ['a', `30618:${owner}:x`]] });
    const other = fake({ kind: 30617, created_at: 100, tags: [['d', 'elsewhere']] });

    await p.add(ann1, raw(ann1), 'client', 5_000_000);
    t.clock.ms += 1;
    await p.add(state, raw(state), 'sync', 5_000_000);
    t.clock.ms += 1;
    await p.add(pr, raw(pr), 'client', 5_000_000);
    await p.add(other, raw(other), 'client', 5_000_000);

    assert.deepEqual(purgatoryDs(pr), ['repo', 'other']);
    const e = p.get(state.id)!;
    assert.equal(e.origin, 'sync');
    assert.equal(e.raw, raw(state));
    assert.deepEqual(e.event, state);
    assert.deepEqual(e.d, ['repo']);
    assert.equal(e.addedAt, 1_000_001);
    assert.equal(e.expiresAt, 5_000_000);
    assert.equal(e.dormant, false);
    assert.ok(p.has(ann1.id) && p.holds(ann1.id));
    assert.ok(!p.has(hex32()) && !p.has('nothex'));
    assert.deepEqual(p.forD('repo').map((x) => x.id), [ann1.id, state.id, pr.id], 'oldest first');
    assert.deepEqual(p.forD('other').map((x) => x.id), [pr.id]);
    assert.deepEqual(p.forD('x'), [], 'only 30617 a tags give a PR its d');
    assert.equal(p.getAddress(30617, owner, 'repo')?.id, ann1.id);

    // a newer version replaces the older one; an older one arriving later is not added
    await p.add(ann2, raw(ann2), 'client', 6_000_000);
    assert.ok(!p.has(ann1.id));
    assert.equal(p.getAddress(30617, owner, 'repo')?.id, ann2.id);
    await p.add(ann1, raw(ann1), 'client', 6_000_000);
    assert.ok(!p.has(ann1.id), 'an older version does not displace a newer one');
    assert.deepEqual(p.forD('repo').map((x) => x.id).sort(), [ann2.id, state.id, pr.id].sort());

    // the store itself never sees purgatory events (REQ, COUNT, NIP-77 all read it)
    assert.equal(t.store.get(ann2.id), undefined);
    assert.equal(t.store.getReplaceable(30617, owner, 'repo'), undefined);
    assert.deepEqual(t.store.querySync({ kinds: [30617, 30618, 1618] }, 100), []);
    assert.equal(t.store.count([{ '#d': ['repo'] }]), 0);
    const items = t.store.negentropyItems({}, 100);
    assert.ok(items !== 'too-many' && items.count === 0);

    await p.remove(pr.id);
    assert.ok(!p.has(pr.id));
    assert.deepEqual(p.forD('other'), [], 'd index entries go with the entry');
    assert.deepEqual(p.counts(), { byKind: { '30617': 2, '30618': 1 }, dormant: 0, expired: 0, nostrRefs: 0 });
  } finally {
    await t.destroy();
  }
});

test('purgatory: extend, due, expire, expiredAt, forgetExpired, holds', async () => {
  const t = await tempStore(new ManualClock(0));
  try {
    const p = t.store.purgatory;
    const a = fake({ kind: 30618, tags: [['d', 'r']] });
    const b = fake({ kind: 1619, tags: [['a', `30617:${hex32()}:r`]] });
    await p.add(a, raw(a), 'client', 100);
    await p.add(b, raw(b), 'client', 200);
    assert.deepEqual(p.due(99), []);
    assert.deepEqual(p.due(100).map((e) => e.id), [a.id]);
    await p.extend(a.id, 300, true);
    assert.equal(p.get(a.id)?.expiresAt, 300);
    assert.equal(p.get(a.id)?.dormant, true);
    assert.deepEqual(p.due(250).map((e) => e.id), [b.id]);
    await p.extend(hex32(), 1); // unknown id: nothing happens

    await p.expire(b.id, 250);
    assert.ok(!p.has(b.id));
    assert.deepEqual(p.forD('r').map((e) => e.id), [a.id]);
    assert.equal(p.expiredAt(b.id), 250);
    assert.ok(p.holds(b.id), 'expired ids are held for sync de-duplication');
    assert.ok(heldForSync(p, b.id, 250 + 999, 1000));
    assert.ok(!heldForSync(p, b.id, 250 + 1000, 1000), 'after the retry window sync may bring it back');
    assert.ok(heldForSync(p, a.id, 1e12, 0), 'an entry is always held');
    assert.deepEqual(p.counts(), { byKind: {}, dormant: 1, expired: 1, nostrRefs: 0 });
    await p.forgetExpired(b.id);
    assert.equal(p.expiredAt(b.id), undefined);
    assert.ok(!p.holds(b.id));
  } finally {
    await t.destroy();
  }
});

test('purgatory: refs/nostr placeholders by repo, due after a ttl', async () => {
  const t = await tempStore();
  try {
    const p = t.store.purgatory;
    const [i1, i2, i3] = [hex32(), hex32(), hex32()];
    await p.putNostrRef({ repoKey: 'npub1x/repo', id: i1, tip: 'a'.repeat(40), pushedAt: 1000 });
    await p.putNostrRef({ repoKey: 'npub1x/repo', id: i2, tip: 'b'.repeat(40), pushedAt: 5000 });
    await p.putNostrRef({ repoKey: 'npub1x/repo2', id: i3, tip: 'c'.repeat(40), pushedAt: 1000 });
    await p.putNostrRef({ repoKey: 'npub1x/repo\0x', id: i3, tip: 'd'.repeat(40), pushedAt: 1000 });
    assert.deepEqual(p.getNostrRef('npub1x/repo', i1), { repoKey: 'npub1x/repo', id: i1, tip: 'a'.repeat(40), pushedAt: 1000 });
    assert.deepEqual(p.nostrRefs('npub1x/repo').map((r) => r.id).sort(), [i1, i2].sort());
    assert.equal(p.allNostrRefs().length, 4);
    assert.deepEqual(p.dueNostrRefs(5999, 1000).map((r) => r.tip).sort(), ['a'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)]);
    assert.equal(p.dueNostrRefs(6000, 1000).length, 4);
    await p.deleteNostrRef('npub1x/repo', i1);
    assert.equal(p.getNostrRef('npub1x/repo', i1), undefined);
    assert.equal(p.counts().nostrRefs, 3);
  } finally {
    await t.destroy();
  }
});

test('purgatory survives a restart (entries, d index, expired ids, placeholders)', async () => {
  const t = await tempStore(new ManualClock(10));
  try {
    let p = t.store.purgatory;
    const owner = hex32();
    const ann = fake({ kind: 30617, pubkey: owner, tags: [['d', 'persist']] });
    const gone = fake({ kind: 30618, tags: [['d', 'persist']] });
    const ref = hex32();
    await p.add(ann, raw(ann), 'sync', 777);
    await p.add(gone, raw(gone), 'client', 777);
    await p.expire(gone.id, 500);
    await p.putNostrRef({ repoKey: 'k', id: ref, tip: 'e'.repeat(40), pushedAt: 3 });
    p = (await t.reopen()).purgatory;
    assert.deepEqual(p.get(ann.id), { id: ann.id, raw: raw(ann), event: ann, d: ['persist'], origin: 'sync', addedAt: 10, expiresAt: 777, dormant: false });
    assert.deepEqual(p.forD('persist').map((e) => e.id), [ann.id]);
    assert.equal(p.getAddress(30617, owner, 'persist')?.id, ann.id);
    assert.equal(p.expiredAt(gone.id), 500);
    assert.equal(p.getNostrRef('k', ref)?.tip, 'e'.repeat(40));
    assert.equal(t.store.get(ann.id), undefined);
  } finally {
    await t.destroy();
  }
});

test('sweepPurgatory: states and PRs expire; an announcement goes dormant first, then expires', async () => {
  const clock = new ManualClock(1_000);
  const t = await tempStore(clock);
  try {
    const p = t.store.purgatory;
    const MIN = 60_000;
    const ann = fake({ kind: 30617, tags: [['d', 'sw']] });
    const state = fake({ kind: 30618, tags: [['d', 'sw']] });
    const pr = fake({ kind: 1618, tags: [['a', `30617:${ann.pubkey}:sw`]] });
    const upd = fake({ kind: 1619, tags: [['a', `30617:${ann.pubkey}:sw`]] });
    const later = fake({ kind: 30618, tags: [['d', 'sw2']] });
    for (const e of [ann, state, pr, upd]) await p.add(e, raw(e), 'client', clock.ms + 30 * MIN);
    await p.add(later, raw(later), 'client', clock.ms + 40 * MIN);
    const cfg = { dormantMs: 24 * 60 * MIN };

    clock.ms += 30 * MIN - 1;
    assert.deepEqual(await sweepPurgatory(p, clock.ms, cfg), { expired: [], dormant: [] });

    clock.ms += 1;
    const r1 = await sweepPurgatory(p, clock.ms, cfg);
    assert.deepEqual(r1.expired.map((e) => e.id).sort(), [state.id, pr.id, upd.id].sort());
    assert.deepEqual(r1.dormant.map((e) => e.id), [ann.id]);
    assert.equal(r1.dormant[0]!.dormant, true);
    for (const e of r1.expired) assert.equal(p.expiredAt(e.id), clock.ms);
    assert.deepEqual(p.get(ann.id), { ...p.get(ann.id)!, dormant: true, expiresAt: clock.ms + cfg.dormantMs });
    assert.ok(p.has(later.id));
    assert.deepEqual(p.counts(), { byKind: { '30618': 1 }, dormant: 1, expired: 3, nostrRefs: 0 });

    clock.ms += cfg.dormantMs - 1;
    const r2 = await sweepPurgatory(p, clock.ms, cfg);
    assert.deepEqual(r2.expired.map((e) => e.id), [later.id]);
    assert.deepEqual(r2.dormant, []);
    clock.ms += 1;
    const r3 = await sweepPurgatory(p, clock.ms, cfg);
    assert.deepEqual(r3.expired.map((e) => e.id), [ann.id]);
    assert.equal(p.has(ann.id), false);
    assert.equal(p.expiredAt(ann.id), clock.ms);
  } finally {
    await t.destroy();
  }
});
