// The live subscription index against the naive loop (every filter against every event), on
// generated events and a mix of id / author / tag / kind / catch-all filters, through add, remove
// and re-add; and fanOut's once-per-subscription delivery.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateNip34, generateNotes, prng } from '../../bench/generator.js';
import { SubscriptionIndex, type LiveSubscription } from '../../src/live/subscription-index.js';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { matchFilters } from '../../src/nostr/filter.js';

function randomFilters(events: NostrEvent[], rand: () => number): Filter[] {
  const ev = (): NostrEvent => events[Math.floor(rand() * events.length)]!;
  const tagOf = (letter: string): string => {
    for (let i = 0; i < 20; i++) {
      const t = ev().tags.find((x) => x[0] === letter);
      if (t?.[1] !== undefined) return t[1];
    }
    return 'none';
  };
  const one = (): Filter => {
    const r = rand();
    if (r < 0.15) return { ids: [ev().id, ev().id] };
    if (r < 0.35) return { authors: [ev().pubkey, ev().pubkey], ...(rand() < 0.5 ? { kinds: [1, 1617] } : {}) };
    if (r < 0.5) return { '#p': [tagOf('p')], ...(rand() < 0.5 ? { '#e': [tagOf('e')] } : {}) };
    if (r < 0.6) return { '#a': [tagOf('a')] };
    if (r < 0.7) return { '#t': [tagOf('t'), 'nostr'] };
    if (r < 0.85) return { kinds: [[1], [30617, 30618], [1621, 1630]][Math.floor(rand() * 3)]! };
    if (r < 0.92) return { since: ev().created_at };
    return {};
  };
  return rand() < 0.3 ? [one(), one()] : [one()];
}

test('SubscriptionIndex matches exactly what the naive loop matches, through add/remove/re-add', () => {
  const events = [...generateNotes(300, 7), ...generateNip34({ repos: 5, events: 200, serviceHost: 'git.example', seed: 7 })];
  const rand = prng(42);
  const index = new SubscriptionIndex();
  const subs: LiveSubscription[] = Array.from({ length: 300 }, () => ({ filters: randomFilters(events, rand), deliver: () => {} }));
  for (const s of subs) index.add(s);
  // remove a third, re-add half of those: the index must not keep stale entries
  const removed = subs.filter((_, i) => i % 3 === 0);
  for (const s of removed) index.remove(s);
  for (const s of removed.filter((_, i) => i % 2 === 0)) index.add(s);
  const live = new Set(subs.filter((s, i) => i % 3 !== 0 || removed.indexOf(s) % 2 === 0));
  assert.equal(index.size, live.size);
  let total = 0;
  for (const e of events) {
    const want = [...live].filter((s) => matchFilters(s.filters, e));
    const got = index.match(e);
    assert.equal(new Set(got).size, got.length, 'each subscription once');
    assert.deepEqual(new Set(got), new Set(want), `event ${e.id} kind ${e.kind}`);
    total += got.length;
  }
  assert.ok(total > events.length, `the filters match something (${total})`);
  for (const s of subs) index.remove(s);
  assert.equal(index.size, 0);
  for (const e of events) assert.equal(index.match(e).length, 0);
});

test('fanOut delivers once per subscription even when several filters match, and skips removed ones', () => {
  const [e] = generateNotes(1, 3);
  const index = new SubscriptionIndex();
  const got: string[] = [];
  const closer: LiveSubscription = {
    filters: [{ ids: [e!.id] }],
    deliver: () => {
      got.push('closer');
      index.remove(other);
    },
  };
  const other: LiveSubscription = { filters: [{ kinds: [e!.kind] }], deliver: () => got.push('other') };
  const multi: LiveSubscription = { filters: [{ ids: [e!.id] }, { authors: [e!.pubkey] }, {}], deliver: (_ev, raw) => got.push(`multi ${raw}`) };
  index.add(multi);
  index.add(closer);
  index.add(other);
  // "closer" is filed under the id, looked up first; "other" under the kind: removed by then
  assert.equal(index.fanOut(e!, 'RAW'), 2);
  assert.deepEqual(got.sort(), ['closer', 'multi RAW']);
});

test('every condition besides the one a filter is filed under still applies (compiled checks)', () => {
  const notes = generateNotes(200, 11);
  const git = generateNip34({ repos: 3, events: 120, serviceHost: 'git.example', seed: 11 });
  const events = [...notes, ...git];
  const e = notes[5]!;
  const other = notes.find((x) => x.pubkey !== e.pubkey)!;
  const withP = events.find((x) => x.tags.some((t) => t[0] === 'p' && t[1] !== undefined))!;
  const p = withP.tags.find((t) => t[0] === 'p')![1]!;
  const withA = git.find((x) => x.tags.some((t) => t[0] === 'a'))!;
  const a = withA.tags.find((t) => t[0] === 'a')![1]!;
  const filters: Filter[] = [
    // filed under the id: authors, kinds, since and until must still be checked
    { ids: [e.id, other.id], authors: [e.pubkey] },
    { ids: [e.id], kinds: [e.kind + 1] },
    { ids: [e.id], since: e.created_at + 1 },
    { ids: [e.id], until: e.created_at - 1 },
    { ids: [e.id], until: e.created_at, since: e.created_at },
    // filed under the author: ids, kinds and tags still checked
    { authors: [e.pubkey, other.pubkey], ids: [other.id] },
    { authors: [withP.pubkey], '#p': [p], kinds: [withP.kind] },
    { authors: [withP.pubkey], '#p': ['0'.repeat(64)] },
    // filed under one tag (the shorter list): the other tag and the kinds still checked
    { '#p': [p], '#e': ['f'.repeat(64), 'e'.repeat(64)] },
    { '#a': [a], kinds: [withA.kind] },
    { '#a': [a, 'x'], '#p': [withA.pubkey], kinds: [withA.kind, 1] },
    // filed under the kinds: authors absent, tags and ids checked
    { kinds: [1], '#t': ['nostr'] },
    { kinds: [e.kind], ids: [e.id, other.id] },
    { since: e.created_at, until: e.created_at + 1000 },
    { ids: [] },
  ];
  const index = new SubscriptionIndex();
  const subs: LiveSubscription[] = filters.map((f) => ({ filters: [f], deliver: () => {} }));
  for (const s of subs) index.add(s);
  let total = 0;
  for (const ev of events) {
    const want = new Set(subs.filter((s) => matchFilters(s.filters, ev)));
    const got = index.match(ev);
    assert.deepEqual(new Set(got), want, `event ${ev.id}: got ${got.map((s) => JSON.stringify(s.filters)).join(' ')}`);
    total += got.length;
  }
  assert.ok(total > 0, 'some filters match');
});
