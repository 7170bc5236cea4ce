// Scenario 10 (grasp.md §4): out-of-order arrival — a comment before its issue, an issue and a
// state before their announcement, a maintainer's announcement before the owner's — is all
// accepted once the dependency arrives, in the same round, without waiting for a resync.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePeer } from '../fake-peer.js';
import { addressOf, announcement, comment, issue, keypair, state } from '../nip34.js';
import { engine, put, startGrasp, waitHas, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
const fakes: FakePeer[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
  for (const f of fakes) await f.close();
});

test('10. out-of-order arrival is repaired through the retry set', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  const local = await startGrasp();
  relays.push(local);
  const owner = keypair('owner');
  const maint = keypair('maintainer');
  const ownerAnn = announcement(owner, 'ooo', { services: [local.url], relays: [fake.url], maintainers: [owner.pk, maint.pk] });
  const maintAnn = announcement(maint, 'ooo', { relays: [fake.url], maintainers: [owner.pk] });
  const addr = addressOf(owner, 'ooo');
  const iss = issue(keypair('reporter'), addr);
  const cmt = comment(keypair('commenter'), iss);
  const st = state(maint, 'ooo');
  // every REQ is answered with all of them, dependents first
  fake.behaviour = { neg: 'notice', req: 'ok', ignoreFilters: true, maxPerReq: 1000 };
  for (const e of [cmt, iss, st, maintAnn, ownerAnn]) fake.events.push(e);

  const trigger = announcement(keypair('trigger'), 'trigger', { services: [local.url], relays: [fake.url] });
  await put(local, [trigger]);
  await waitHas(local, [ownerAnn, maintAnn, st, iss, cmt], 10_000, 'all out-of-order events');
  assert.ok(engine(local).status().totals.rejected >= 1, 'something was refused at first');
});
