// COUNT (NIP-45) and NIP-77 item sets against a brute-force reference: exact counts for index-only
// and post-filtered filters and overlapping filters; items ascending by (created_at, id), deduped,
// 'too-many' past max.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { matchFilter, matchFilters } from '../../src/nostr/filter.js';
import { fake, hex32, insertAll, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
const all: NostrEvent[] = [];
const authors = Array.from({ length: 4 }, hex32);
const refs = Array.from({ length: 5 }, hex32);

before(async () => {
  t = await tempStore();
  for (let i = 0; i < 900; i++) {
    const tags: string[][] = [['e', refs[i % 5]!]];
    if (i % 3 === 0) tags.push(['e', refs[(i + 1) % 5]!]);
    if (i % 4 === 0) tags.push(['t', i % 8 ? 'a' : 'b']);
    all.push(fake({ kind: [1, 7, 1617][i % 3]!, pubkey: authors[i % 4]!, created_at: 1_000 + (i % 50), tags }));
  }
  await insertAll(t.store, all);
});

after(async () => {
  await t.destroy();
});

const refCount = (filters: Filter[]): number => all.filter((e) => matchFilters(filters, e)).length;

test('count equals the number of distinct matches', () => {
  const cases: Filter[][] = [
    [{}],
    [{ kinds: [1] }],
    [{ kinds: [1, 7] }],
    [{ authors: [authors[0]!] }],
    [{ authors: [authors[0]!, authors[1]!], kinds: [7, 1617] }],
    [{ '#e': [refs[0]!] }],
    [{ '#e': [refs[0]!, refs[1]!] }], // an event may carry both: dedupe
    [{ '#e': [refs[0]!], kinds: [1] }],
    [{ '#e': [refs[0]!], '#t': ['a'] }],
    [{ since: 1_010, until: 1_020 }],
    [{ kinds: [1], since: 1_010, until: 1_010 }],
    [{ kinds: [1] }, { authors: [authors[2]!] }],
    [{ kinds: [1], limit: 3 }],
    [{ ids: [all[0]!.id, all[1]!.id, hex32()] }],
    [{ '#t': ['b'] }, { '#t': ['a'] }, { kinds: [7] }],
  ];
  for (const f of cases) assert.equal(t.store.count(f), refCount(f), JSON.stringify(f));
  assert.equal(t.store.count([{ limit: 0 }]), 0);
  assert.equal(t.store.count([]), 0);
});

function expectedItems(filter: Filter): Array<[number, string]> {
  return all
    .filter((e) => matchFilter({ ...filter, limit: undefined }, e))
    .map((e): [number, string] => [e.created_at, e.id])
    .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

function asPairs(items: ReturnType<typeof t.store.negentropyItems>): Array<[number, string]> {
  assert.notEqual(items, 'too-many');
  if (items === 'too-many') return [];
  const out: Array<[number, string]> = [];
  for (let i = 0; i < items.count; i++) {
    out.push([items.timestamps[i]!, Buffer.from(items.ids.subarray(32 * i, 32 * i + 32)).toString('hex')]);
  }
  return out;
}

test('negentropy items ascending by (created_at, id), limit ignored, deduped', () => {
  const cases: Filter[] = [
    {},
    { kinds: [1, 7] },
    { authors: authors.slice(0, 3) },
    { authors: [authors[1]!], kinds: [1617] },
    { '#e': refs.slice(0, 3) },
    { '#e': [refs[0]!], kinds: [1] },
    { '#e': refs, '#t': ['b'] },
    { since: 1_020, until: 1_030, limit: 2 },
    { ids: [all[5]!.id, all[9]!.id] },
  ];
  for (const f of cases) {
    const got = asPairs(t.store.negentropyItems(f, 10_000));
    assert.deepEqual(got, expectedItems(f), JSON.stringify(f));
  }
  const empty = t.store.negentropyItems({ kinds: [9999] }, 10);
  assert.ok(empty !== 'too-many' && empty.count === 0 && empty.ids.length === 0);
});

test("negentropy 'too-many' exactly past max", () => {
  const n = expectedItems({ kinds: [1] }).length;
  assert.equal(t.store.negentropyItems({ kinds: [1] }, n - 1), 'too-many');
  assert.notEqual(t.store.negentropyItems({ kinds: [1] }, n), 'too-many');
  const m = expectedItems({ '#e': refs }).length; // overlapping tag values: decided after dedupe
  assert.equal(m, all.length);
  assert.notEqual(t.store.negentropyItems({ '#e': refs }, m), 'too-many');
  assert.equal(t.store.negentropyItems({ '#e': refs }, m - 1), 'too-many');
  assert.equal(t.store.negentropyItems({}, 10), 'too-many');
});
