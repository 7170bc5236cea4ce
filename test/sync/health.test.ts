// Unit tests: reconnect backoff (5 s doubling to 1 h, dead after 24 h → daily), rate-limit pause,
// driven by a manual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, DAY_MS, Health, isRateLimitMessage } from '../../src/sync/health.js';
import { ManualClock } from './clock.js';

const cfg = { baseMs: 5000, maxMs: 3600_000, deadAfterMs: DAY_MS, rateLimitPauseMs: 65_000 };

test('backoff doubles from 5 s and caps at 1 h; success resets', () => {
  const clock = new ManualClock(0);
  const h = new Health(cfg);
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const d = h.failure(clock.now(), 'ECONNREFUSED');
    delays.push(d);
    clock.advance(d);
  }
  assert.deepEqual(delays.slice(0, 6), [5000, 10_000, 20_000, 40_000, 80_000, 160_000]);
  assert.ok(delays.every((d) => d <= 3600_000));
  assert.equal(delays[11], 3600_000);
  assert.equal(h.lastError, 'ECONNREFUSED');
  h.success();
  assert.equal(h.failure(clock.now(), 'x'), 5000);
});

test('a relay failing for 24 h is dead and tried once a day', () => {
  const clock = new ManualClock(0);
  const h = new Health(cfg);
  while (!h.dead(clock.now())) clock.advance(h.failure(clock.now(), 'down'));
  assert.ok(clock.now() >= DAY_MS);
  assert.equal(h.failure(clock.now(), 'down'), DAY_MS);
  assert.equal(h.nextRetryAt, clock.now() + DAY_MS);
  h.success();
  assert.ok(!h.dead(clock.now()));
});

test('rate limit pauses for 65 s', () => {
  const clock = new ManualClock(1000);
  const h = new Health(cfg);
  h.rateLimited(clock.now());
  assert.ok(h.paused(clock.now()));
  clock.advance(64_999);
  assert.ok(h.paused(clock.now()));
  clock.advance(1);
  assert.ok(!h.paused(clock.now()));
});

test('rate-limit wording', () => {
  for (const s of ['rate-limited: slow down', 'Slow down please', 'too many requests', 'you hit the rate limit']) assert.ok(isRateLimitMessage(s), s);
  for (const s of ['error: bad filter', 'restricted: nope', 'auth-required: x']) assert.ok(!isRateLimitMessage(s), s);
});

test('batch backoff doubles and resets', () => {
  const b = new Backoff(5000, 20_000);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [5000, 10_000, 20_000, 20_000]);
  b.reset();
  assert.equal(b.next(), 5000);
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
