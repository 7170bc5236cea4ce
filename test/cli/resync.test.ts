// `grasp-relay resync --git` as an operator runs it, against real relays on loopback and the real
// git CLI: relay A holds a repository's data, relay B (git sync on, an admin token) holds only its
// announcement and state in purgatory. The command hunts every repository of B, shows progress
// until it reaches the total, and exits 0 with B aligned; then B's status, page and /metrics show
// the remote URLs it tried (A ok, a closed port failing). Clear errors when git or git sync is off
// on the relay, and for usage mistakes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { npubEncode } from 'nostr-tools/nip19';
import { cmdResync } from '../../src/cli/resync.js';
import { cmdStatus } from '../../src/cli/status.js';
import { parseArgs } from '../../src/cli/args.js';
import type { GitSyncReport } from '../../src/ops/git-sync.js';
import type { StatusReport } from '../../src/ops/index.js';
import { sign } from '../helpers/events.js';
import { commitFile, git, keypair, startGitRelay, stateEvent, workTree, type GitRelay } from '../git/helpers.js';
import { section, visibleText } from '../ops/chromium.js';
import { capture, put } from '../ops/fixtures.js';
import { scrape } from '../ops/prom.js';
import { startTestRelay } from '../helpers/relay.js';

const bin = new URL('../../../bin/grasp-relay.js', import.meta.url).pathname;
const TOKEN_ENV = 'GRASP_RELAY_TEST_GIT_RESYNC_TOKEN';
const TOKEN = 'git resync token';
const owner = keypair('cli-resync-git-owner');
const D = 'resync-git';

let a: GitRelay;
let b: GitRelay;
let closedUrl: string;
let tip: string;

/** A loopback port that was just free: nothing listens there (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The CLI in a child process (async: the relays run in this process and must keep answering). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, GRASP_RELAY_SERVICE_ADMIN_TOKEN_ENV: TOKEN_ENV, [TOKEN_ENV]: TOKEN, GRASP_RELAY_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 90_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The command in this process (no child start-up): exit code and its error lines. */
async function resyncHere(args: string[], token: string = TOKEN): Promise<{ code: number; stderr: string }> {
  const saved = process.env[TOKEN_ENV];
  process.env.GRASP_RELAY_SERVICE_ADMIN_TOKEN_ENV = TOKEN_ENV;
  process.env[TOKEN_ENV] = token;
  let stderr = '';
  try {
    const code = await cmdResync(parseArgs(['resync', ...args]), { error: (line) => (stderr += line + '\n') });
    return { code, stderr };
  } finally {
    delete process.env.GRASP_RELAY_SERVICE_ADMIN_TOKEN_ENV;
    process.env[TOKEN_ENV] = saved;
  }
}

before(async () => {
  for (const k of Object.keys(process.env)) if (k.startsWith('GRASP_RELAY_')) delete process.env[k];
  process.env[TOKEN_ENV] = TOKEN;
  const service = { adminTokenEnv: TOKEN_ENV };
  a = await startGitRelay({ service });
  // hunts for client events wait an hour: only the resync fetches here
  b = await startGitRelay({ service, git: { syncEnabled: true, syncUserEventDelaySeconds: 3600 } });
  closedUrl = `http://127.0.0.1:${await closedPort()}/${npubEncode(owner.pk)}/a&b/${D}.git`;
  // one announcement for both servers, the closed port first so that it is tried before A
  const ann = sign(owner, {
    kind: 30617,
    tags: [
      ['d', D],
      ['name', D],
      ['clone', closedUrl, a.repoUrl(owner, D), b.repoUrl(owner, D)],
      ['relays', a.url, b.url],
      ['maintainers', owner.pk],
    ],
  });
  const work = await workTree(a.repoUrl(owner, D));
  tip = await commitFile(work, 'README', 'fetched by git sync\n');
  const state = stateEvent(owner, D, { 'refs/heads/main': tip });
  await put(a, [ann, state]);
  const pushed = await git(['push', '--porcelain', 'origin', 'main'], { cwd: work });
  assert.equal(pushed.code, 0, pushed.stderr);
  await put(b, [ann, state]);
  assert.equal(b.store.purgatory.get(state.id)?.event.id, state.id, 'B holds the state in purgatory: it has no data yet');
});

after(async () => {
  delete process.env[TOKEN_ENV];
  await b?.destroy();
  await a?.destroy();
});

type On = Extract<GitSyncReport, { enabled: true }>;

async function syncOf(relay: GitRelay): Promise<On> {
  const s = (await (await fetch(`${relay.http}/status`)).json()) as StatusReport;
  assert.equal(s.git.enabled, true);
  const sync = s.git.enabled ? s.git.sync : undefined;
  assert.equal(sync?.enabled, true);
  return sync as On;
}

