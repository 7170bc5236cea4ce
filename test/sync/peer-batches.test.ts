// Unit tests of a peer's batches, time injected: the deadline moves with progress and fails a
// silent batch, failing cancels a wait for a slot (and gives the slot back), a NOTICE naming a
// batch's subscription fails it, drain waits for the write path, and the status counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batches } from '../../src/sync/peer-batches.js';
import { Semaphore } from '../../src/sync/wire.js';
import { ManualClock } from './clock.js';

const S = 1000;

function setup(): { clock: ManualClock; batches: Batches } {
  const clock = new ManualClock(0);
  return { clock, batches: new Batches({ clock, sync: { batchTimeoutSeconds: 60 } }) };
}

test('a batch fails after 60 s without progress; progress moves the deadline', () => {
  const { clock, batches } = setup();
  const b = batches.create('historic', ['L1']);
  clock.advance(59 * S);
  batches.touch(b);
  clock.advance(59 * S);
  const failure = (): Error | undefined => b.failed;
  assert.equal(failure(), undefined, 'touched 59 s ago');
  clock.advance(S);
  assert.match(failure()?.message ?? '', /batch timed out after 60 s without progress/);
});

test('a finished batch never times out', () => {
  const { clock, batches } = setup();
  const b = batches.create('historic', ['L1']);
  batches.finish(b);
  clock.advance(3600 * S);
  assert.equal(b.failed, undefined);
  assert.equal(batches.size, 0);
});

test('failing a batch cancels its wait for a slot, and the slot is not lost', async () => {
  const { batches } = setup();
  const sem = new Semaphore(1);
  await sem.acquire();
  const b = batches.create('historic', ['r']);
  const waiting = batches.acquire(sem, b);
  batches.fail(b, new Error('disconnected: x'));
  await assert.rejects(waiting, /disconnected: x/);
  await assert.rejects(batches.acquire(sem, b), /disconnected: x/, 'a failed batch takes no new slot');
  sem.release();
  const other = batches.create('historic', ['s']);
  await batches.acquire(sem, other); // resolves: the cancelled wait gave its slot back
  assert.equal(b.cancels.size, 0);
});

test('subscription handlers bound to a batch: traffic is progress, a NOTICE naming it fails it', () => {
  const { clock, batches } = setup();
  const b = batches.create('fetch', []);
  const notices: string[] = [];
  const h = batches.bind(b, { onNotice: (m) => notices.push(m) });
  clock.advance(30 * S);
  h.onActivity?.();
  assert.equal(b.lastActivity, 30 * S);
  const failure = (): Error | undefined => b.failed;
  h.onNotice?.('something else', false);
  assert.equal(failure(), undefined);
  h.onNotice?.('bad filter in r7', true);
  assert.deepEqual(notices, ['something else', 'bad filter in r7']);
  assert.equal(failure()?.message, 'NOTICE: bad filter in r7');
});

test('drain waits until the last event has passed the write path', async () => {
  const { batches } = setup();
  const b = batches.create('historic', ['L1']);
  await batches.drain(b); // nothing outstanding: immediate
  b.outstanding = 2;
  let drained = false;
  const p = batches.drain(b).then(() => (drained = true));
  b.outstanding--;
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  b.outstanding--;
  b.drained?.();
  await p;
  assert.equal(drained, true);
});

test('status counts: fetches are not pending work; draining batches no longer run', () => {
  const { batches } = setup();
  const h1 = batches.create('historic', ['L1']);
  batches.create('historic', ['r1']);
  batches.create('catchup', ['r2']);
  batches.create('fetch', []);
  assert.equal(batches.size, 4);
  assert.equal(batches.pending(), 3);
  assert.equal(batches.historicRunning(), 2);
  h1.draining = true;
  assert.equal(batches.historicRunning(), 1);
  batches.failAll(new Error('stopped'));
  assert.equal(h1.failed?.message, 'stopped');
});
