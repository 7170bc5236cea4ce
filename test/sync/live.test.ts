// Unit tests: incremental live subscription plan — appends re-send one REQ, blocks grow to stay
// under the budget, removals rebuild, dropped subs are re-sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { L1 } from '../../src/sync/filters.js';
import { blockSize, LivePlan } from '../../src/sync/live.js';

const hex = (i: number): string => i.toString(16).padStart(64, '0');
const addr = (i: number): string => `30617:${hex(1000 + i)}:repo-${i}`;

test('first update opens L1, repo and root blocks with limit 0', () => {
  const plan = new LivePlan({ budget: 60, chunk: 100, maxValues: 1000 });
  const wanted = new Set([L1, addr(1), hex(1), hex(2)]);
  const { send, close } = plan.update(wanted);
  assert.deepEqual(close, []);
  assert.deepEqual(
    send.map(([id]) => id),
    ['l1', 'lr0', 'lo0'],
  );
  const all = send.flatMap(([, f]) => f);
  assert.ok(all.every((f) => f.limit === 0));
  assert.deepEqual(send[1]![1][0], { kinds: [30618], '#d': ['repo-1'], limit: 0 });
  assert.deepEqual(send[2]![1].map((f) => Object.keys(f)[0]), ['#e', '#E', '#q']);
  assert.deepEqual(plan.update(wanted), { send: [], close: [] });
});

test('appending items re-sends only the last block', () => {
  const plan = new LivePlan({ budget: 60, chunk: 100, maxValues: 1000 });
  const wanted = new Set<string>([L1]);
  for (let i = 0; i < 150; i++) wanted.add(hex(i));
  plan.update(wanted);
  wanted.add(hex(1000));
  const { send } = plan.update(wanted);
  assert.deepEqual(
    send.map(([id]) => id),
    ['lo1'],
  );
  assert.equal(send[0]![1][0]!['#e']!.length, 51);
  assert.ok(plan.covers([hex(1000), L1]));
  assert.ok(!plan.covers([hex(5000)]));
});

test('blocks grow to stay within the budget', () => {
  assert.equal(blockSize(10, 100, { budget: 60, chunk: 100, maxValues: 1000 }), 100);
  const v = blockSize(200, 50_000, { budget: 60, chunk: 100, maxValues: 1000 });
  assert.ok(1 + Math.ceil(200 / v) + Math.ceil(50_000 / v) <= 60 || v === 1000);
  const plan = new LivePlan({ budget: 10, chunk: 100, maxValues: 1000 });
  const wanted = new Set<string>([L1]);
  for (let i = 0; i < 2000; i++) wanted.add(hex(i));
  const { send } = plan.update(wanted);
  assert.ok(send.length <= 10, `${send.length} REQs`);
  assert.equal(plan.open.size, send.length);
});

test('removing an item rebuilds and closes what is no longer needed', () => {
  const plan = new LivePlan({ budget: 60, chunk: 2, maxValues: 1000 });
  const wanted = new Set([L1, hex(1), hex(2), hex(3)]);
  plan.update(wanted);
  assert.deepEqual([...plan.open].sort(), ['l1', 'lo0', 'lo1']);
  wanted.delete(hex(3));
  const { send, close } = plan.update(wanted);
  assert.deepEqual(close, ['lo1']);
  assert.deepEqual(
    send.map(([id]) => id),
    ['l1', 'lo0'],
  );
});

test('a sub the peer closed is re-sent on the next update', () => {
  const plan = new LivePlan({ budget: 60, chunk: 100, maxValues: 1000 });
  const wanted = new Set([L1, hex(1)]);
  plan.update(wanted);
  plan.dropped('lo0');
  const { send } = plan.update(wanted);
  assert.ok(send.some(([id]) => id === 'lo0'));
});
