// Purgatory through the single write path (git.md §2.4) on a real relay with a test gate that holds
// every NIP-34 git event: the purgatory OK message, invisibility to REQ / COUNT / NIP-77, "duplicate:
// in purgatory", maintainer sets built over purgatory announcements, release with live fan-out,
// restart persistence, deletions by id and by address, and the expired-from-sync window.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { EventGate, GateDecision } from '../../src/relay/gate.js';
import type { PurgatoryEntry } from '../../src/store/purgatory.js';
import { TestClient } from '../helpers/client.js';
import { keypair, sign, type Keypair } from '../helpers/events.js';
import { startTestRelay, tempDir, type TestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import { loadNostrToolsNip77, ntStorage } from '../negentropy/helpers.js';
import { ManualClock } from '../sync/clock.js';

const HELD = new Set([30617, 30618, 1618, 1619]);
const MESSAGE = "purgatory: won't be served until git data arrives";

/** Holds every NIP-34 git event for 30 minutes, stores the rest; records what ingest tells it. */
class TestGate implements EventGate {
  held_: PurgatoryEntry[] = [];
  removed_: PurgatoryEntry[][] = [];
  afters = 0;
  refuseKind?: number;
  constructor(private readonly now: () => number) {}
  async admit(event: NostrEvent): Promise<GateDecision> {
    if (event.kind === this.refuseKind) return { action: 'refuse', message: 'invalid: refused by the test gate' };
    if (HELD.has(event.kind)) return { action: 'purgatory', message: MESSAGE, expiresAt: this.now() + 30 * 60_000 };
    return { action: 'store', after: async () => void this.afters++ };
  }
  removed(entries: PurgatoryEntry[]): void {
    this.removed_.push(entries);
  }
  held(entry: PurgatoryEntry): void {
    this.held_.push(entry);
  }
}

function announcement(relay: TestRelay, who: Keypair, d: string, extra: string[][] = [], created_at?: number): NostrEvent {
  const host = relay.config.service.hosts[0]!;
  return sign(who, {
    kind: 30617,
    tags: [['d', d], ['clone', `http://${host}/x/${d}.git`], ['relays', `ws://${host}`], ...extra],
    ...(created_at !== undefined ? { created_at } : {}),
  });
}

const state = (who: Keypair, d: string, created_at?: number): NostrEvent =>
  sign(who, { kind: 30618, tags: [['d', d], ['refs/heads/main', 'a'.repeat(40)], ['HEAD', 'ref: refs/heads/main']], ...(created_at !== undefined ? { created_at } : {}) });

test('purgatory through ingest: message, invisible to REQ/COUNT/NIP-77, duplicates, maintainers, release, deletions, restart', async () => {
  const dataDir = tempDir();
  const gate = new TestGate(() => Date.now());
  let relay = await startTestRelay({}, { dataDir, gate });
  let c = await TestClient.connect(relay.url);
  try {
    const owner = keypair('purg-owner');
    const maint = keypair('purg-maintainer');
    const stranger = keypair('purg-stranger');
    const ann = announcement(relay, owner, 'prg', [['maintainers', maint.pk]]);

    // held, with the GRASP message; the gate is told
    assert.deepEqual(await c.publish(ann), { ok: true, message: MESSAGE });
    assert.equal(gate.held_.length, 1);
    assert.equal(gate.held_[0]!.id, ann.id);
    assert.equal(relay.store.purgatory.get(ann.id)?.origin, 'client');
    assert.equal(relay.ingest.counts.purgatory, 1);
    assert.equal(relay.ingest.counts.stored, 0);

    // never served: REQ, COUNT, NIP-77 (the relay reports the id as one only the client has)
    assert.deepEqual((await c.req('r', { kinds: [30617] })).events, []);
    assert.deepEqual((await c.req('r2', { ids: [ann.id] })).events, []);
    assert.equal(await c.count('n', { kinds: [30617] }), 0);
    const nt = await loadNostrToolsNip77();
    const neg = new nt.Negentropy(ntStorage(nt, [[ann.created_at, ann.id]]));
    const have = new Set<string>();
    c.send(['NEG-OPEN', 'neg', { kinds: [30617] }, await neg.initiate()]);
    for (;;) {
      const m = await c.next((x) => (x[0] === 'NEG-MSG' || x[0] === 'NEG-ERR') && x[1] === 'neg');
      assert.equal(m[0], 'NEG-MSG', String(m[2]));
      const next = await neg.reconcile(m[2] as string, (id: string) => have.add(id), () => {});
      if (next === null) break;
      c.send(['NEG-MSG', 'neg', next]);
    }
    c.send(['NEG-CLOSE', 'neg']);
    assert.deepEqual([...have], [ann.id]);

    // a re-send is a duplicate
    assert.deepEqual(await c.publish(ann), { ok: true, message: 'duplicate: in purgatory' });

    // a state by a maintainer listed only in the purgatory announcement is authorised (then held);
    // a stranger's is not; a PR still needs a stored announcement
    const st = state(maint, 'prg');
    assert.deepEqual(await c.publish(st), { ok: true, message: MESSAGE });
    const bad = await c.publish(state(stranger, 'prg'));
    assert.equal(bad.ok, false);
    assert.match(bad.message, /^restricted: author is not a maintainer/);
    const pr = await c.publish(sign(stranger, { kind: 1618, tags: [['a', `30617:${owner.pk}:prg`], ['c', 'b'.repeat(40)]] }));
    assert.equal(pr.ok, false, pr.message);

    // a newer version of the held announcement replaces it
    const ann2 = announcement(relay, owner, 'prg', [['maintainers', maint.pk]], ann.created_at + 1);
    assert.equal((await c.publish(ann2)).ok, true);
    assert.equal(relay.store.purgatory.has(ann.id), false);
    assert.equal(relay.store.purgatory.getAddress(30617, owner.pk, 'prg')?.id, ann2.id);
    const older = await c.publish(ann);
    assert.equal(older.ok, false, 'an older version than the held one is refused');

    // the gate may refuse; events it says to store are stored and its after() runs before the OK
    gate.refuseKind = 10317;
    const host = relay.config.service.hosts[0]!;
    assert.deepEqual(await c.publish(sign(owner, { kind: 10317, tags: [['g', `ws://${host}`]] })), { ok: false, message: 'invalid: refused by the test gate' });
    gate.refuseKind = undefined;

    // restart: purgatory survives, still invisible, re-sends still duplicates
    await c.close();
    await relay.close();
    relay = await startTestRelay({}, { dataDir, gate });
    c = await TestClient.connect(relay.url);
    assert.deepEqual(await c.publish(ann2), { ok: true, message: 'duplicate: in purgatory' });
    assert.deepEqual(await c.publish(st), { ok: true, message: 'duplicate: in purgatory' });
    assert.deepEqual((await c.req('r3', { kinds: [30617, 30618] })).events, []);

    // release: stored, fanned out to a live subscriber, gone from purgatory
    const sub = await TestClient.connect(relay.url);
    await sub.req('live', { kinds: [30617, 30618] });
    let accepted = 0;
    relay.ingest.onAccepted(() => accepted++);
    const e2 = relay.store.purgatory.get(ann2.id)!;
    const r = await relay.ingest.release(e2.event, e2.raw, e2.origin);
    assert.equal(r.status, 'stored');
    const got = await sub.next((m) => m[0] === 'EVENT' && m[1] === 'live');
    assert.equal((got[2] as NostrEvent).id, ann2.id);
    assert.equal(accepted, 1);
    assert.equal(relay.ingest.counts.released, 1);
    assert.equal(relay.store.purgatory.has(ann2.id), false);
    assert.deepEqual((await c.req('r4', { kinds: [30617] })).events.map((e) => e.id), [ann2.id]);
    assert.deepEqual(
      await c.publish(announcement(relay, owner, 'prg', [['maintainers', maint.pk]], ann2.created_at - 1)),
      { ok: false, message: 'invalid: a newer version of this replaceable event is already stored' },
      'an older version than the stored one never reaches purgatory',
    );
    await sub.close();

    // now stored, the announcement anchors a PR (stored: the test gate holds it)
    const pr2 = sign(stranger, { kind: 1618, tags: [['a', `30617:${owner.pk}:prg`], ['c', 'b'.repeat(40)]] });
    assert.deepEqual(await c.publish(pr2), { ok: true, message: MESSAGE });
    assert.deepEqual(relay.store.purgatory.get(pr2.id)?.d, ['prg']);

    // deletion by id: the author's kind 5 removes the held state; the gate is told
    const otherDel = await c.publish(sign(stranger, { kind: 5, tags: [['e', st.id]] }));
    assert.equal(otherDel.ok, false, 'another author cannot delete it');
    assert.ok(relay.store.purgatory.has(st.id));
    const delE = sign(maint, { kind: 5, tags: [['e', st.id]] });
    assert.deepEqual(await c.publish(delE), { ok: true, message: '' });
    assert.equal(relay.store.purgatory.has(st.id), false);
    assert.deepEqual(gate.removed_.map((g) => g.map((e) => e.id)), [[st.id]]);
    assert.equal(gate.afters, 1, 'the kind 5 was stored through the gate');
    const resent = await c.publish(st);
    assert.deepEqual(resent, { ok: false, message: 'blocked: this event was deleted by its author' });

    // deletion by address: only versions up to the deletion's created_at
    const ann3 = announcement(relay, owner, 'prg-two');
    assert.equal((await c.publish(ann3)).message, MESSAGE);
    const early = await c.publish(sign(owner, { kind: 5, tags: [['a', `30617:${owner.pk}:prg-two`]], created_at: ann3.created_at - 1 }));
    assert.equal(early.ok, true, early.message);
    assert.ok(relay.store.purgatory.has(ann3.id), 'a deletion older than the event leaves it');
    const delA = sign(owner, { kind: 5, tags: [['a', `30617:${owner.pk}:prg-two`]], created_at: ann3.created_at });
    assert.equal((await c.publish(delA)).ok, true);
    assert.equal(relay.store.purgatory.has(ann3.id), false);
    assert.deepEqual(gate.removed_.at(-1)!.map((e) => e.id), [ann3.id]);
  } finally {
    await c.close();
    await relay.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('purgatory: an id expired from purgatory is refused from sync for expiredRetryHours, a client re-send is admitted at once', async () => {
  const clock = new ManualClock();
  const gate = new TestGate(() => clock.now());
  const relay = await startTestRelay({ git: { expiredRetryHours: 2 } }, { clock, gate });
  const c = await TestClient.connect(relay.url);
  try {
    const owner = keypair('exp-owner');
    const ann = announcement(relay, owner, 'exp');
    const st = state(owner, 'exp');
    assert.equal((await c.publish(ann)).message, MESSAGE);
    assert.equal((await c.publish(st)).message, MESSAGE);
    const p = relay.store.purgatory;
    await p.expire(st.id, clock.now());
    assert.ok(!p.has(st.id));

    const raw = JSON.stringify(st);
    const refused = await relay.ingest.submit(st, raw, 'sync');
    assert.deepEqual(refused, { ok: false, duplicate: false, message: 'invalid: expired from purgatory without git data' });
    clock.advance(2 * 3600_000 - 1);
    assert.equal((await relay.ingest.submit(st, raw, 'sync')).ok, false, 'still inside the window');
    clock.advance(1);
    const again = await relay.ingest.submit(st, raw, 'sync');
    assert.deepEqual(again, { ok: true, duplicate: false, message: MESSAGE });
    assert.equal(p.get(st.id)?.origin, 'sync');
    assert.equal(p.expiredAt(st.id), undefined, 'admitted for one more round');

    // a client re-send is admitted at once
    await p.expire(st.id, clock.now());
    assert.deepEqual(await c.publish(st), { ok: true, message: MESSAGE });
    assert.equal(p.get(st.id)?.origin, 'client');
    assert.equal(p.expiredAt(st.id), undefined);
    await waitFor(() => gate.held_.length === 4, 5000, 'held notifications');
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('without a gate, purgatory is not consulted and every accepted event is stored', async () => {
  const relay = await startTestRelay();
  const c = await TestClient.connect(relay.url);
  try {
    const owner = keypair('nogate-owner');
    const ann = announcement(relay, owner, 'nogate');
    assert.deepEqual(await c.publish(ann), { ok: true, message: '' });
    assert.deepEqual((await c.req('r', { kinds: [30617] })).events.map((e) => e.id), [ann.id]);
    assert.deepEqual(relay.store.purgatory.counts(), { byKind: {}, dormant: 0, expired: 0, nostrRefs: 0 });
  } finally {
    await c.close();
    await relay.destroy();
  }
});
