// Nip77Sessions (the relay's per-connection NIP-77 handler) driven directly: full reconciliations
// through NEG-OPEN / NEG-MSG with our and nostr-tools' initiators, replacement, limits, idle
// timeout on an injected clock, NEG-CLOSE, and NEG-ERR (never NOTICE) for every bad message.
// Reconciliations run over the real LMDB store; the session-state cases (limits, errors, timers)
// use an in-test StoreReader answering negentropyItems, the only method NIP-77 uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfig, type NegentropyConfig } from '../../src/config/schema.js';
import type { Filter } from '../../src/nostr/event.js';
import { NegentropyInitiator, NegentropyStorage, buildItems } from '../../src/negentropy/index.js';
import { Nip77Sessions } from '../../src/relay/nip77.js';
import type { NegentropyItems, StoreReader } from '../../src/store/types.js';
import { ManualClock } from '../sync/clock.js';
import { fake, insertAll, tempStore } from '../store/helpers.js';
import { assertSameSet, loadNostrToolsNip77, makeSets, nip77OnlyStore, ntStorage, type Pair } from './helpers.js';

interface Row {
  created_at: number;
  id: string;
  kind: number;
}

/** The part of StoreReader NIP-77 uses, over an array; kinds/since/until honoured. */
function stubStore(rows: Row[]): StoreReader & { calls: number } {
  const counter = { calls: 0 };
  const store = nip77OnlyStore((filter: Filter, max: number): NegentropyItems | 'too-many' => {
    counter.calls++;
    const m = rows.filter(
      (r) =>
        (filter.kinds === undefined || filter.kinds.includes(r.kind)) &&
        (filter.since === undefined || r.created_at >= filter.since) &&
        (filter.until === undefined || r.created_at <= filter.until),
    );
    if (m.length > max) return 'too-many';
    return buildItems(m.map((r) => [r.created_at, r.id]));
  });
  return Object.defineProperty(store, 'calls', { get: () => counter.calls, enumerable: true }) as StoreReader & { calls: number };
}

const rowsOf = (pairs: Pair[], kind = 1): Row[] => pairs.map(([created_at, id]) => ({ created_at, id, kind }));

function setup(rows: Row[], neg: Partial<NegentropyConfig> = {}, real?: StoreReader) {
  const cfg = makeConfig({ negentropy: neg }).negentropy;
  const clock = new ManualClock(1_700_000_000_000);
  const sent: unknown[][] = [];
  const store = stubStore(rows);
  const s = new Nip77Sessions(real ?? store, cfg, (json) => sent.push(JSON.parse(json) as unknown[]), clock);
  const last = (): unknown[] => {
    const m = sent.at(-1);
    assert.ok(m, 'nothing sent');
    return m;
  };
  return { s, sent, clock, store, cfg, last };
}

/** The same, over a real LMDB store holding `rows` as (unsigned) events; call destroy() after. */
async function setupLmdb(rows: Row[], neg: Partial<NegentropyConfig> = {}) {
  const t = await tempStore();
  await insertAll(
    t.store,
    rows.map((r) => fake({ id: r.id, created_at: r.created_at, kind: r.kind })),
  );
  return { ...setup([], neg, t.store), destroy: () => t.destroy() };
}

/** Run a full reconciliation through the handler with our initiator. */
function reconcileVia(h: ReturnType<typeof setup>, subId: string, mine: Pair[], filter: unknown, limit = 0) {
  const ini = new NegentropyInitiator(new NegentropyStorage(buildItems(mine)), { frameSizeLimit: limit });
  h.s.handle(['NEG-OPEN', subId, filter, ini.initiate()]);
  const have: string[] = [];
  const need: string[] = [];
  let rounds = 0;
  while (true) {
    const m = h.last();
    assert.equal(m[0], 'NEG-MSG', `got ${JSON.stringify(m).slice(0, 200)}`);
    assert.equal(m[1], subId);
    const hex = m[2] as string;
    if (h.cfg.frameSizeLimit) assert.ok(hex.length / 2 <= h.cfg.frameSizeLimit, 'reply over the frame size limit');
    const r = ini.reconcile(hex);
    have.push(...r.have);
    need.push(...r.need);
    rounds++;
    if (r.output === null) break;
    h.s.handle(['NEG-MSG', subId, r.output]);
  }
  h.s.handle(['NEG-CLOSE', subId]);
  return { have, need, rounds };
}

