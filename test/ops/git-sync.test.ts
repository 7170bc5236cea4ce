// Git sync as operators see it, from a made-up engine status: the /status section (remote URLs
// failing first, capped, counted by state), the page block (every value escaped), the text of
// `grasp-relay status` (failing URLs listed, ok ones only counted) and the /metrics series
// (present, right values, per-URL series bounded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { formatGitSync } from '../../src/cli/status.js';
import type { GitSyncStatus, RemoteStatus } from '../../src/git/sync/types.js';
import { registerGitSyncMetrics, MAX_URL_SERIES } from '../../src/ops/git-metrics.js';
import { gitSyncReport, MAX_REMOTES, remoteError, remoteState, sortRemotes, type GitSyncReport } from '../../src/ops/git-sync.js';
import { renderGitSync } from '../../src/ops/page.js';
import { section, visibleText } from './chromium.js';
import { parseExposition } from './prom.js';

const NOW = 1_700_000_000_000;

const ok = (url: string): RemoteStatus => ({ url, host: new URL(url).host, fetches: 3, failures: 0, lastTryAt: NOW - 60_000, lastOkAt: NOW - 60_000, dead: false });
const failing = (url: string, nextIn: number, extra: Partial<RemoteStatus> = {}): RemoteStatus => ({
  url,
  host: 'h:443',
  fetches: 2,
  failures: 2,
  lastTryAt: NOW - 10_000,
  lastError: 'refused: connect ECONNREFUSED',
  lastErrorClass: 'refused',
  nextTryAt: NOW + nextIn,
  dead: false,
  ...extra,
});

function engine(remotes: RemoteStatus[], extra: Partial<GitSyncStatus> = {}): { status(): GitSyncStatus } {
  return {
    status: () => ({
      enabled: true,
      queued: 3,
      running: 1,
      lastSweepAt: NOW - 5 * 60_000,
      nextSweepAt: NOW + 55 * 60_000,
      fetches: { ok: 7, partial: 1, failed: 4, skipped: 2 },
      objectsImported: 1234,
      released: 5,
      remotes,
      ...extra,
    }),
  };
}

type On = Extract<GitSyncReport, { enabled: true }>;

test('remote states: ok, failing (retry pending or the last try failed), dead; errors read "class: message"', () => {
  assert.equal(remoteState(ok('https://a.example/r.git')), 'ok');
  assert.equal(remoteState(failing('https://a.example/r.git', 1000)), 'failing');
  assert.equal(remoteState(failing('https://a.example/r.git', 1000, { dead: true })), 'dead');
  // recovered: the last error stays visible, the URL is ok
  assert.equal(remoteState({ ...ok('https://a.example/r.git'), lastError: 'dns: x', lastErrorClass: 'dns' }), 'ok');
  // failed after a success, no retry reported
  const { nextTryAt: _n, ...noRetry } = failing('https://a.example/r.git', 0, { lastOkAt: NOW - 20_000 });
  assert.equal(remoteState(noRetry), 'failing');
  assert.equal(remoteError(failing('https://a.example/r.git', 0)), 'refused: connect ECONNREFUSED');
  assert.equal(remoteError({ lastErrorClass: 'timeout', lastError: 'no data for 60 s' }), 'timeout: no data for 60 s');
  assert.equal(remoteError({ lastErrorClass: 'dns' }), 'dns');
  assert.equal(remoteError({}), undefined);
});

test('the /status section: failing first (soonest retry first), then dead, then ok; capped with counts of all', () => {
  const remotes = [
    ok('https://b.example/r.git'),
    failing('https://z.example/r.git', 60_000),
    failing('https://dead.example/r.git', 86_400_000, { dead: true }),
    ok('https://a.example/r.git'),
    failing('https://y.example/r.git', 5_000),
  ];
  const r = gitSyncReport(engine(remotes)) as On;
  assert.equal(r.enabled, true);
  assert.deepEqual(
    r.remotes.map((x) => x.url),
    ['https://y.example/r.git', 'https://z.example/r.git', 'https://dead.example/r.git', 'https://a.example/r.git', 'https://b.example/r.git'],
  );
  assert.equal(r.remotesTotal, 5);
  assert.deepEqual(r.remotesByState, { ok: 2, failing: 2, dead: 1 });
  assert.deepEqual(r.fetches, { ok: 7, partial: 1, failed: 4, skipped: 2 });
  assert.equal(r.resync, undefined);
  assert.deepEqual(sortRemotes(remotes), r.remotes);

  const many = Array.from({ length: MAX_REMOTES + 50 }, (_, i) => (i % 2 === 0 ? ok(`https://ok${i}.example/r.git`) : failing(`https://f${i}.example/r.git`, i)));
  const capped = gitSyncReport(engine(many)) as On;
  assert.equal(capped.remotes.length, MAX_REMOTES);
  assert.equal(capped.remotesTotal, MAX_REMOTES + 50);
  assert.deepEqual(capped.remotesByState, { ok: 125, failing: 125, dead: 0 });
  assert.ok(capped.remotes.slice(0, 125).every((x) => remoteState(x) === 'failing'), 'every failing URL is listed before any ok one');
  assert.deepEqual(gitSyncReport(undefined), { enabled: false });
  assert.deepEqual(JSON.parse(JSON.stringify(gitSyncReport(engine([]), 10))).remotes, []);
});

