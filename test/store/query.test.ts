// Query planner and execution against a brute-force reference: every filter field alone and
// combined, multi-filter merge/dedupe, limits with created_at ties, since/until, tag encodings,
// slicing of large results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { TAG_MAX_BYTES } from '../../src/store/keys.js';
import { collect, fake, hex32, ids, insertAll, reference, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
const all: NostrEvent[] = [];
const authors = Array.from({ length: 6 }, hex32);
const refs = Array.from({ length: 8 }, hex32);
const words = ['nostr', 'git', 'grasp', 'Nostr', ''];
const longA = 'x'.repeat(TAG_MAX_BYTES + 10) + 'A';
const longB = 'x'.repeat(TAG_MAX_BYTES + 10) + 'B';
const kinds = [1, 7, 1617, 1621, 65000];

function pick<T>(xs: T[], i: number): T {
  return xs[i % xs.length]!;
}

before(async () => {
  t = await tempStore();
  // created_at has only 40 distinct values for 600 events: plenty of ties
  for (let i = 0; i < 600; i++) {
    const tags: string[][] = [];
    if (i % 2 === 0) tags.push(['e', pick(refs, i * 7)]);
    if (i % 3 === 0) tags.push(['E', pick(refs, i * 5)]);
    if (i % 5 === 0) tags.push(['t', pick(words, i)]);
    if (i % 7 === 0) tags.push(['p', pick(authors, i), 'wss://relay.example']);
    if (i % 11 === 0) tags.push(['r', i % 2 ? longA : longB]);
    if (i % 13 === 0) tags.push(['e', pick(refs, i + 1)], ['e', pick(refs, i + 1)]);
    if (i % 17 === 0) tags.push(['t', 'ABCDEF'.repeat(10) + 'abcd']); // 64 chars, not lowercase hex
    all.push(
      fake({ kind: pick(kinds, i * 3), pubkey: pick(authors, i), created_at: 1_700_000_000 + (i % 40), tags }),
    );
  }
  await insertAll(t.store, all);
});

after(async () => {
  await t.destroy();
});

let nonEmpty = 0;
async function check(filters: Filter[], maxLimit?: number): Promise<void> {
  const got = ids(await collect(t.store, filters, maxLimit === undefined ? undefined : { maxLimit }));
  assert.deepEqual(got, reference(all, filters, maxLimit), JSON.stringify(filters));
  if (got.length > 0) nonEmpty++;
}

test('each filter field alone', async () => {
  await check([{}]);
  await check([{ ids: [all[3]!.id, all[400]!.id, hex32()] }]);
  await check([{ authors: [authors[1]!] }]);
  await check([{ authors: authors.slice(0, 3) }]);
  await check([{ kinds: [7] }]);
  await check([{ kinds: [1, 1617, 4242] }]);
  await check([{ '#e': [refs[0]!] }]);
  await check([{ '#e': refs.slice(0, 3) }]);
  await check([{ '#E': [refs[2]!] }]);
  await check([{ '#t': ['nostr'] }]);
  await check([{ '#t': ['Nostr', ''] }]);
  await check([{ '#p': [authors[0]!] }]);
  await check([{ since: 1_700_000_030 }]);
  await check([{ until: 1_700_000_005 }]);
  await check([{ limit: 17 }]);
});

test('since and until are inclusive', async () => {
  const got = ids(await collect(t.store, [{ since: 1_700_000_010, until: 1_700_000_010 }]));
  assert.ok(got.length > 0);
  assert.deepEqual(got, reference(all, [{ since: 1_700_000_010, until: 1_700_000_010 }]));
  await check([{ since: 1_700_000_050 }]);
  await check([{ since: 1_700_000_020, until: 1_700_000_010 }]);
});

test('combined fields', async () => {
  await check([{ authors: [authors[0]!, authors[2]!], kinds: [1, 7] }]);
  await check([{ authors: authors, kinds: [1617], since: 1_700_000_010, until: 1_700_000_020 }]);
  await check([{ kinds: [1, 7], '#e': [refs[1]!, refs[4]!] }]);
  await check([{ authors: [authors[3]!], '#e': refs }]);
  await check([{ kinds: [1], authors: [authors[1]!], '#e': refs, limit: 5 }]);
  await check([{ '#e': refs, '#t': ['nostr', 'git'] }]);
  await check([{ '#e': refs, '#E': refs.slice(0, 2), since: 1_700_000_005, limit: 20 }]);
  await check([{ ids: all.slice(0, 50).map((e) => e.id), kinds: [7], limit: 3 }]);
  await check([{ kinds: [1, 7], '#t': ['nostr'], since: 1_700_000_004 }]);
});

test('limit with ties: lowest id first within a second, across the limit boundary', async () => {
  for (const limit of [1, 2, 3, 14, 15, 16, 29, 31, 100]) {
    await check([{ limit }]);
    await check([{ kinds: [1], limit }]);
    await check([{ authors: authors.slice(0, 4), limit }]);
    await check([{ '#e': refs.slice(0, 4), limit }]);
  }
});

test('limit 0 returns nothing; no limit gets maxLimit; limit is capped by maxLimit', async () => {
  assert.deepEqual(await collect(t.store, [{ limit: 0 }]), []);
  assert.deepEqual(await collect(t.store, [{ kinds: [1], limit: 0 }, { limit: 0 }]), []);
  await check([{}], 50);
  await check([{ limit: 1000 }], 70);
  await check([{ kinds: [1, 7] }], 33);
});

test('several filters are merged, deduplicated and ordered', async () => {
  await check([{ kinds: [1] }, { authors: [authors[0]!] }]);
  await check([{ kinds: [1], limit: 5 }, { kinds: [1], limit: 9 }, { '#e': [refs[0]!], limit: 4 }]);
  await check([{ ids: [all[0]!.id] }, { ids: [all[0]!.id, all[1]!.id] }, { limit: 3 }]);
  await check([{ limit: 0 }, { '#t': ['git'] }]);
  const got = ids(await collect(t.store, [{}, {}, {}]));
  assert.equal(new Set(got).size, got.length);
});

test('tag values: hex vs text, #e vs #E, long (truncated) values, no match', async () => {
  await check([{ '#r': [longA] }]);
  await check([{ '#r': [longB] }]);
  await check([{ '#r': ['x'.repeat(TAG_MAX_BYTES + 10)] }]);
  await check([{ '#t': ['ABCDEF'.repeat(10) + 'abcd'] }]);
  await check([{ '#t': [('ABCDEF'.repeat(10) + 'abcd').toLowerCase()] }]);
  const e = ids(await collect(t.store, [{ '#e': [refs[2]!] }]));
  const E = ids(await collect(t.store, [{ '#E': [refs[2]!] }]));
  assert.notDeepEqual(e, E);
  assert.deepEqual(await collect(t.store, [{ '#e': [hex32()] }]), []);
  assert.deepEqual(await collect(t.store, [{ '#e': [] }]), []);
  assert.deepEqual(await collect(t.store, [{ authors: [] }]), []);
  assert.deepEqual(await collect(t.store, [{ authors: ['nothex'] }]), []);
});

test('random filters agree with the reference', async () => {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const some = <T>(xs: T[]): T[] => xs.filter(() => rnd(3) === 0).concat([xs[rnd(xs.length)]!]);
  nonEmpty = 0;
  for (let i = 0; i < 200; i++) {
    const filters: Filter[] = [];
    for (let j = 0, n = 1 + rnd(3); j < n; j++) {
      const f: Filter = {};
      if (rnd(3) === 0) f.authors = some(authors);
      if (rnd(3) === 0) f.kinds = some(kinds);
      if (rnd(4) === 0) f['#e'] = some(refs);
      if (rnd(6) === 0) f['#t'] = some(words);
      if (rnd(8) === 0) f['#E'] = some(refs);
      if (rnd(4) === 0) f.since = 1_700_000_000 + rnd(40);
      if (rnd(4) === 0) f.until = 1_700_000_000 + rnd(40);
      if (rnd(2) === 0) f.limit = rnd(60);
      if (rnd(15) === 0) f.ids = some(all).map((e) => e.id);
      filters.push(f);
    }
    await check(filters, rnd(2) ? undefined : 1 + rnd(100));
  }
  assert.ok(nonEmpty > 80, `only ${nonEmpty} of 200 random queries matched anything`);
});

test('tag values around the truncation length', async () => {
  const tt = await tempStore();
  try {
    const v = (n: number, c = 'v'): string => 'é'.repeat(2) + 'v'.repeat(n - 5) + c; // n utf8 bytes, differing last
    const lens = [TAG_MAX_BYTES - 1, TAG_MAX_BYTES, TAG_MAX_BYTES + 1];
    const evs = lens.flatMap((n) => [
      fake({ kind: 1, tags: [['l', v(n)]], created_at: n }),
      fake({ kind: 1, tags: [['l', v(n, 'w')]], created_at: n }),
    ]);
    await insertAll(tt.store, evs);
    for (const n of lens) {
      for (const c of ['v', 'w']) {
        const f: Filter = { '#l': [v(n, c)] };
        assert.deepEqual(ids(await collect(tt.store, [f])), reference(evs, [f]), `${n} ${c}`);
        assert.equal(tt.store.count([f]), 1);
      }
    }
  } finally {
    await tt.destroy();
  }
});

test('malformed filter fields match nothing instead of throwing', async () => {
  assert.deepEqual(await collect(t.store, [{ authors: 'x' } as unknown as Filter]), []);
  assert.deepEqual(await collect(t.store, [{ kinds: [1.5, -1] }]), []);
  assert.deepEqual(await collect(t.store, [{ '#e': [5] } as unknown as Filter]), []);
  assert.equal(t.store.count([{ ids: 'y' } as unknown as Filter]), 0);
});

test('querySync honours max and filter limit', () => {
  assert.equal(t.store.querySync({ kinds: [1] }, 7).length, 7);
  assert.equal(t.store.querySync({ kinds: [1], limit: 3 }, 7).length, 3);
  const r = t.store.querySync({ authors: [authors[0]!] }, 1000);
  assert.deepEqual(
    r.map((s) => s.event.id),
    reference(all, [{ authors: [authors[0]!] }]),
  );
  assert.equal(r[0]!.raw, JSON.stringify(r[0]!.event));
});

test('get, has, hasTagValue', () => {
  const e = all[10]!;
  assert.equal(t.store.get(e.id)?.raw, JSON.stringify(e));
  assert.equal(t.store.has(e.id), true);
  assert.equal(t.store.has(hex32()), false);
  assert.equal(t.store.get('zz'), undefined);
  assert.equal(t.store.hasTagValue('e', refs[0]!), true);
  assert.equal(t.store.hasTagValue('e', hex32()), false);
  assert.equal(t.store.hasTagValue('r', longA), true);
  assert.equal(t.store.hasTagValue('r', 'x'.repeat(TAG_MAX_BYTES + 10) + 'C'), false);
});

test('a large result comes in several slices, in order, without holding the loop', async () => {
  const big = await tempStore();
  try {
    const evs: NostrEvent[] = [];
    for (let i = 0; i < 20_000; i++) evs.push(fake({ kind: 1, created_at: 1_600_000_000 + Math.floor(i / 3) }));
    await insertAll(big.store, evs);
    const slices: number[] = [];
    const got: string[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    for await (const s of big.store.query([{ kinds: [1] }], { maxLimit: 100_000, sliceSize: 500 })) {
      slices.push(s.length);
      got.push(...s);
    }
    clearInterval(timer);
    assert.equal(got.length, 20_000);
    assert.ok(slices.length >= 40, `slices: ${slices.length}`);
    assert.ok(slices.slice(0, -1).every((n) => n === 500));
    assert.deepEqual(ids(got), reference(evs, [{ kinds: [1] }], 100_000));
    assert.ok(ticks > 0, 'the event loop ran while the query was in progress');
  } finally {
    await big.destroy();
  }
});

test('a sliced query stays ordered and duplicate-free while writes land between slices', async () => {
  const tt = await tempStore();
  try {
    const pk = hex32();
    const evs = Array.from({ length: 3000 }, (_, i) => fake({ kind: 1, pubkey: pk, created_at: 10_000 + Math.floor(i / 4) }));
    await insertAll(tt.store, evs);
    const byId = new Map(evs.map((e) => [e.id, e]));
    const oldestFirst = [...evs].sort((a, b) => a.created_at - b.created_at);
    const toDelete = oldestFirst.slice(0, 200).map((e) => e.id); // served last: deleted before reached
    const seen: NostrEvent[] = [];
    let round = 0;
    for await (const slice of tt.store.query([{ authors: [pk] }], { maxLimit: 10_000, sliceSize: 100 })) {
      for (const raw of slice) seen.push(JSON.parse(raw) as NostrEvent);
      if (round++ === 2) {
        const newer = Array.from({ length: 50 }, () => fake({ kind: 1, pubkey: pk, created_at: 99_999 }));
        const del = fake({ kind: 5, pubkey: pk, created_at: 99_999, tags: toDelete.map((id) => ['e', id]) });
        await insertAll(tt.store, [...newer, del]);
      }
    }
    const got = seen.map((e) => e.id);
    assert.equal(new Set(got).size, got.length, 'no duplicates');
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i - 1]!;
      const b = seen[i]!;
      assert.ok(a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id), `order at ${i}`);
    }
    assert.ok(seen.every((e) => byId.has(e.id)), 'only events that existed when the walk passed them');
    assert.equal(seen.length, 3000 - 200);
    assert.ok(!toDelete.some((id) => got.includes(id)));
  } finally {
    await tt.destroy();
  }
});
