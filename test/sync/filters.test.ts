// Unit tests: L1/L2/L3 filters, chunking at 100, and live consolidation under the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunk, consolidate, itemFilters, L1, planLive, repoFilters, rootFilters } from '../../src/sync/filters.js';

const hex = (i: number): string => i.toString(16).padStart(64, '0');
const addr = (i: number): string => `30617:${hex(1000 + i)}:repo-${i}`;

test('chunk splits into pieces of at most n', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(chunk([], 100), []);
});

test('L2 filters per repository chunk: 30618 by d, #a, #A, #q; chunked at 100', () => {
  const addrs = Array.from({ length: 250 }, (_, i) => addr(i));
  const f = repoFilters(addrs, 100);
  assert.equal(f.length, 12);
  assert.deepEqual(f[0]!.kinds, [30618]);
  assert.equal(f[0]!['#d']!.length, 100);
  assert.equal(f[0]!['#d']![0], 'repo-0');
  assert.deepEqual(f[1], { '#a': addrs.slice(0, 100) });
  assert.deepEqual(f[2], { '#A': addrs.slice(0, 100) });
  assert.deepEqual(f[3], { '#q': addrs.slice(0, 100) });
  assert.equal(f[8]!['#d']!.length, 50);
  for (const x of f) for (const [k, v] of Object.entries(x)) if (k.startsWith('#')) assert.ok((v as string[]).length <= 100);
});

test('d values are deduplicated and may contain colons', () => {
  const f = repoFilters([`30617:${hex(1)}:a:b`, `30617:${hex(2)}:a:b`], 100);
  assert.deepEqual(f[0]!['#d'], ['a:b']);
});

test('L3 filters per root chunk: #e, #E, #q', () => {
  const ids = Array.from({ length: 101 }, (_, i) => hex(i));
  const f = rootFilters(ids, 100);
  assert.equal(f.length, 6);
  assert.deepEqual(Object.keys(f[0]!), ['#e']);
  assert.deepEqual(Object.keys(f[1]!), ['#E']);
  assert.deepEqual(Object.keys(f[2]!), ['#q']);
  assert.deepEqual(f[3]!['#e'], [hex(100)]);
});

test('itemFilters puts L1 first and splits repos from roots', () => {
  const f = itemFilters([hex(1), addr(1), L1], 100);
  assert.deepEqual(f[0], { kinds: [30617, 10317] });
  assert.equal(f.length, 1 + 4 + 3);
});

test('consolidate leaves small sets alone and merges large ones under the cap', () => {
  const small = rootFilters([hex(1), hex(2)], 100);
  assert.deepEqual(consolidate(small, 10, 100, 1000), small);
  const ids = Array.from({ length: 3000 }, (_, i) => hex(i));
  const many = rootFilters(ids, 100); // 90 filters
  const merged = consolidate(many, 12, 100, 1000);
  assert.ok(merged.length <= 12, `got ${merged.length}`);
  // nothing lost, order kept per tag letter
  for (const key of ['#e', '#E', '#q'] as const) {
    const vals = merged.filter((x) => x[key] !== undefined).flatMap((x) => x[key]!);
    assert.deepEqual(vals, ids);
  }
  for (const x of merged) for (const [k, v] of Object.entries(x)) if (k.startsWith('#')) assert.ok((v as string[]).length <= 1000);
});

test('consolidate keeps different kinds apart', () => {
  const merged = consolidate([{ kinds: [30618], '#d': ['a'] }, { '#a': ['x'] }, { kinds: [30618], '#d': ['b'] }, { '#a': ['y'] }], 2, 1, 100);
  assert.equal(merged.length, 2);
  assert.ok(merged.some((f) => f.kinds?.[0] === 30618 && f['#d']!.join() === 'a,b'));
  assert.ok(merged.some((f) => f['#a']?.join() === 'x,y'));
});

test('planLive: limit 0, at most budget REQs, each within filters per REQ', () => {
  const items = [L1, ...Array.from({ length: 500 }, (_, i) => addr(i)), ...Array.from({ length: 5000 }, (_, i) => hex(i))];
  const reqs = planLive(itemFilters(items, 100), { budget: 20, filtersPerReq: 10, size: 100, maxValues: 1000 });
  assert.ok(reqs.length <= 20, `got ${reqs.length} REQs`);
  for (const r of reqs) {
    assert.ok(r.length <= 10);
    for (const f of r) assert.equal(f.limit, 0);
  }
  const allE = reqs.flat().filter((f) => f['#e'] !== undefined).flatMap((f) => f['#e']!);
  assert.equal(allE.length, 5000);
  assert.ok(reqs.flat().some((f) => f.kinds?.includes(30617)));
});

test('planLive is stable when items are appended (earlier REQs unchanged)', () => {
  const base = [L1, ...Array.from({ length: 300 }, (_, i) => hex(i))];
  const a = planLive(itemFilters(base, 100), { budget: 60, filtersPerReq: 10, size: 100, maxValues: 1000 });
  const b = planLive(itemFilters([...base, hex(999)], 100), { budget: 60, filtersPerReq: 10, size: 100, maxValues: 1000 });
  assert.deepEqual(a[0], b[0]);
  assert.equal(b.length, a.length + 1);
});
