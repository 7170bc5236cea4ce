// Unit tests of a peer's intake: malformed, stored, in-flight and known events never reach the
// write path; outcomes are counted; a batch drains when its events are through; the socket
// pauses at 2,000 outstanding submits and resumes at 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import { Intake, type SubmitOutcome } from '../../src/sync/peer-intake.js';
import { deferred, type Deferred } from '../../src/sync/wire.js';

const hex = (n: number): string => n.toString(16).padStart(64, '0');
const ev = (n: number): Partial<NostrEvent> => ({ id: hex(n), created_at: 1 });

function setup(opts: { stored?: number[]; known?: number[] } = {}) {
  const submits: Array<{ id: string; d: Deferred<SubmitOutcome> }> = [];
  const calls: string[] = [];
  const stored = new Set((opts.stored ?? []).map(hex));
  const known = new Set((opts.known ?? []).map(hex));
  const intake = new Intake({
    url: 'ws://peer',
    log: silentLogger,
    has: (id) => stored.has(id),
    known: (id) => known.has(id),
    submit: (e) => {
      const d = deferred<SubmitOutcome>();
      submits.push({ id: e.id, d });
      return d.promise;
    },
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
  });
  return { intake, submits, calls };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('only new, well-formed, unknown events are submitted; outcomes are counted', async () => {
  const { intake, submits } = setup({ stored: [2], known: [3] });
  intake.receive({ id: 'short', created_at: 1 }, '', undefined);
  intake.receive({ id: hex(9) }, '', undefined);
  intake.receive(ev(2), '', undefined);
  intake.receive(ev(3), '', undefined);
  intake.receive(ev(4), '', undefined);
  intake.receive(ev(4), '', undefined); // the same event again while it is in the write path
  intake.receive(ev(5), '', undefined);
  assert.deepEqual(
    submits.map((s) => s.id),
    [hex(4), hex(5)],
  );
  assert.ok(intake.inWritePath(hex(4)));
  submits[0]!.d.resolve('accepted');
  submits[1]!.d.reject(new Error('boom'));
  await settle();
  assert.ok(!intake.inWritePath(hex(4)));
  assert.deepEqual(intake.counters, { received: 7, accepted: 1, rejected: 4, duplicate: 2 });
});

test('a batch drains when the last of its events is through', async () => {
  const { intake, submits } = setup();
  let drained = 0;
  const batch = { outstanding: 0, drained: () => drained++ };
  intake.receive(ev(1), '', batch);
  intake.receive(ev(2), '', batch);
  assert.equal(batch.outstanding, 2);
  submits[0]!.d.resolve('accepted');
  await settle();
  assert.equal(drained, 0);
  submits[1]!.d.resolve('duplicate');
  await settle();
  assert.equal(batch.outstanding, 0);
  assert.equal(drained, 1);
});

test('backpressure: pause at 2,000 outstanding submits, resume at 500', async () => {
  const { intake, submits, calls } = setup();
  for (let i = 1; i <= 1999; i++) intake.receive(ev(i), '', undefined);
  assert.equal(calls.length, 0);
  intake.receive(ev(2000), '', undefined);
  assert.equal(calls[0], 'pause');
  for (const s of submits.slice(0, 1499)) s.d.resolve('accepted');
  await settle();
  assert.ok(!calls.includes('resume'), '501 outstanding');
  submits[1499]!.d.resolve('accepted');
  await settle();
  assert.equal(calls[calls.length - 1], 'resume');
});
