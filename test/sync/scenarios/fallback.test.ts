// Scenarios 5 and 6 (grasp.md §4): a peer without NIP-77 (a grasp-relay with negentropy off, and a
// peer that does not answer NEG-OPEN at all) is synced by REQ+EOSE with backwards paging; a peer
// that returns at most N events per REQ is asked again for the missing ids until complete.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../../src/nostr/event.js';
import { ManualClock } from '../clock.js';
import { FakePeer } from '../fake-peer.js';
import { comment, issue, keypair, repository } from '../nip34.js';
import { waitFor } from '../../helpers/wait.js';
import { engine, peerOf, put, startGrasp, startPeer, waitHas, waitIdle, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
const fakes: FakePeer[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
  for (const f of fakes) await f.close();
});

function bigRepo(services: string[], relayUrls: string[], n: number): { all: NostrEvent[]; announcement: NostrEvent } {
  const repo = repository(keypair('olivia'), 'big', { services, relays: relayUrls });
  const extra: NostrEvent[] = [];
  const bob = keypair('bob');
  for (let i = 0; i < n; i++) {
    const iss = issue(bob, repo.address, `issue ${i}`);
    extra.push(iss);
    if (i % 3 === 0) extra.push(comment(bob, iss, `comment ${i}`));
  }
  return { all: [...repo.all, ...extra], announcement: repo.announcement };
}

test('5a. peer without NIP-77 (negentropy off) → REQ+EOSE with paging beyond one page', async () => {
  const peer = await startPeer({ negentropy: { enabled: false }, limits: { maxLimit: 10 } });
  const local = await startGrasp();
  relays.push(peer, local);
  const repo = bigRepo([local.url], [peer.url], 45);
  await put(peer, repo.all);
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all, 15_000, 'everything via REQ paging');
  await waitIdle(local, peer.url);
  const p = peerOf(local, peer.url);
  assert.equal(p.status().nip77, 'no');
  assert.ok(p.stats.reqPages > 8, `paged (${p.stats.reqPages} pages)`);
});

test('5b. peer that never answers NEG-OPEN → fallback after the timeout (injected clock)', async () => {
  const clock = new ManualClock();
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'silent', req: 'ok', ignoreFilters: false, maxPerReq: 7 };
  const local = await startGrasp({ clock });
  relays.push(local);
  const repo = bigRepo([local.url], [fake.url], 20);
  for (const e of repo.all) fake.events.push(e);
  await put(local, [repo.announcement]);
  await waitFor(() => fake.seen('NEG-OPEN').length > 0, 5000, 'NEG-OPEN');
  assert.equal(fake.seen('REQ').filter((m) => (m[2] as { limit?: number }).limit !== 0).length, 0);
  clock.advance(10_000);
  await waitHas(local, repo.all, 10_000, 'everything via REQ after the NEG timeout');
  assert.equal(peerOf(local, fake.url).status().nip77, 'no');
  assert.equal(fake.seen('NEG-OPEN').length, 1, 'NIP-77 not asked again until the daily resync');
  clock.advance(25 * 3600_000);
  await waitFor(() => fake.seen('NEG-OPEN').length === 2, 5000, 'NIP-77 asked again after the daily timer');
});

test('6. peer returning at most N events per REQ → missing ids re-requested until complete', async () => {
  const peer = await startPeer({ limits: { maxLimit: 10 } });
  const local = await startGrasp({ sync: { fetchChunk: 25 } });
  relays.push(peer, local);
  const repo = bigRepo([local.url], [peer.url], 40);
  await put(peer, repo.all);
  // hold a little locally so NIP-77 (not a plain REQ) runs for the repository's filters
  // (issues nobody comments on: stored behind the write path's back, they are not roots here)
  for (const e of repo.all.filter((x) => x.content === 'issue 1' || x.content === 'issue 2')) await local.store.insert(e, JSON.stringify(e));
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all, 15_000, 'everything despite the per-REQ cap');
  const s = engine(local).status().peers[0]!;
  assert.equal(s.nip77, 'yes');
  const p = peerOf(local, peer.url);
  assert.ok(p.stats.fetchRetries >= 1, 'missing ids were asked for again');
  assert.ok(p.stats.fetchReqs > Math.ceil(repo.all.length / 25), `${p.stats.fetchReqs} fetch REQs`);
});

test('6b. peer allowing a single NIP-77 session: we lower ours and still get everything', async () => {
  const peer = await startPeer({ negentropy: { maxSessionsPerConnection: 1 } });
  const local = await startGrasp();
  relays.push(peer, local);
  const repo = bigRepo([local.url], [peer.url], 12);
  await put(peer, repo.all);
  for (const e of repo.all.filter((x) => x.content === 'issue 1' || x.content === 'issue 2')) await local.store.insert(e, JSON.stringify(e));
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all, 15_000, 'everything with one NIP-77 session at a time');
  await waitIdle(local, peer.url);
  assert.equal(peerOf(local, peer.url).status().nip77, 'yes');
});
