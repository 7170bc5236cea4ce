// Unit tests of git sync's remotes (manual clock): per-URL backoff from the base doubling to the
// cap, dead after the configured hours (then daily), success resets; per-host concurrency and
// starts per minute keyed by lower-case host:port; the operators' view; the memory bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostKey, Remotes } from '../../../src/git/sync/remotes.js';
import type { FetchResult } from '../../../src/git/sync/types.js';
import { ManualClock } from '../../sync/clock.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const fail: FetchResult = { fetched: [], bytes: 0, durationMs: 5, error: { cls: 'refused', message: 'connection refused' } };
const ok: FetchResult = { fetched: ['a'.repeat(40)], bytes: 100, durationMs: 5 };

const make = (clock: ManualClock, over: Partial<ConstructorParameters<typeof Remotes>[0]> = {}) =>
  new Remotes({
    backoff: { baseMs: MIN, maxMs: HOUR, deadAfterMs: 24 * HOUR },
    perHostConcurrency: 2,
    perHostPerMinute: 30,
    now: () => clock.now(),
    ...over,
  });

test('host keys are lower-case host:port with the default port filled in', () => {
  assert.equal(hostKey('https://Git.Example.com/r.git'), 'git.example.com:443');
  assert.equal(hostKey('http://git.example.com/r.git'), 'git.example.com:80');
  assert.equal(hostKey('http://127.0.0.1:8080/r.git'), '127.0.0.1:8080');
  assert.equal(hostKey('http://[::1]:9/r.git'), '[::1]:9');
});

test('a failing URL backs off 60 s doubling to 1 h, is dead after 24 h (daily), and a success resets it', () => {
  const clock = new ManualClock(1_000_000);
  const rs = make(clock);
  const url = 'https://down.example/r.git';
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    assert.deepEqual(rs.canTry(url), { ok: true });
    rs.start(url)(fail);
    const v = rs.canTry(url);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.why, 'backoff');
    const until = !v.ok && v.why === 'backoff' ? v.until : 0;
    delays.push(until - clock.now());
    clock.advance(until - clock.now());
  }
  assert.deepEqual(delays, [MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, HOUR, HOUR, HOUR]);
  const [st] = rs.status();
  assert.equal(st!.url, url);
  assert.equal(st!.host, 'down.example:443');
  assert.equal(st!.fetches, 9);
  assert.equal(st!.failures, 9);
  assert.equal(st!.lastErrorClass, 'refused');
  assert.match(st!.lastError!, /connection refused/);
  assert.equal(st!.dead, false);
  // failing for a day: dead, tried once a day
  while (clock.now() < 1_000_000 + 24 * HOUR) {
    rs.start(url)(fail);
    const v = rs.canTry(url);
    clock.advance(!v.ok && v.why === 'backoff' ? v.until - clock.now() : 0);
  }
  rs.start(url)(fail);
  const dead = rs.status()[0]!;
  assert.equal(dead.dead, true);
  assert.equal(dead.nextTryAt! - clock.now(), 24 * HOUR);
  clock.advance(24 * HOUR);
  rs.start(url)(ok);
  const back = rs.status()[0]!;
  assert.equal(back.dead, false);
  assert.equal(back.nextTryAt, undefined);
  assert.equal(back.lastOkAt, clock.now());
  assert.deepEqual(rs.canTry(url), { ok: true });
  // a partial delivery with an error still counts as a success for the URL
  rs.start(url)({ ...ok, error: { cls: 'timeout', message: 'slow' } });
  assert.deepEqual(rs.canTry(url), { ok: true });
});

test('per host: at most perHostConcurrency at once and perHostPerMinute starts a minute, whatever the URL', () => {
  const clock = new ManualClock(0);
  const rs = make(clock, { perHostConcurrency: 2, perHostPerMinute: 3 });
  const u = (n: number) => `https://Host.example/r${n}.git`;
  const end1 = rs.start(u(1));
  const end2 = rs.start(u(2));
  assert.deepEqual(rs.canTry(u(3)), { ok: false, why: 'host-busy' });
  assert.deepEqual(rs.canTry('https://other.example/r.git'), { ok: true }, 'another host is not limited');
  assert.deepEqual(rs.canTry('https://host.example:8443/r.git'), { ok: true }, 'another port is another host');
  end1(ok);
  clock.advance(10_000);
  rs.start(u(3))(ok);
  end2(ok);
  // three starts within the minute: the fourth waits until the first is a minute old
  const v = rs.canTry(u(4));
  assert.deepEqual(v, { ok: false, why: 'host-rate', until: 60_000 });
  clock.advance(50_000);
  assert.deepEqual(rs.canTry(u(4)), { ok: true });
});

test('bounded: past maxUrls the least recently used healthy URLs are forgotten first', () => {
  const clock = new ManualClock(0);
  const rs = make(clock, { maxUrls: 3, perHostPerMinute: 1000 });
  rs.start('https://a.example/bad.git')(fail);
  for (let i = 0; i < 5; i++) rs.start(`https://a.example/${i}.git`)(ok);
  assert.equal(rs.size, 3);
  const urls = rs.status().map((s) => s.url);
  assert.ok(urls.includes('https://a.example/bad.git'), 'the failing URL keeps its backoff');
  assert.deepEqual(urls.slice(1), ['https://a.example/3.git', 'https://a.example/4.git']);
});
