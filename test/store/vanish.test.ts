// NIP-62 in the store (src/store/vanish.ts, writer.ts): a request to vanish erases the author's
// events and the gift wraps (kind 1059) that p-tag the author, whether they are committed, in the
// same write batch as the request, or in the batch still committing when the request is decided;
// and refuses them when they are published again. Other authors' events and other recipients'
// gift wraps, and anything newer than the request, stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { InsertResult, Store } from '../../src/store/types.js';
import { collect, fake, hex32, ids, insertAll, tempStore } from './helpers.js';

const T = 1_700_000_000;
const put = (s: Store, e: NostrEvent): Promise<InsertResult> => s.insert(e, JSON.stringify(e));
const vanish = (pubkey: string, at = T + 100): NostrEvent => fake({ kind: 62, pubkey, created_at: at, tags: [['relay', 'ALL_RELAYS']] });
const wrap = (to: string, at = T): NostrEvent => fake({ kind: 1059, created_at: at, tags: [['p', to]] });
const sorted = (xs: string[]): string[] => [...xs].sort();

function erased(r: InsertResult): string[] {
  assert.equal(r.status, 'stored', JSON.stringify(r));
  return (r as { deleted: string[] }).deleted;
}

test('NIP-62: gift wraps to the author are erased and refused again; others stay', async () => {
  const t = await tempStore();
  try {
    const alice = hex32();
    const carol = hex32();
    const toAlice = [wrap(alice, T - 5), wrap(alice, T + 50)];
    const toCarol = wrap(carol);
    const later = wrap(alice, T + 200);
    const note = fake({ kind: 1, pubkey: alice, created_at: T });
    await insertAll(t.store, [...toAlice, toCarol, later, note]);

    const req = vanish(alice);
    assert.deepEqual(sorted(erased(await put(t.store, req))), sorted([...toAlice, note].map((e) => e.id)));
    assert.deepEqual(sorted(ids(await collect(t.store, [{ kinds: [1059] }]))), sorted([toCarol.id, later.id]));
    assert.deepEqual(ids(await collect(t.store, [{ authors: [alice] }])), [req.id]);

    for (const e of toAlice) {
      assert.equal(t.store.isDeleted(e), true);
      assert.equal((await put(t.store, e)).status, 'rejected');
    }
    // a new wrap to alice dated before the request is refused too; one dated after it is not
    assert.equal((await put(t.store, wrap(alice, T + 99))).status, 'rejected');
    assert.equal((await put(t.store, wrap(alice, T + 101))).status, 'stored');
    assert.equal(t.store.isDeleted(wrap(carol, T)), false);
  } finally {
    await t.destroy();
  }
});

test('NIP-62: events in the same write batch as the request are erased', async () => {
  const t = await tempStore();
  try {
    const alice = hex32();
    const bob = hex32();
    const mine = [1, 2, 3].map((i) => fake({ kind: 1, pubkey: alice, created_at: T + i }));
    const theirs = fake({ kind: 1, pubkey: bob, created_at: T });
    const gift = wrap(alice);
    const req = vanish(alice);
    // one tick: all of these are decided in one batch, the request last
    const rs = await Promise.all([...mine, theirs, gift, req].map((e) => put(t.store, e)));
    assert.deepEqual(ids(await collect(t.store, [{ authors: [alice] }])), [req.id]);
    assert.deepEqual(sorted(erased(rs.at(-1)!)), sorted([...mine, gift].map((e) => e.id)));
    assert.deepEqual(ids(await collect(t.store, [{ kinds: [1059] }])), []);
    assert.deepEqual(ids(await collect(t.store, [{ kinds: [1] }])), [theirs.id]);
    // nothing of them is left in any index
    assert.deepEqual(ids(await collect(t.store, [{ '#p': [alice] }])), []);
    assert.equal(t.store.count([{ kinds: [1] }]), 1);
    assert.equal((await put(t.store, mine[0]!)).status, 'rejected');
    // and after a reopen (what was committed is what is left)
    await t.reopen();
    assert.deepEqual(ids(await collect(t.store, [{ authors: [alice] }])), [req.id]);
    assert.equal(t.store.count([{ kinds: [1] }]), 1);
  } finally {
    await t.destroy();
  }
});

test('NIP-62: events in the batch still committing when the request is decided are erased', async () => {
  const t = await tempStore();
  try {
    const alice = hex32();
    const filler = Array.from({ length: 300 }, () => fake({ kind: 1 }));
    const mine = Array.from({ length: 20 }, (_, i) => fake({ kind: 1, pubkey: alice, created_at: T + i }));
    const gifts = [wrap(alice), wrap(alice)];
    const first = Promise.all([...filler, ...mine, ...gifts].map((e) => put(t.store, e)));
    await new Promise((r) => setImmediate(r)); // the first batch is decided and now committing
    const req = vanish(alice);
    const r = await put(t.store, req);
    assert.ok((await first).every((x) => x.status === 'stored'));
    assert.deepEqual(ids(await collect(t.store, [{ authors: [alice] }])), [req.id]);
    assert.deepEqual(ids(await collect(t.store, [{ kinds: [1059] }])), []);
    assert.deepEqual(sorted(erased(r)), sorted([...mine, ...gifts].map((e) => e.id)));
    assert.equal(t.store.count([{ kinds: [1] }]), filler.length);
  } finally {
    await t.destroy();
  }
});
