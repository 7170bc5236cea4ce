// Cross-implementation checks against nostr-tools' NIP-77 port: its initiator against our
// responder (complete have/need), and our initiator against its Negentropy used as responder,
// where ours must send byte-identical messages and reach the same sets as its own initiator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NegentropyInitiator, NegentropyResponder, NegentropyStorage, buildItems } from '../../src/negentropy/index.js';
import { assertSameSet, drive, loadNostrToolsNip77, makeSets, ntStorage, type NostrToolsNip77, type NtNegentropy } from './helpers.js';

const nt: NostrToolsNip77 = await loadNostrToolsNip77();

function ntInitiator(neg: NtNegentropy) {
  return {
    initiate: () => neg.initiate(),
    step(msg: string) {
      const have: string[] = [];
      const need: string[] = [];
      const output = neg.reconcile(msg, (id) => have.push(id), (id) => need.push(id));
      return { output, have, need };
    },
  };
}

test('nostr-tools initiator ↔ our responder: complete and exact have/need', () => {
  let seed = 500;
  // nostr-tools' frame limit is at least 4096 and defaults to 60000; ours follows the same limit
  for (const n of [0, 1, 31, 33, 1000, 20000]) {
    for (const d of [0, 0.01, 0.5, 1]) {
      for (const limit of [4096, 60000]) {
        const sets = makeSets(n, d, seed++, n === 1000 ? 'few' : 'spread');
        const ini = new nt.Negentropy(ntStorage(nt, sets.a), limit);
        const res = new NegentropyResponder(new NegentropyStorage(buildItems(sets.b)), { frameSizeLimit: limit });
        const r = drive(ntInitiator(ini), (m) => res.reconcile(m), limit);
        const what = `n=${n} d=${d} limit=${limit}`;
        // nostr-tools may report an id twice after frame cuts (it revisits settled ranges)
        assertSameSet([...new Set(r.have)], sets.onlyA, `have ${what}`);
        assertSameSet([...new Set(r.need)], sets.onlyB, `need ${what}`);
      }
    }
  }
});

test('our initiator ↔ nostr-tools as responder: byte-identical messages, same sets as its own initiator', () => {
  // nostr-tools' Negentropy has no responder role: it answers an IdList with a Skip instead of
  // its own IdList, so neither initiator learns everything from it. What must hold is that our
  // initiator speaks exactly like nostr-tools' initiator (no frame cuts at these sizes, where the
  // two implementations' cut fingerprints would legitimately differ) and ends with the same sets.
  let seed = 900;
  let compared = 0;
  for (const n of [0, 1, 31, 33, 1000, 10000]) {
    for (const d of [0, 0.01, 0.5, 1]) {
      const sets = makeSets(n, d, seed++);
      const ours = new NegentropyInitiator(new NegentropyStorage(buildItems(sets.a)), { frameSizeLimit: 60000 });
      const theirs = new nt.Negentropy(ntStorage(nt, sets.a), 60000);
      const res1 = new nt.Negentropy(ntStorage(nt, sets.b), 60000);
      const res2 = new nt.Negentropy(ntStorage(nt, sets.b), 60000);
      // nostr-tools answers null where a responder would answer the bare version byte
      const a = drive({ initiate: () => ours.initiate(), step: (m) => ours.reconcile(m) }, (m) => res1.reconcile(m) ?? '61', 60000);
      const b = drive(ntInitiator(theirs), (m) => res2.reconcile(m) ?? '61', 60000);
      const what = `n=${n} d=${d}`;
      for (const id of a.have) assert.ok(sets.onlyA.has(id), `have ${what}`);
      for (const id of a.need) assert.ok(sets.onlyB.has(id), `need ${what}`);
      // a message near the limit means a frame cut may have happened: skip the exact comparison
      if (Math.max(a.maxBytes, b.maxBytes) > 60000 - 200 - 1200) continue;
      compared++;
      assert.deepEqual(a.sent, b.sent, `messages ${what}`);
      assert.deepEqual([...a.have].sort(), [...new Set(b.have)].sort(), `have ${what}`);
      assert.deepEqual([...a.need].sort(), [...new Set(b.need)].sort(), `need ${what}`);
    }
  }
  assert.ok(compared >= 20, `only ${compared} runs compared exactly`);
});

test('our responder answers nostr-tools exactly as the reference algorithm would (spot check)', () => {
  // one fingerprint mismatch at the top level: both sides split into the same 16 buckets, so our
  // reply and nostr-tools' reply (same algorithm for Fingerprint ranges) must be identical
  const sets = makeSets(5000, 0.01, 4242);
  const msg = new nt.Negentropy(ntStorage(nt, sets.a), 60000).initiate();
  const ours = new NegentropyResponder(new NegentropyStorage(buildItems(sets.b)), { frameSizeLimit: 60000 }).reconcile(msg);
  const theirs = new nt.Negentropy(ntStorage(nt, sets.b), 60000).reconcile(msg);
  assert.equal(ours, theirs);
});