const hostile = '<img src=x onerror=alert(1)>';

function report(): On {
  return gitSyncReport(
    engine(
      [
        failing(`https://evil.example/"><script>alert(1)</script>.git`, 65_000, { host: `evil.example:443"><b>h</b>`, lastError: `http: ${hostile}`, lastErrorClass: 'http' }),
        failing('https://gone.example/r.git', 86_400_000, { dead: true, lastError: 'dns: ENOTFOUND gone.example', lastErrorClass: 'dns', failures: 40, fetches: 40 }),
        ok('https://fine.example/r.git'),
      ],
      { resync: { total: 10, done: 4, aligned: 3, missing: 1, finished: false } },
    ),
  ) as On;
}

test('the page block: facts, resync progress and the remote table, every value escaped', () => {
  const html = `<section id="git-sync">${renderGitSync(report(), NOW / 1000)}</section>`;
  assert.ok(!html.includes('<script>') && !html.includes('<img') && !html.includes('<b>h</b>'), 'remote URL, host and error are escaped');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  const text = visibleText(section(html, 'git-sync'));
  assert.match(text, /Work 3 queued · 1 running/);
  assert.match(text, /Sweeps last 5m 0s ago · next in 55m 0s/);
  assert.match(text, /Fetches 7 ok · 1 partial · 4 failed · 2 skipped/);
  assert.match(text, /Objects imported 1,234/);
  assert.match(text, /Released 5 events/);
  assert.match(text, /Resync 4 \/ 10 repositories · running · 3 aligned · 1 missing/);
  assert.match(text, /Remote URLs 3 · 1 ok · 1 failing · 1 dead/);
  const rows = [...html.matchAll(/<tr class="remote">([\s\S]*?)<\/tr>/g)].map((m) => visibleText(m[1]!));
  assert.equal(rows.length, 3);
  assert.match(rows[0]!, /^https:\/\/evil\.example\/"><script>alert\(1\)<\/script>\.git evil\.example:443"><b>h<\/b> failing 10s ago — http: <img src=x onerror=alert\(1\)> in 1m 5s 2 2$/);
  assert.match(rows[1]!, /^https:\/\/gone\.example\/r\.git \S+ dead 10s ago — dns: ENOTFOUND gone\.example in 24h 0m 40 40$/);
  assert.match(rows[2]!, /^https:\/\/fine\.example\/r\.git fine\.example ok 1m 0s ago 1m 0s ago — — 3 0$/);
  assert.match(html, /<span class="state bad">dead<\/span>/);

  assert.match(renderGitSync({ enabled: false }, 0), /git\.syncEnabled = false/);
  assert.match(renderGitSync(gitSyncReport(engine([])), 0), /No remote URLs tried yet/);
  const capped = gitSyncReport(engine(Array.from({ length: 3 }, (_, i) => failing(`https://f${i}.example/r.git`, i))), 2);
  assert.match(visibleText(renderGitSync(capped, 0)), /Showing 2 of 3 \(failing first\)/);
});

test('grasp-relay status: git sync as text, failing and dead URLs listed, ok ones counted', () => {
  const out = formatGitSync(report(), NOW / 1000);
  assert.match(out, /^Git sync \(3 remote URLs: 1 ok, 1 failing, 1 dead\)$/m);
  assert.match(out, /^ {2}work: 3 queued, 1 running · last sweep 5m 0s ago · next sweep in 55m 0s$/m);
  assert.match(out, /^ {2}fetches: 7 ok · 1 partial · 4 failed · 2 skipped$/m);
  assert.match(out, /^ {2}imported: 1,234 objects · released: 5 events$/m);
  assert.match(out, /^ {2}resync: 4\/10 repositories running \(3 aligned, 1 missing\)$/m);
  assert.match(out, /^REMOTE URL +STATE +LAST TRY +LAST OK +NEXT TRY +FAILURES +ERROR$/m);
  assert.match(out, /^https:\/\/evil\.example\/\S+ +failing +10s ago +— +in 1m 5s +2\/2 +http: <img src=x onerror=alert\(1\)>$/m);
  assert.match(out, /^https:\/\/gone\.example\/r\.git +dead +10s ago +— +in 24h 0m +40\/40 +dns: ENOTFOUND gone\.example$/m);
  assert.doesNotMatch(out, /fine\.example/, 'ok URLs are only counted');
  assert.match(formatGitSync({ enabled: false }, 0), /git sync is off \(git\.syncEnabled = false\)/);
  assert.match(formatGitSync(undefined, 0), /git sync is off\n/);
  // nothing failing: no table
  assert.doesNotMatch(formatGitSync(gitSyncReport(engine([ok('https://a.example/r.git')])), 0), /REMOTE URL/);
});

