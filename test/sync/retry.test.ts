// Unit tests: the bounded retry set (full events for minutes, ids for days, refused ids) and
// which waiting events an accepted event unblocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/nostr/event.js';
import { RetrySet } from '../../src/sync/retry.js';

let n = 0;
const hex = (i: number): string => i.toString(16).padStart(64, '0');
function ev(kind: number, tags: string[][] = [], pubkey = hex(7)): NostrEvent {
  n++;
  return { id: hex(n), pubkey, created_at: 1000 + n, kind, tags, content: '', sig: '0'.repeat(128) };
}

test('an event waiting for an id is returned (and removed) when that id is accepted', () => {
  const r = new RetrySet();
  const issue = ev(1621);
  const comment = ev(1111, [['E', issue.id]]);
  r.addWaiting(comment, JSON.stringify(comment), [issue.id], 'wss://a', 0);
  assert.ok(r.known(comment.id, 0));
  assert.deepEqual(r.dependents(ev(1), 0), []);
  const deps = r.dependents(issue, 0);
  assert.equal(deps.length, 1);
  assert.equal(deps[0]!.event!.id, comment.id);
  assert.equal(r.waitingSize, 0);
  assert.ok(!r.known(comment.id, 0));
});

test('state and maintainer announcements wait on any announcement with the same d', () => {
  const r = new RetrySet();
  const state = ev(30618, [['d', 'repo']], hex(900));
  r.addWaiting(state, '{}', [`30617:${hex(900)}:repo`], undefined, 0);
  const owner = ev(30617, [['d', 'repo']], hex(901));
  const deps = r.dependents(owner, 0);
  assert.deepEqual(
    deps.map((d) => d.id),
    [state.id],
  );
});

test('full events are dropped to ids after the full TTL; ids are refetched from their relay', () => {
  const r = new RetrySet({ fullTtlMs: 1000, idTtlMs: 10_000 });
  const issue = ev(1621);
  const c = ev(1111, [['e', issue.id]]);
  r.addWaiting(c, '{}', [issue.id], 'wss://peer', 0);
  r.prune(2000);
  assert.equal(r.fullSize, 0);
  assert.ok(r.known(c.id, 2000));
  const deps = r.dependents(issue, 2000);
  assert.deepEqual(deps, [{ id: c.id, relay: 'wss://peer' }]);
});

test('ids expire after the id TTL', () => {
  const r = new RetrySet({ fullTtlMs: 1000, idTtlMs: 10_000 });
  const c = ev(1111);
  r.addWaiting(c, '{}', [hex(1)], undefined, 0);
  r.prune(10_001);
  assert.ok(!r.known(c.id, 10_001));
  assert.equal(r.waitingSize, 0);
});

test('bounds: at most maxEvents full events and maxIds ids, oldest go first', () => {
  const r = new RetrySet({ maxEvents: 10, maxIds: 50 });
  const evs: NostrEvent[] = [];
  for (let i = 0; i < 100; i++) {
    const e = ev(1111);
    evs.push(e);
    r.addWaiting(e, '{}', [hex(5_000_000 + i)], undefined, 0);
  }
  assert.equal(r.fullSize, 10);
  assert.ok(r.waitingSize <= 50);
  assert.ok(r.known(evs[99]!.id, 0));
  assert.ok(!r.known(evs[0]!.id, 0));
  for (let i = 0; i < 100; i++) r.addRefused(hex(9_000_000 + i), 0);
  assert.ok(r.waitingSize + r.refusedSize <= 50);
});

test('refused ids are known until their TTL', () => {
  const r = new RetrySet({ refusedTtlMs: 100 });
  r.addRefused(hex(42), 0);
  assert.ok(r.known(hex(42), 99));
  assert.ok(!r.known(hex(42), 100));
});
