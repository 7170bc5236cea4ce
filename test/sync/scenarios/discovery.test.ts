// Scenarios 1, 2 and 4 (grasp.md §4): an announcement naming a peer pulls the repository's
// history from it; announcements learned from a peer lead to further peers; an announcement
// that does not list the service is not stored. Real relays on loopback.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { announcement, keypair, repository } from '../nip34.js';
import { engine, ids, put, startGrasp, startPeer, waitHas, waitIdle, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
});

test('1. a new announcement naming a peer pulls state, issues, patches, PRs, comments, statuses', async () => {
  const peer = await startPeer();
  const local = await startGrasp();
  relays.push(peer, local);
  const repo = repository(keypair('alice'), 'one', { services: [local.url], relays: [peer.url] });
  await put(peer, repo.all);
  // unrelated noise on the peer that must not come over
  const noise = repository(keypair('mallory'), 'noise', { relays: [peer.url] });
  await put(peer, noise.all);

  await put(local, [repo.announcement]);
  await waitHas(local, repo.all, 10_000, 'repository history');
  await waitIdle(local, peer.url);
  for (const e of noise.all) assert.ok(!local.store.has(e.id), `noise kind ${e.kind} must not be stored`);
  const st = engine(local).status();
  const p = st.peers.find((x) => x.url === peer.url)!;
  assert.equal(p.nip77, 'yes');
  assert.equal(p.repositories, 1);
  assert.equal(p.roots, 3);
  assert.ok(p.accepted >= repo.rest.length);
  assert.equal(p.pendingBatches, 0);
});

test('2. recursive discovery: an announcement synced from B lists C, and C is synced too', async () => {
  const b = await startPeer();
  const c = await startPeer();
  const local = await startGrasp();
  relays.push(b, c, local);
  const bob = keypair('bob');
  // repo X lives on B; repo Y is announced on B but its history lives only on C
  const x = repository(bob, 'x', { services: [local.url], relays: [b.url] });
  const y = repository(keypair('carol'), 'y', { services: [local.url], relays: [c.url] });
  await put(b, [...x.all, y.announcement]);
  await put(c, y.all);

  await put(local, [x.announcement]);
  await waitHas(local, [...x.all, ...y.all], 10_000, 'X from B and Y from C');
  assert.ok(engine(local).peer(c.url) !== undefined, 'C became a peer');
  assert.ok(engine(local).peer(local.url) === undefined, 'never a peer of itself');
});

test('4. an announcement on a peer that does not list the service is not stored', async () => {
  const peer = await startPeer();
  const local = await startGrasp();
  relays.push(peer, local);
  const ok = repository(keypair('dave'), 'listed', { services: [local.url], relays: [peer.url] });
  const foreign = announcement(keypair('erin'), 'foreign', { relays: [peer.url] });
  const lookalike = announcement(keypair('erin'), 'lookalike', { relays: [peer.url, local.url.replace('127.0.0.1', '127.0.0.1.attacker.net')] });
  await put(peer, [...ok.all, foreign, lookalike]);
  await put(local, [ok.announcement]);
  await waitHas(local, ok.all);
  await waitIdle(local, peer.url);
  const anns = ids(local, { kinds: [30617] });
  assert.ok(!anns.has(foreign.id));
  assert.ok(!anns.has(lookalike.id));
  assert.ok(engine(local).status().totals.rejected >= 2);
});