test('/metrics: git sync series present with their values; per-URL series only for failing URLs, at most 100', async () => {
  const remotes = [
    ...Array.from({ length: 300 }, (_, i) => failing(`https://f${String(i).padStart(3, '0')}.example/r.git`, 1000 + i, i % 3 === 0 ? { lastErrorClass: 'timeout', lastError: 'timeout: slow' } : {})),
    failing('https://dead.example/r.git', 86_400_000, { dead: true, lastErrorClass: 'dns' }),
    ...Array.from({ length: 50 }, (_, i) => ok(`https://ok${i}.example/r.git`)),
    failing(`https://x.example/${'a'.repeat(500)}"\n.git`, 1, { lastErrorClass: 'http' }),
  ];
  const registry = new Registry();
  let calls = 0;
  const src = engine(remotes);
  registerGitSyncMetrics(() => (calls++, src.status()), [registry]);
  const m = parseExposition(await registry.metrics());
  assert.equal(calls, 1, 'one status() per scrape');
  assert.equal(m.value('grasp_relay_git_sync_fetches_total', { outcome: 'ok' }), 7);
  assert.equal(m.value('grasp_relay_git_sync_fetches_total', { outcome: 'partial' }), 1);
  assert.equal(m.value('grasp_relay_git_sync_fetches_total', { outcome: 'failed' }), 4);
  assert.equal(m.value('grasp_relay_git_sync_fetches_total', { outcome: 'skipped' }), 2);
  assert.equal(m.value('grasp_relay_git_sync_objects_imported_total'), 1234);
  assert.equal(m.value('grasp_relay_git_sync_released_total'), 5);
  assert.equal(m.value('grasp_relay_git_sync_queued'), 3);
  assert.equal(m.value('grasp_relay_git_sync_running'), 1);
  assert.equal(m.value('grasp_relay_git_sync_last_sweep_timestamp_seconds'), (NOW - 300_000) / 1000);
  assert.equal(m.value('grasp_relay_git_sync_remotes', { state: 'ok' }), 50);
  assert.equal(m.value('grasp_relay_git_sync_remotes', { state: 'failing' }), 301);
  assert.equal(m.value('grasp_relay_git_sync_remotes', { state: 'dead' }), 1);

  const failingSeries = m.all('grasp_relay_git_sync_remote_failing');
  const nextSeries = m.all('grasp_relay_git_sync_remote_next_try_timestamp_seconds');
  assert.equal(MAX_URL_SERIES, 100);
  assert.equal(failingSeries.length, MAX_URL_SERIES, 'bounded');
  assert.equal(nextSeries.length, MAX_URL_SERIES);
  assert.ok(failingSeries.every((s) => !/ok\d+\.example/.test(s.labels.url!)), 'no series for ok URLs');
  // failing first, soonest retry first: the long hostile URL (retry in 1 ms) is in, cut and escaped
  const long = failingSeries.find((s) => s.labels.url!.startsWith('https://x.example/'));
  assert.ok(long, 'the soonest retry has a series');
  assert.ok(long.labels.url!.length <= 200 && long.labels.url!.endsWith('…'));
  assert.deepEqual(Object.keys(long.labels).sort(), ['class', 'state', 'url']);
  assert.equal(long.labels.class, 'http');
  assert.equal(m.value('grasp_relay_git_sync_remote_failing', { url: 'https://f000.example/r.git' }), 1);
  assert.equal(failingSeries.find((s) => s.labels.url === 'https://f000.example/r.git')?.labels.class, 'timeout');
  assert.equal(m.value('grasp_relay_git_sync_remote_next_try_timestamp_seconds', { url: 'https://f000.example/r.git' }), (NOW + 1000) / 1000);
  assert.equal(m.value('grasp_relay_git_sync_remote_failing', { url: 'https://f200.example/r.git' }), undefined, 'past the bound: no series');
  assert.match(m.help.get('grasp_relay_git_sync_remote_failing') ?? '', /at most 100/);
  assert.match(m.help.get('grasp_relay_git_sync_remote_next_try_timestamp_seconds') ?? '', /at most 100/);
  for (const [name, type] of m.types) if (type === 'counter') assert.match(name, /_total$/);
});