test('full reconciliation through NEG-OPEN / NEG-MSG (LMDB store), filter as object or one-element array', async () => {
  for (const frameSizeLimit of [0, 4096]) {
    const sets = makeSets(8000, 0.05, 31 + frameSizeLimit);
    const h = await setupLmdb(rowsOf(sets.b), { frameSizeLimit });
    try {
      for (const filter of [{ kinds: [1] }, [{ kinds: [1] }]]) {
        const r = reconcileVia(h, 'sync-1', sets.a, filter);
        assertSameSet(r.have, sets.onlyA, 'have');
        assertSameSet(r.need, sets.onlyB, 'need');
        if (frameSizeLimit) assert.ok(r.rounds > 1);
      }
      assert.equal(h.s.size, 0, 'NEG-CLOSE freed the session');
      assert.ok(h.sent.every((m) => m[0] === 'NEG-MSG'), 'no NEG-CLOSE reply, no NEG-ERR, no NOTICE');
    } finally {
      h.s.close();
      await h.destroy();
    }
  }
});

test('the filter selects the items (LMDB store)', async () => {
  const sets = makeSets(500, 0, 8);
  const rows = [...rowsOf(sets.a, 1), ...rowsOf(makeSets(300, 0, 9).a, 7)];
  const h = await setupLmdb(rows);
  try {
    const r = reconcileVia(h, 'k1', sets.a, { kinds: [1] });
    assert.equal(r.have.length + r.need.length, 0, 'kind-7 rows are not part of the session');
    const r7 = reconcileVia(h, 'k7', sets.a, { kinds: [7] });
    assert.equal(r7.have.length, 500);
    assert.equal(r7.need.length, 300);
  } finally {
    h.s.close();
    await h.destroy();
  }
});

test('nostr-tools initiator against the relay handler (LMDB store)', async () => {
  const nt = await loadNostrToolsNip77();
  const sets = makeSets(10000, 0.1, 12);
  const h = await setupLmdb(rowsOf(sets.b), { frameSizeLimit: 60000 });
  try {
    const neg = new nt.Negentropy(ntStorage(nt, sets.a), 60000);
    const have = new Set<string>();
    const need = new Set<string>();
    h.s.handle(['NEG-OPEN', 'nt', { kinds: [1] }, neg.initiate()]);
    for (;;) {
      const m = h.last();
      assert.equal(m[0], 'NEG-MSG');
      const out = neg.reconcile(m[2] as string, (id) => have.add(id), (id) => need.add(id));
      if (out === null) break;
      h.s.handle(['NEG-MSG', 'nt', out]);
    }
    assertSameSet([...have], sets.onlyA, 'have');
    assertSameSet([...need], sets.onlyB, 'need');
  } finally {
    h.s.close();
    await h.destroy();
  }
});

test('too many matching events: NEG-ERR blocked:, no session', () => {
  const h = setup(rowsOf(makeSets(50, 0, 1).a), { maxItems: 10 });
  h.s.handle(['NEG-OPEN', 'big', {}, '6100000200']);
  assert.deepEqual(h.last().slice(0, 2), ['NEG-ERR', 'big']);
  assert.match(h.last()[2] as string, /^blocked: /);
  assert.equal(h.s.size, 0);
});

test('sessions per connection are limited; replacing a subId does not count twice', () => {
  const h = setup([], { maxSessionsPerConnection: 2 });
  h.s.handle(['NEG-OPEN', 'a', {}, '6100000200']);
  h.s.handle(['NEG-OPEN', 'b', {}, '6100000200']);
  assert.equal(h.s.size, 2);
  h.s.handle(['NEG-OPEN', 'b', {}, '6100000200']);
  assert.deepEqual(h.last(), ['NEG-MSG', 'b', '6100000200']);
  assert.equal(h.s.size, 2);
  h.s.handle(['NEG-OPEN', 'c', {}, '6100000200']);
  assert.equal(h.last()[0], 'NEG-ERR');
  assert.match(h.last()[2] as string, /^blocked: too many concurrent/);
  h.s.handle(['NEG-CLOSE', 'a']);
  h.s.handle(['NEG-OPEN', 'c', {}, '6100000200']);
  assert.deepEqual(h.last(), ['NEG-MSG', 'c', '6100000200']);
});

