// Randomized reconciliations of our initiator against our responder: sizes from 0 to 100k,
// 0–100 % differences, many equal timestamps with clustered ids, timestamps near 2^53, and
// frame size limits 4096 / 60000 / unlimited; have/need must equal the set differences exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NegentropyInitiator, NegentropyResponder, NegentropyStorage, buildItems } from '../../src/negentropy/index.js';
import { assertSameSet, drive, makeSets } from './helpers.js';

function reconcileOurs(n: number, diff: number, limit: number, seed: number, ts: 'spread' | 'few' | 'big' = 'spread') {
  const sets = makeSets(n, diff, seed, ts);
  const ini = new NegentropyInitiator(new NegentropyStorage(buildItems(sets.a)), { frameSizeLimit: limit });
  const res = new NegentropyResponder(new NegentropyStorage(buildItems(sets.b)), { frameSizeLimit: limit });
  const r = drive({ initiate: () => ini.initiate(), step: (m) => ini.reconcile(m) }, (m) => res.reconcile(m), limit);
  const what = `n=${n} diff=${diff} limit=${limit} seed=${seed} ts=${ts}`;
  assertSameSet(r.have, sets.onlyA, `have (${what})`);
  assertSameSet(r.need, sets.onlyB, `need (${what})`);
  return r;
}

const sizes = [0, 1, 31, 32, 33, 1000];
const diffs = [0, 0.01, 0.5, 1];
const limits = [0, 4096, 60000];

test('round trips: small and medium sizes × differences × frame limits', () => {
  let seed = 1;
  for (const n of sizes) for (const d of diffs) for (const l of limits) reconcileOurs(n, d, l, seed++);
});

test('round trips: many equal timestamps with clustered ids', () => {
  let seed = 1000;
  for (const n of [33, 1000, 5000]) for (const d of diffs) for (const l of limits) reconcileOurs(n, d, l, seed++, 'few');
});

test('round trips: timestamps near 2^53', () => {
  let seed = 2000;
  for (const n of [40, 3000]) for (const d of [0.01, 0.5]) for (const l of [0, 4096]) reconcileOurs(n, d, l, seed++, 'big');
});

test('round trips: 100k items', () => {
  let seed = 3000;
  for (const d of diffs) {
    for (const l of limits) {
      const r = reconcileOurs(100000, d, l, seed++);
      if (l !== 0) assert.ok(r.maxBytes <= l);
      if (d === 0) assert.equal(r.rounds, 1, 'identical sets settle in one round');
    }
  }
});

test('identical sets: one round, no differences', () => {
  const r = reconcileOurs(50000, 0, 0, 42);
  assert.equal(r.rounds, 1);
  assert.equal(r.have.length + r.need.length, 0);
});

test('one side empty: everything is have or need, limits respected', () => {
  for (const l of [0, 4096]) {
    const sets = makeSets(20000, 0, 77);
    const empty = new NegentropyStorage(buildItems([]));
    const full = new NegentropyStorage(buildItems(sets.a));
    const ini = new NegentropyInitiator(empty, { frameSizeLimit: l });
    const res = new NegentropyResponder(full, { frameSizeLimit: l });
    const r = drive({ initiate: () => ini.initiate(), step: (m) => ini.reconcile(m) }, (m) => res.reconcile(m), l);
    assert.equal(r.have.length, 0);
    assertSameSet(r.need, new Set(sets.a.map((p) => p[1])), 'need');
    const ini2 = new NegentropyInitiator(full, { frameSizeLimit: l });
    const res2 = new NegentropyResponder(empty, { frameSizeLimit: l });
    const r2 = drive({ initiate: () => ini2.initiate(), step: (m) => ini2.reconcile(m) }, (m) => res2.reconcile(m), l);
    assert.equal(r2.need.length, 0);
    assertSameSet(r2.have, new Set(sets.a.map((p) => p[1])), 'have');
  }
});

test('a storage is shareable between concurrent sessions', () => {
  const sets = makeSets(3000, 0.2, 5);
  const shared = new NegentropyStorage(buildItems(sets.b));
  const inis = [0, 1, 2].map(() => new NegentropyInitiator(new NegentropyStorage(buildItems(sets.a)), { frameSizeLimit: 4096 }));
  const ress = inis.map(() => new NegentropyResponder(shared, { frameSizeLimit: 4096 }));
  const msgs: Array<string | null> = inis.map((i) => i.initiate());
  const have = inis.map(() => [] as string[]);
  const need = inis.map(() => [] as string[]);
  // interleave the three sessions message by message
  while (msgs.some((m) => m !== null)) {
    for (let k = 0; k < 3; k++) {
      const m = msgs[k];
      if (m === null) continue;
      const r = inis[k].reconcile(ress[k].reconcile(m));
      have[k].push(...r.have);
      need[k].push(...r.need);
      msgs[k] = r.output;
    }
  }
  for (let k = 0; k < 3; k++) {
    assertSameSet(have[k], sets.onlyA, 'have');
    assertSameSet(need[k], sets.onlyB, 'need');
  }
});
