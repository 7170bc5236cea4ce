// Unit tests of the shared health model (plain data, pure functions, time passed in): reconnect
// backoff (5 s doubling to 1 h, dead after 24 h → daily), rate-limit pause, the batch backoff
// (never dead), driven by a manual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, failed, HEALTHY, isDead, isPaused, rateLimited, retryDelay, succeeded, type Health } from '../../src/sync/health.js';
import { ManualClock } from './clock.js';

const cfg = { baseMs: 5000, maxMs: 3600_000, deadAfterMs: DAY_MS };
const PAUSE_MS = 65_000;

test('backoff doubles from 5 s and caps at 1 h; success resets', () => {
  const clock = new ManualClock(0);
  let h = HEALTHY;
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    h = failed(cfg, h, clock.now(), 'ECONNREFUSED');
    const d = retryDelay(h, clock.now());
    delays.push(d);
    clock.advance(d);
  }
  assert.deepEqual(delays.slice(0, 6), [5000, 10_000, 20_000, 40_000, 80_000, 160_000]);
  assert.ok(delays.every((d) => d <= 3600_000));
  assert.equal(delays[11], 3600_000);
  assert.equal(h.lastError, 'ECONNREFUSED');
  h = succeeded(h, clock.now());
  assert.equal(h.failures, 0);
  assert.equal(h.nextRetryAt, undefined);
  assert.equal(h.lastError, 'ECONNREFUSED', 'the last error stays visible after a success');
  assert.equal(retryDelay(failed(cfg, h, clock.now(), 'x'), clock.now()), 5000);
});

test('a relay failing for 24 h is dead and tried once a day', () => {
  const clock = new ManualClock(0);
  let h = HEALTHY;
  while (!isDead(cfg, h, clock.now())) {
    h = failed(cfg, h, clock.now(), 'down');
    clock.advance(retryDelay(h, clock.now()));
  }
  assert.ok(clock.now() >= DAY_MS);
  h = failed(cfg, h, clock.now(), 'down');
  assert.equal(retryDelay(h, clock.now()), DAY_MS);
  assert.equal(h.nextRetryAt, clock.now() + DAY_MS);
  h = succeeded(h, clock.now());
  assert.ok(!isDead(cfg, h, clock.now()));
});

test('rate limit pauses for 65 s', () => {
  const clock = new ManualClock(1000);
  const h = rateLimited(HEALTHY, clock.now(), PAUSE_MS);
  assert.ok(isPaused(h, clock.now()));
  clock.advance(64_999);
  assert.ok(isPaused(h, clock.now()));
  clock.advance(1);
  assert.ok(!isPaused(h, clock.now()));
  // a second, shorter pause never shortens the first
  assert.equal(rateLimited(rateLimited(HEALTHY, 0, 65_000), 1000, 1000).pausedUntil, 65_000);
});

test('batch backoff (never dead) doubles and resets', () => {
  const batch = { baseMs: 5000, maxMs: 20_000, deadAfterMs: Infinity };
  let h = HEALTHY;
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    h = failed(batch, h, 0, 'batch failed');
    delays.push(retryDelay(h, 0));
  }
  assert.deepEqual(delays, [5000, 10_000, 20_000, 20_000]);
  assert.ok(!isDead(batch, h, 10 * DAY_MS));
  assert.equal(retryDelay(failed(batch, h, 10 * DAY_MS, 'x'), 10 * DAY_MS), 20_000, 'capped, not daily');
  h = succeeded(h, 0);
  assert.equal(retryDelay(failed(batch, h, 0, 'x'), 0), 5000);
});

test('health is plain data: the functions return new values, never change their input', () => {
  const before: Health = { ...HEALTHY };
  const frozen = Object.freeze({ ...HEALTHY });
  const f = failed(cfg, frozen, 1000, 'ECONNREFUSED');
  rateLimited(f, 1000, PAUSE_MS);
  succeeded(f, 2000);
  assert.deepEqual(frozen, before);
  assert.deepEqual(f, { failures: 1, firstFailureAt: 1000, lastTryAt: 1000, nextRetryAt: 6000, lastError: 'ECONNREFUSED', pausedUntil: 0 });
  assert.equal(succeeded(f, 2000).lastTryAt, 2000);
});

test('manual clock fires due timers in order, including ones they schedule', () => {
  const c = new ManualClock(0);
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b'), 20);
  c.setTimeout(() => {
    fired.push('a');
    c.setTimeout(() => fired.push('a2'), 5);
  }, 10);
  const x = c.setTimeout(() => fired.push('x'), 15);
  x.cancel();
  c.advance(30);
  assert.deepEqual(fired, ['a', 'a2', 'b']);
  assert.equal(c.now(), 30);
});
