// Scenario 11 (grasp.md §4) and other misbehaviour: a peer that answers with CLOSED, never sends
// EOSE, drops the connection mid-sync, says rate-limited, or sends garbage. The batch fails, is
// retried with backoff (injected clock), and nothing stays pending.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { FakePeer, type FakeBehaviour } from '../fake-peer.js';
import { keypair, repository } from '../nip34.js';
import { waitFor } from '../../helpers/wait.js';
import { peerOf, put, startGrasp, waitHas, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
const fakes: FakePeer[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
  for (const f of fakes) await f.close();
});

async function setup(req: FakeBehaviour['req'], name: string) {
  const clock = new ManualClock();
  const fake = await FakePeer.start();
  fake.behaviour = { neg: 'notice', req, ignoreFilters: false, maxPerReq: 1000 };
  const local = await startGrasp({ clock });
  relays.push(local);
  fakes.push(fake);
  const repo = repository(keypair(name), name, { services: [local.url], relays: [fake.url] });
  for (const e of repo.all) fake.events.push(e);
  await put(local, [repo.announcement]);
  return { clock, fake, local, repo };
}

const historicReqs = (fake: FakePeer): number => fake.seen('REQ').filter((m) => (m[2] as { limit?: number }).limit !== 0).length;

test('11a. CLOSED fails the batch; retried with backoff; completes when the peer behaves', async () => {
  const { clock, fake, local, repo } = await setup('closed', 'closedrepo');
  const p = peerOf(local, fake.url);
  await waitFor(() => p.stats.failedBatches >= 1 && p.status().pendingBatches === 0, 5000, 'failed batch');
  assert.ok(p.status().nextRetryAt !== null);
  assert.match(p.status().lastError ?? '', /CLOSED/);
  fake.behaviour.req = 'ok';
  clock.advance(5000);
  await waitHas(local, repo.all, 5000);
  await waitFor(() => p.idle, 5000, 'idle');
});

test('11b. missing EOSE: the batch times out (60 s, injected), is retried, nothing stays pending', async () => {
  const { clock, fake, local, repo } = await setup('no-eose', 'noeose');
  const p = peerOf(local, fake.url);
  await waitFor(() => historicReqs(fake) >= 1 && p.status().pendingBatches === 1, 5000, 'historic REQ');
  clock.advance(59_000);
  assert.equal(p.stats.failedBatches, 0);
  clock.advance(1_000);
  await waitFor(() => p.stats.failedBatches === 1 && p.status().pendingBatches === 0, 5000, 'batch failed');
  // the retry comes after the backoff, not before
  const before = historicReqs(fake);
  fake.behaviour.req = 'ok';
  clock.advance(4_000);
  assert.equal(historicReqs(fake), before);
  clock.advance(1_000);
  await waitHas(local, repo.all, 5000);
  await waitFor(() => p.idle, 5000, 'idle');
});

test('11c. connection dropped mid-sync → reconnect with backoff → completes', async () => {
  const { clock, fake, local, repo } = await setup('drop', 'droprepo');
  const p = peerOf(local, fake.url);
  await waitFor(() => p.state === 'backoff', 5000, 'backoff after drop');
  fake.behaviour.req = 'ok';
  clock.advance(5000);
  await waitHas(local, repo.all, 5000);
  assert.ok(fake.connections >= 2);
});

test('11d. rate-limited: new work pauses 65 s', async () => {
  const { clock, fake, local, repo } = await setup('rate-limited', 'ratelimited');
  const p = peerOf(local, fake.url);
  await waitFor(() => p.status().pausedUntil !== null && p.status().pendingBatches === 0, 5000, 'paused');
  fake.behaviour.req = 'ok';
  clock.advance(30_000);
  assert.ok(!repo.all.every((e) => local.store.has(e.id)));
  clock.advance(40_000);
  await waitHas(local, repo.all, 5000);
});

test('11e. garbage from the peer is ignored; the relay keeps working', async () => {
  const { fake, local, repo } = await setup('garbage-then-ok', 'garbage');
  await waitHas(local, repo.all, 5000);
  assert.equal(peerOf(local, fake.url).state, 'connected');
});