test('NEG-OPEN on an open subId replaces the session (fresh state, fresh items)', () => {
  const rows = rowsOf(makeSets(3000, 0, 2).a);
  const h = setup(rows);
  const mine = makeSets(3000, 0, 3).a; // entirely different items: a multi-round session
  const ini = new NegentropyInitiator(new NegentropyStorage(buildItems(mine)));
  h.s.handle(['NEG-OPEN', 'x', {}, ini.initiate()]);
  const r = ini.reconcile(h.last()[2] as string);
  assert.ok(r.output !== null);
  rows.length = 0; // the store changed; a new NEG-OPEN sees the new item set
  const calls = h.store.calls;
  h.s.handle(['NEG-OPEN', 'x', {}, '6100000200']);
  assert.equal(h.store.calls, calls + 1);
  assert.deepEqual(h.last(), ['NEG-MSG', 'x', '6100000200']);
  assert.equal(h.s.size, 1);
});

test('bad messages get NEG-ERR closed: and never a NOTICE', () => {
  const id = 'ab'.repeat(32);
  const h = setup([{ created_at: 5, id, kind: 1 }]);
  const cases: Array<[unknown[], RegExp]> = [
    [['NEG-OPEN', 's', {}, 'zz'], /^closed: invalid: invalid hex/],
    [['NEG-OPEN', 's', {}, '6'], /^closed: invalid: odd-length hex/],
    [['NEG-OPEN', 's', {}, '50'], /^closed: invalid: invalid protocol version/],
    [['NEG-OPEN', 's', {}, '6181'], /^closed: invalid: truncated varint/],
    [['NEG-OPEN', 's', {}, 42], /^closed: invalid: negentropy message must be a hex string/],
    [['NEG-OPEN', 's', {}], /^closed: invalid: NEG-OPEN must be/],
    [['NEG-OPEN', 's', 'nope', '61'], /^closed: invalid: filter must be an object/],
    [['NEG-OPEN', 's', [{}, {}], '61'], /^closed: invalid: NEG-OPEN takes exactly one filter/],
    [['NEG-OPEN', 's', { bogus: 1 }, '61'], /^closed: unsupported: filter field/],
    [['NEG-OPEN', 's', { kinds: 'x' }, '61'], /^closed: invalid: filter field kinds/],
    [['NEG-OPEN', 's'.repeat(65), {}, '61'], /^closed: invalid: subscription id longer than 64/],
    [['NEG-OPEN', 7, {}, '61'], /^closed: invalid: subscription id must be/],
    [['NEG-MSG', 'nobody', '61'], /^closed: unknown session/],
  ];
  for (const [msg, re] of cases) {
    h.sent.length = 0;
    h.s.handle(msg);
    assert.equal(h.sent.length, 1, JSON.stringify(msg));
    const m = h.last();
    assert.equal(m[0], 'NEG-ERR', JSON.stringify(msg));
    assert.equal(m[1], typeof msg[1] === 'string' ? msg[1] : '');
    assert.match(m[2] as string, re, JSON.stringify(msg));
    assert.equal(h.s.size, 0, `no session left by ${JSON.stringify(msg)}`);
  }
  // a bad NEG-MSG closes the open session it names
  for (const bad of [['NEG-MSG', 's', 'xyz'], ['NEG-MSG', 's', '61', 'extra'], ['NEG-MSG', 's', 5], ['NEG-MSG', 's', '6103']]) {
    h.s.handle(['NEG-OPEN', 's', {}, '6100000200']);
    assert.equal(h.last()[0], 'NEG-MSG');
    h.s.handle(bad);
    assert.equal(h.last()[0], 'NEG-ERR', JSON.stringify(bad));
    assert.match(h.last()[2] as string, /^closed: /);
    assert.equal(h.s.size, 0);
    h.s.handle(['NEG-MSG', 's', '61']);
    assert.match(h.last()[2] as string, /^closed: unknown session/);
  }
  // a foreign protocol version is answered with ours, not an error
  h.s.handle(['NEG-OPEN', 'v', {}, '62']);
  assert.deepEqual(h.last(), ['NEG-MSG', 'v', '61']);
  // NEG-CLOSE is never answered, even when malformed or unknown
  const n = h.sent.length;
  h.s.handle(['NEG-CLOSE', 'unknown']);
  h.s.handle(['NEG-CLOSE']);
  h.s.handle(['NEG-CLOSE', 5]);
  assert.equal(h.sent.length, n);
  assert.ok(h.sent.every((m) => m[0] === 'NEG-MSG' || m[0] === 'NEG-ERR'));
});