test('resync --git hunts every repository, shows progress to the total and exits 0; the views show the remotes', async () => {
  const r = await cli(['resync', '--git', '--url', b.http, '--timeout', '60']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resync --git: 1\/1 repositories done, 1 aligned, 0 still missing data\n$/);

  // the data arrived: B serves the tip and released the state
  const refs = await git(['ls-remote', b.repoUrl(owner, D)]);
  assert.match(refs.stdout, new RegExp(`^${tip}\\trefs/heads/main$`, 'm'));
  const s = await syncOf(b);
  assert.deepEqual(s.resync, { total: 1, done: 1, aligned: 1, missing: 0, finished: true });
  assert.ok(s.fetches.ok >= 1, JSON.stringify(s.fetches));
  assert.ok(s.objectsImported >= 1 && s.released >= 1, JSON.stringify(s));
  const byUrl = new Map(s.remotes.map((x) => [x.url, x]));
  const closed = [...byUrl.values()].find((x) => x.url.startsWith(closedUrl.slice(0, closedUrl.indexOf('/npub'))));
  assert.ok(closed, `the closed port was tried: ${JSON.stringify(s.remotes)}`);
  assert.equal(closed.lastErrorClass, 'refused');
  assert.ok(closed.nextTryAt !== undefined && closed.failures === 1);
  const fine = byUrl.get(a.repoUrl(owner, D));
  assert.ok(fine, `A was fetched from: ${JSON.stringify(s.remotes)}`);
  assert.equal(fine.lastErrorClass, undefined);
  assert.ok(fine.lastOkAt !== undefined);
  assert.deepEqual(s.remotesByState, { ok: 1, failing: 1, dead: 0 });
  assert.equal(s.remotesTotal, 2);
  assert.equal(s.remotes[0]!.url, closed.url, 'failing first');

  // the page: both rows, the URL escaped
  const html = await (await fetch(`${b.http}/`)).text();
  const block = section(html, 'git-sync');
  assert.ok(block.includes('a&amp;b') && !block.includes('a&b'), 'the URL is HTML-escaped');
  const rows = [...block.matchAll(/<tr class="remote">([\s\S]*?)<\/tr>/g)].map((m) => visibleText(m[1]!));
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /^http:\/\/127\.0\.0\.1:\d+\/\S+ 127\.0\.0\.1:\d+ failing (now|\d+s ago) — refused: .+ in \S+/);
  assert.match(rows[1]!, new RegExp(`^${a.repoUrl(owner, D).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 127\\.0\\.0\\.1:\\d+ ok `));
  assert.match(visibleText(block), /Resync 1 \/ 1 repositories · finished · 1 aligned · 0 missing/);

  // grasp-relay status lists the failing URL only
  const o = capture();
  assert.equal(await cmdStatus(parseArgs(['status', '--url', b.http]), o), 0, o.err);
  assert.match(o.out, /^Git sync \(2 remote URLs: 1 ok, 1 failing, 0 dead\)$/m);
  assert.match(o.out, /^ {2}resync: 1\/1 repositories finished \(1 aligned, 0 missing\)$/m);
  assert.ok(o.out.split('\n').some((l) => l.startsWith(closed.url) && /\sfailing\s.*\s1\/1\s+refused: /.test(l)), o.out);
  assert.ok(!o.out.split('\n').some((l) => l.startsWith(a.repoUrl(owner, D))), 'ok URLs are only counted');

  // /metrics: the git sync series, the failing URL with its class
  const m = await scrape(b.port);
  assert.ok((m.value('grasp_relay_git_sync_fetches_total', { outcome: 'ok' }) ?? 0) >= 1);
  assert.equal(m.value('grasp_relay_git_sync_remotes', { state: 'failing' }), 1);
  assert.equal(m.value('grasp_relay_git_sync_remotes', { state: 'ok' }), 1);
  assert.equal(m.value('grasp_relay_git_sync_remote_failing', { url: closed.url, class: 'refused', state: 'failing' }), 1);
  assert.equal(m.all('grasp_relay_git_sync_remote_failing').length, 1, 'no series for the ok URL');
  assert.equal(m.value('grasp_relay_git_sync_remote_next_try_timestamp_seconds', { url: closed.url }), closed.nextTryAt! / 1000);
  assert.equal(m.value('grasp_relay_git_sync_running'), 0);
  assert.ok((m.value('grasp_relay_git_sync_objects_imported_total') ?? 0) >= 1);
  assert.ok((m.value('grasp_relay_git_sync_released_total') ?? 0) >= 1);
  // A has git sync off: none of its series exist
  const ma = await scrape(a.port);
  assert.equal([...ma.types.keys()].filter((n) => n.startsWith('grasp_relay_git_sync_')).length, 0);

  // --no-wait returns at once with a resync started
  const nw = await resyncHere(['--git', '--no-wait', '--url', b.http]);
  assert.equal(nw.code, 0, nw.stderr);
  assert.equal(nw.stderr, '');
});

test('resync --git: clear errors when git sync or the git half is off, and for usage mistakes', async () => {
  // A runs the git half with git sync off
  const off = await resyncHere(['--git', '--url', a.http]);
  assert.equal(off.code, 1);
  assert.match(off.stderr, /^grasp-relay resync: git sync is disabled \(git\.syncEnabled = false\)$/m);
  assert.equal((await syncOf(b)).enabled, true);

  const nostrOnly = await startTestRelay({ service: { adminTokenEnv: TOKEN_ENV }, sync: { enabled: true } });
  try {
    const r = await resyncHere(['--git', '--url', `http://127.0.0.1:${nostrOnly.port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^grasp-relay resync: the git half is disabled \(git\.enabled = false\)$/m);
  } finally {
    await nostrOnly.destroy();
  }

  const both = await resyncHere(['--git', '--relay', 'wss://relay.example.com', '--url', b.http]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--git .* does not combine with --relay/);
  const badTimeout = await resyncHere(['--git', '--timeout', 'soon', '--url', b.http]);
  assert.equal(badTimeout.code, 2);
  assert.match(badTimeout.stderr, /--timeout takes seconds/);
  const noToken = await resyncHere(['--git', '--url', b.http], '');
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, new RegExp(`set ${TOKEN_ENV}`));

  // the admin route itself: 400 for git with relay, 401 without the token
  const admin = `${b.http}/admin/resync`;
  assert.equal((await fetch(`${admin}?git=1`, { method: 'POST' })).status, 401);
  const bad = await fetch(`${admin}?git=1&relay=${encodeURIComponent('wss://x.example')}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(bad.status, 400);
});
