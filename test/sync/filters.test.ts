// Unit tests: L1/L2/L3 filters and chunking at 100 (live consolidation: live.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunk, itemFilters, L1, repoFilters, rootFilters } from '../../src/sync/filters.js';

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