test('idle sessions are closed by the clock; activity re-arms the timer', () => {
  const sets = makeSets(3000, 0.5, 4);
  const h = setup(rowsOf(sets.b), { idleTimeoutSeconds: 60 });
  const ini = new NegentropyInitiator(new NegentropyStorage(buildItems(sets.a)));
  h.s.handle(['NEG-OPEN', 'idle', {}, ini.initiate()]);
  h.clock.advance(59_000);
  assert.equal(h.s.size, 1);
  const r = ini.reconcile(h.last()[2] as string);
  assert.ok(r.output !== null);
  h.s.handle(['NEG-MSG', 'idle', r.output]);
  assert.equal(h.last()[0], 'NEG-MSG');
  h.clock.advance(59_000);
  assert.equal(h.s.size, 1, 'the NEG-MSG re-armed the timer');
  h.clock.advance(1_000);
  assert.equal(h.s.size, 0);
  assert.deepEqual(h.last(), ['NEG-ERR', 'idle', 'closed: session idle for 60 seconds']);
  h.s.handle(['NEG-MSG', 'idle', '61']);
  assert.match(h.last()[2] as string, /^closed: unknown session/);
  assert.equal(h.clock.pending().length, 0);
});

test('close() frees every session and cancels the timers', () => {
  const h = setup([]);
  h.s.handle(['NEG-OPEN', 'a', {}, '6100000200']);
  h.s.handle(['NEG-OPEN', 'b', {}, '6100000200']);
  h.s.close();
  assert.equal(h.s.size, 0);
  assert.equal(h.clock.pending().length, 0);
  const n = h.sent.length;
  h.s.handle(['NEG-OPEN', 'c', {}, '6100000200']);
  h.clock.advance(3_600_000);
  assert.equal(h.sent.length, n, 'nothing is sent after close');
});

test('against the real LMDB store: filter, too-many, full reconciliation', async () => {
  const t = await tempStore();
  try {
    const sets = makeSets(3000, 0.1, 77, 'few');
    const theirs = [...sets.b];
    const events = theirs.map(([created_at, id]) => fake({ id, created_at, kind: 1 }));
    const noise = makeSets(500, 0, 78).a.map(([created_at, id]) => fake({ id, created_at, kind: 7 }));
    await insertAll(t.store, [...events, ...noise]);
    const cfg = makeConfig({ negentropy: { frameSizeLimit: 4096, maxItems: 5000 } }).negentropy;
    const clock = new ManualClock(1_700_000_000_000);
    const sent: unknown[][] = [];
    const s = new Nip77Sessions(t.store, cfg, (json) => sent.push(JSON.parse(json) as unknown[]), clock);
    const h = { s, sent, clock, store: stubStore([]), cfg, last: () => sent.at(-1) as unknown[] };
    const r = reconcileVia(h, 'lmdb', sets.a, [{ kinds: [1] }]);
    assertSameSet(r.have, sets.onlyA, 'have');
    assertSameSet(r.need, sets.onlyB, 'need');
    assert.ok(r.rounds > 1);
    // more than maxItems events match {}: blocked
    const small = new Nip77Sessions(t.store, { ...cfg, maxItems: 100 }, (json) => sent.push(JSON.parse(json) as unknown[]), clock);
    small.handle(['NEG-OPEN', 'all', {}, '6100000200']);
    assert.equal(sent.at(-1)?.[0], 'NEG-ERR');
    assert.match(String(sent.at(-1)?.[2]), /^blocked: /);
    s.close();
    small.close();
  } finally {
    await t.destroy();
  }
});
