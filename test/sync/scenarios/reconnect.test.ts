// Scenarios 7, 8, 9 and 12 (grasp.md §4), time injected: quick reconnect after a peer restart
// within 15 minutes (gap events arrive, no full resync); stale reconnect after the window (full
// resync); the daily timer repairs drift; a restart of this relay within 15 minutes is a quick
// reconnect from persisted state; a peer that is down backs off 5 s doubling to 1 h, then daily.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { FakePeer } from '../fake-peer.js';
import { comment, issue, keypair, repository } from '../nip34.js';
import { sign } from '../../helpers/events.js';
import { waitFor } from '../../helpers/wait.js';
import { peerOf, put, startGrasp, startPeer, waitHas, waitIdle, type TestRelay } from './setup.js';
import type { Peer } from '../../../src/sync/peer.js';

const relays: TestRelay[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy().catch(() => undefined);
});

const MIN = 60_000;
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Advance the manual clock to the peer's next reconnect attempt. */
function advanceToRetry(clock: ManualClock, p: Peer): void {
  const at = p.health.nextRetryAt;
  if (at === undefined) throw new Error('no retry scheduled');
  clock.advance(Math.max(0, at - clock.now()));
}

async function syncedPair(name: string) {
  const clock = new ManualClock();
  // the ws transport: after relay.close() a uWS relay cannot listen on the same port again in
  // the same process while a client's connection to it lingers (reported to the relay core),
  // and these peers restart on their port
  const peer = await startPeer({ server: { transport: 'ws' } });
  const local = await startGrasp({ clock });
  relays.push(peer, local);
  const repo = repository(keypair(name), name, { services: [local.url], relays: [peer.url] });
  await put(peer, repo.all);
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all);
  await waitIdle(local, peer.url);
  return { clock, peer, local, repo, p: peerOf(local, peer.url) };
}

test('7a. quick reconnect: peer restarted within 15 minutes → gap events arrive, no full resync', async () => {
  const { clock, peer, local, repo, p } = await syncedPair('quick');
  assert.equal(p.lastMode, 'fresh');
  const negBefore = p.stats.negSessions;
  const { port, dataDir } = peer;
  await peer.close();
  await waitFor(() => p.state === 'backoff', 5000, 'peer seen down');
  clock.advance(3 * MIN);
  const peer2 = await startPeer({ server: { port, transport: 'ws' } }, { dataDir });
  relays.push(peer2);
  const iss = repo.rest.find((e) => e.kind === 1621)!;
  const gap = [issue(keypair('gap'), repo.address, 'during the gap', nowSec()), comment(keypair('gap'), iss, 'gap comment', nowSec())];
  await put(peer2, gap);
  await waitFor(() => p.state !== 'connecting', 5000);
  advanceToRetry(clock, p);
  await waitFor(() => p.state === 'connected', 5000, 'reconnected');
  assert.equal(p.lastMode, 'quick');
  await waitHas(local, gap, 5000, 'gap events');
  await waitIdle(local, peer2.url);
  assert.equal(p.stats.fresh, 1);
  // no full resync: no NIP-77 session at all (catch-up is REQ since; the new root's filters
  // hold nothing locally, so they are plain REQs too)
  assert.equal(p.stats.negSessions - negBefore, 0);
});

test('7b. stale reconnect after the 15-minute window → full resync', async () => {
  const { clock, peer, local, p } = await syncedPair('stale');
  const negBefore = p.stats.negSessions;
  const { port, dataDir } = peer;
  await peer.close();
  await waitFor(() => p.state === 'backoff', 5000, 'peer seen down');
  clock.advance(16 * MIN);
  const peer2 = await startPeer({ server: { port, transport: 'ws' } }, { dataDir });
  relays.push(peer2);
  await waitFor(() => p.state !== 'connecting', 5000);
  advanceToRetry(clock, p);
  await waitFor(() => p.state === 'connected', 5000, 'reconnected');
  assert.equal(p.lastMode, 'stale');
  await waitIdle(local, peer2.url);
  assert.ok(p.stats.negSessions - negBefore >= 5, 'L1, L2 and L3 synced again');
});

test('8. the daily timer (23–25 h, injected clock) runs a fresh sync that repairs drift', async () => {
  const { clock, peer, local, repo, p } = await syncedPair('daily');
  // drift: an event the peer stores without fanning it out to live subscribers
  const drift = issue(keypair('drift'), repo.address, 'missed by live');
  const r = await peer.store.insert(drift, JSON.stringify(drift));
  assert.equal(r.status, 'stored');
  clock.advance(22 * 3600_000);
  assert.equal(p.stats.daily, 0);
  clock.advance(3 * 3600_000 + 1000);
  assert.equal(p.stats.daily, 1);
  await waitHas(local, [drift], 5000, 'drifted event');
  await waitIdle(local, peer.url);
});

test('9. restart of this relay within 15 minutes → quick reconnect from persisted state', async () => {
  const clock = new ManualClock();
  const peer = await startPeer();
  relays.push(peer);
  let local = await startGrasp({ clock });
  const { port, dataDir } = local;
  const repo = repository(keypair('restart'), 'restart', { services: [local.url], relays: [peer.url] });
  await put(peer, repo.all);
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all);
  await waitIdle(local, peer.url);
  await local.close();

  clock.advance(5 * MIN);
  const gap = issue(keypair('gap'), repo.address, 'while we were down', nowSec());
  await put(peer, [gap]);
  local = await startGrasp({ clock, dataDir, overrides: { server: { port } } });
  relays.push(local);
  const p = peerOf(local, peer.url);
  await waitFor(() => p.state === 'connected', 5000, 'connected after restart');
  assert.equal(p.lastMode, 'quick');
  await waitHas(local, [gap], 5000, 'gap event');
  await waitIdle(local, peer.url);
  assert.equal(p.stats.fresh + p.stats.stale, 0);
  assert.equal(p.stats.negSessions, 0, 'no NIP-77 resync');
});

test('12. a peer that is down: backoff 5 s doubling, capped at 1 h, dead after a day; back → sync resumes', async () => {
  const clock = new ManualClock();
  const probe = await FakePeer.start();
  const port = probe.port;
  await probe.close();
  const url = `ws://127.0.0.1:${port}`;
  const local = await startGrasp({ clock });
  relays.push(local);
  const repo = repository(keypair('down'), 'down', { services: [local.url], relays: [url] });
  await put(local, [repo.announcement]);
  const p = peerOf(local, url);
  const delays: number[] = [];
  for (let i = 1; ; i++) {
    await waitFor(() => p.health.failures === i && p.state !== 'connecting', 5000, `failure ${i}`);
    const d = p.health.nextRetryAt! - clock.now();
    delays.push(d);
    if (p.state === 'dead') break;
    if (i > 60) throw new Error('never dead');
    clock.advance(d);
  }
  assert.deepEqual(delays.slice(0, 5), [5000, 10_000, 20_000, 40_000, 80_000]);
  assert.ok(delays.slice(0, -1).every((d) => d <= 3600_000));
  assert.ok(delays.includes(3600_000));
  assert.equal(delays[delays.length - 1], 24 * 3600_000);
  assert.ok(p.status().lastError !== null);

  const peer = await startPeer({ server: { port } });
  relays.push(peer);
  await put(peer, repo.all);
  // a fresh announcement noted by nobody: the repo's history is there now
  await put(peer, [sign(keypair('x'), { kind: 1, content: 'noise' })]);
  advanceToRetry(clock, p);
  await waitHas(local, repo.all, 5000, 'history once the peer is back');
  assert.equal(p.health.failures, 0);
});
