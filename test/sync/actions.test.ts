// Unit tests: computeActions (new = wanted − pending − confirmed, per relay) and which peer
// connections to open and close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeActions, computeConnections } from '../../src/sync/actions.js';

const m = (o: Record<string, string[]>): Map<string, Set<string>> => new Map(Object.entries(o).map(([k, v]) => [k, new Set(v)]));

test('new work is wanted minus pending minus confirmed, per relay, in wanted order', () => {
  const wanted = m({ a: ['L1', 'r1', 'r2', 'x'], b: ['L1', 'r1'] });
  const pending = m({ a: ['r1'] });
  const confirmed = m({ a: ['L1'], b: ['L1', 'r1'] });
  const out = computeActions(wanted, pending, confirmed);
  assert.deepEqual([...out], [['a', ['r2', 'x']]]);
});

test('only the relays asked about are computed', () => {
  const wanted = m({ a: ['L1'], b: ['L1'] });
  const out = computeActions(wanted, new Map(), new Map(), ['b']);
  assert.deepEqual([...out.keys()], ['b']);
});

test('nothing wanted → nothing to do; confirmed items never restart; pure (inputs untouched)', () => {
  assert.equal(computeActions(new Map(), new Map(), new Map()).size, 0);
  const wanted = m({ a: ['L1', 'r'] });
  const confirmed = m({ a: ['L1', 'r', 'old'] });
  assert.equal(computeActions(wanted, new Map(), confirmed).size, 0);
  assert.deepEqual([...wanted.get('a')!], ['L1', 'r']);
  assert.deepEqual([...confirmed.get('a')!], ['L1', 'r', 'old']);
});

test('a failed batch (removed from pending, not confirmed) comes back as new work', () => {
  const wanted = m({ a: ['L1', 'r1', 'r2'] });
  assert.deepEqual(computeActions(wanted, m({ a: ['r1', 'r2'] }), m({ a: ['L1'] })).get('a'), undefined);
  assert.deepEqual(computeActions(wanted, m({ a: [] }), m({ a: ['L1'] })).get('a'), ['r1', 'r2']);
});

test('connections: open what is wanted or bootstrap, close the rest', () => {
  const r = computeConnections(['wss://a', 'wss://b'], ['wss://boot'], ['wss://b', 'wss://gone', 'wss://boot']);
  assert.deepEqual(r.open.sort(), ['wss://a']);
  assert.deepEqual(r.close, ['wss://gone']);
});
