// The git sync fetcher (src/git/sync/fetch.ts) against real smart-HTTP servers on loopback
// (`git http-backend` behind node:http, bench/lib/git-cgi.ts), fetching into a hosted repository
// of a real Repos: every wanted id, not-our-ref retries, the protocol-v0 fallback, the address pin,
// refused URLs and addresses (no git process), timeouts, the quota kill, 404, a refused port and a
// failing land. After each: no scratch repository left, the repository untouched unless land ran.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../../src/log.js';
import { Repos } from '../../../src/git/repos.js';
import { createFetcher, type FetcherDeps, type FetcherGitConfig } from '../../../src/git/sync/fetch.js';
import type { LookupFn } from '../../../src/git/sync/guard.js';
import type { FetchJob, FetchResult } from '../../../src/git/sync/types.js';
import type { Oid, RepoId } from '../../../src/git/types.js';
import { startCgi, type CgiServer } from '../../../bench/lib/git-cgi.js';
import { tempDir } from '../../helpers/tmp.js';
import { commitFile, gitOk, randomBlob, workTree } from '../helpers.js';

const OWNER = 'c'.repeat(64);
const UNKNOWN = '1'.repeat(40);
const UNKNOWN2 = '2'.repeat(40);

const CFG: FetcherGitConfig = {
  fsckObjects: true,
  syncAllowHttp: true,
  syncAllowPrivateAddresses: true,
  syncFetchTimeoutSeconds: 60,
  syncLowSpeedBytesPerSecond: 1,
  syncLowSpeedSeconds: 60,
};
const LOOPBACK: LookupFn = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);

let root: string;
/** every git argv the relay side ran, one line each (the wrapper below appends to it) */
let gitLog: string;
let repos: Repos;
let modern: CgiServer;
let v0: CgiServer;
let throttled: { url: string; close(): Promise<void> };
let stall: { url: string; close(): Promise<void> };
/** main: c1 → c2 → c4; side: c1 → c3; big: c1 → cBig (a 3 MB incompressible blob) */
const ids: Record<'c1' | 'c2' | 'c3' | 'c4' | 'cBig', Oid> = { c1: '', c2: '', c3: '', c4: '', cBig: '' };
let srcBare: string;
let seq = 0;

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}
const closer = (server: Server) => (): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** A pass-through to `upstream` that delivers response bodies slowly (64 KiB per 25 ms at most). */
async function startThrottle(upstream: string): Promise<{ url: string; close(): Promise<void> }> {
  const up = new URL(upstream);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on('data', (chunk: Buffer) => {
        ur.pause();
        for (let i = 0; i < chunk.length; i += 65536) res.write(chunk.subarray(i, i + 65536));
        setTimeout(() => ur.resume(), 25);
      });
      ur.on('end', () => res.end());
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
    res.on('close', () => out.destroy());
  });
  return { url: await listen(server), close: closer(server) };
}

before(async () => {
  root = tempDir('grasp-fetch-');
  gitLog = join(root, 'git-argv.log');
  writeFileSync(gitLog, '');
  // the relay's git, wrapped to record each invocation ("no process for a refused URL")
  const wrapper = join(root, 'git-wrapper.sh');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${gitLog}'\nexec git "$@"\n`);
  chmodSync(wrapper, 0o755);
  repos = await Repos.open({ root: join(root, 'git'), binary: wrapper, log: silentLogger });

  const wt = await workTree();
  ids.c1 = await commitFile(wt, 'a.txt', 'a\n');
  ids.c2 = await commitFile(wt, 'b.txt', 'b\n');
  ids.c4 = await commitFile(wt, 'd.txt', 'd\n');
  await gitOk(['checkout', '-q', '-b', 'side', ids.c1], { cwd: wt });
  ids.c3 = await commitFile(wt, 'c.txt', 'c\n');
  await gitOk(['checkout', '-q', '-b', 'big', ids.c1], { cwd: wt });
  ids.cBig = await commitFile(wt, 'big.bin', randomBlob(3 * 1024 * 1024));
  const project = join(root, 'srv');
  mkdirSync(project);
  srcBare = join(project, 'r.git');
  await gitOk(['clone', '-q', '--bare', wt, srcBare]);

  modern = await startCgi({ projectRoot: project });
  v0 = await startCgi({ projectRoot: project, protocolV0: true, config: { 'uploadpack.allowAnySHA1InWant': 'false', 'uploadpack.allowReachableSHA1InWant': 'false', 'uploadpack.allowTipSHA1InWant': 'false' } });
  throttled = await startThrottle(modern.url);
  // accepts, reads the request, never answers
  const stallServer = createServer(() => {});
  stall = { url: await listen(stallServer), close: closer(stallServer) };
});

after(async () => {
  await Promise.all([modern?.close(), v0?.close(), throttled?.close(), stall?.close()]);
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** A fresh hosted repository holding c1 on main. */
async function hostedRepo(): Promise<RepoId> {
  const r = { owner: OWNER, d: `repo-${++seq}` };
  await repos.create(r);
  await gitOk(['--git-dir', repos.dirOf(r), 'fetch', '-q', srcBare, `${ids.c1}:refs/heads/main`]);
  return r;
}

/** What must not change when nothing landed: refs and the object count. */
async function snapshot(r: RepoId): Promise<{ refs: string; objects: string }> {
  const dir = repos.dirOf(r);
  const refs = await gitOk(['--git-dir', dir, 'for-each-ref', '--format=%(refname) %(objectname)']);
  const counts = await gitOk(['--git-dir', dir, 'count-objects', '-v']);
  const objects = counts
    .split('\n')
    .filter((l) => /^(count|in-pack):/.test(l))
    .join(' ');
  return { refs, objects };
}

function noScratchLeft(): void {
  assert.deepEqual(readdirSync(repos.scratchDir), [], 'no scratch repository is left behind');
}

function gitCalls(): string[] {
  return readFileSync(gitLog, 'utf8').split('\n').filter((l) => l !== '');
}

interface Run {
  res: FetchResult;
  landed: Oid[][];
  calls: string[];
}

/** One fetch into r; land imports what arrived (as the engine does). */
async function run(r: RepoId, job: Partial<FetchJob> & { url: string; want: Oid[] }, over: Partial<FetcherDeps> = {}, cfg: Partial<FetcherGitConfig> = {}): Promise<Run> {
  writeFileSync(gitLog, '');
  const fetcher = createFetcher({ repos, git: { ...CFG, ...cfg }, log: silentLogger, lookup: LOOPBACK, quotaPollMs: 50, ...over });
  const landed: Oid[][] = [];
  const res = await fetcher.fetch({ repo: r, quotaBytes: Infinity, ...job }, async (dir, present) => {
    assert.ok(existsSync(join(dir, 'objects')), 'land sees the scratch repository');
    landed.push(present);
    await repos.importFromDir(dir, r, present);
  });
  noScratchLeft();
  assert.ok(res.durationMs >= 0);
  return { res, landed, calls: gitCalls() };
}

test('every wanted id present: land gets them all, the repository holds them, refs untouched', async () => {
  const r = await hostedRepo();
  const refsBefore = (await snapshot(r)).refs;
  const { res, landed } = await run(r, { url: `${modern.url}/r.git`, want: [ids.c2, ids.c3, ids.c2] });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  assert.deepEqual(new Set(res.fetched), new Set([ids.c2, ids.c3]));
  assert.equal(landed.length, 1);
  assert.deepEqual(new Set(landed[0]), new Set([ids.c2, ids.c3]));
  assert.ok(res.bytes > 0, 'bytes counts what arrived in the scratch');
  assert.equal((await repos.missing(r, [ids.c2, ids.c3])).size, 0);
  assert.equal((await snapshot(r)).refs, refsBefore, 'a fetch never sets refs');
});

test('an unknown id among known ones: not-our-ref drops it and the rest arrive', async () => {
  const r = await hostedRepo();
  const { res, landed, calls } = await run(r, { url: `${modern.url}/r.git`, want: [UNKNOWN, ids.c2, UNKNOWN2, ids.c3] });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  assert.deepEqual(new Set(res.fetched), new Set([ids.c2, ids.c3]));
  assert.deepEqual(new Set(landed[0]), new Set([ids.c2, ids.c3]));
  assert.equal(calls.filter((c) => c.includes(' fetch ') && c.includes('--no-show-forced-updates')).length, 3, 'one retry per refused id');
  assert.equal((await repos.missing(r, [ids.c2, ids.c3])).size, 0);
});

test('a remote holding none of the wanted ids: not-found, nothing lands', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const { res, landed } = await run(r, { url: `${modern.url}/r.git`, want: [UNKNOWN, UNKNOWN2] });
  assert.equal(res.error?.cls, 'not-found');
  assert.deepEqual(res.fetched, []);
  assert.equal(landed.length, 0);
  assert.deepEqual(await snapshot(r), before);
});

test('a protocol v0 server refusing fetch by id: one branches+tags fallback into scratch refs', async () => {
  const r = await hostedRepo();
  // c2 is no ref tip: only the fallback can bring it
  const { res, landed, calls } = await run(r, { url: `${v0.url}/r.git`, want: [ids.c2, ids.c3] });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  assert.deepEqual(new Set(res.fetched), new Set([ids.c2, ids.c3]));
  assert.deepEqual(new Set(landed[0]), new Set([ids.c2, ids.c3]));
  const fetches = calls.filter((c) => c.includes(' fetch ') && c.includes('--no-show-forced-updates'));
  assert.equal(fetches.length, 2, 'the by-id attempt, then the fallback');
  assert.ok(fetches[1]!.includes('+refs/heads/*:refs/sync/heads/*') && fetches[1]!.includes('+refs/tags/*:refs/sync/tags/*'));
  assert.equal((await repos.missing(r, [ids.c2, ids.c3])).size, 0);
  const refs = (await snapshot(r)).refs;
  assert.ok(!refs.includes('refs/sync/'), 'the fallback refs stay in the scratch');
});

test('the checked addresses are pinned: a name only the injected lookup knows is fetched from', async () => {
  const r = await hostedRepo();
  const port = new URL(modern.url).port;
  const { res, calls } = await run(r, { url: `http://git-sync-pin.invalid:${port}/r.git`, want: [ids.c3] });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  assert.deepEqual(res.fetched, [ids.c3]);
  assert.ok(calls.some((c) => c.includes(`http.curloptResolve=git-sync-pin.invalid:${port}:127.0.0.1`)));
});

test('refused URLs: bad-url, and no git process at all', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  for (const url of [`file://${srcBare}`, srcBare, `ext::sh -c touch% ${join(root, 'pwned')}`, `http://user:pw@127.0.0.1:${new URL(modern.url).port}/r.git`, 'ssh://127.0.0.1/r.git', `-u${modern.url}/r.git`]) {
    const { res, landed, calls } = await run(r, { url, want: [ids.c2] });
    assert.equal(res.error?.cls, 'bad-url', url);
    assert.ok(!res.error!.message.includes('user:pw'), 'credentials are not echoed');
    assert.equal(landed.length, 0);
    assert.deepEqual(calls, [], `no git process for ${url}`);
  }
  // http itself refused by config
  const { res, calls } = await run(r, { url: `${modern.url}/r.git`, want: [ids.c2] }, {}, { syncAllowHttp: false });
  assert.equal(res.error?.cls, 'bad-url');
  assert.deepEqual(calls, []);
  assert.ok(!existsSync(join(root, 'pwned')));
  assert.deepEqual(await snapshot(r), before);
});

test('forbidden addresses without syncAllowPrivateAddresses: refused before any git process', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const strict = { syncAllowPrivateAddresses: false };
  const loop = await run(r, { url: `${modern.url}/r.git`, want: [ids.c2] }, {}, strict);
  assert.equal(loop.res.error?.cls, 'forbidden-address');
  assert.deepEqual(loop.calls, []);
  const named = await run(r, { url: 'https://git.example.com/r.git', want: [ids.c2] }, { lookup: () => Promise.resolve([{ address: '93.184.216.34', family: 4 }, { address: '::ffff:10.0.0.1', family: 6 }]) }, strict);
  assert.equal(named.res.error?.cls, 'forbidden-address');
  assert.match(named.res.error!.message, /10\.0\.0\.1/);
  assert.deepEqual(named.calls, []);
  const nx = await run(r, { url: 'https://nx.example.com/r.git', want: [ids.c2] }, { lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) }, strict);
  assert.equal(nx.res.error?.cls, 'dns');
  assert.deepEqual(nx.calls, []);
  assert.deepEqual(await snapshot(r), before);
});

test('a server that accepts and stalls: killed at the fetch timeout', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const { res, landed } = await run(r, { url: `${stall.url}/r.git`, want: [ids.c2] }, {}, { syncFetchTimeoutSeconds: 1 });
  assert.equal(res.error?.cls, 'timeout', JSON.stringify(res.error));
  assert.ok(res.durationMs >= 900 && res.durationMs < 15_000, `durationMs ${res.durationMs}`);
  assert.equal(landed.length, 0);
  assert.deepEqual(await snapshot(r), before);
});

test('a server that stalls: aborted by the low-speed limit', async () => {
  const r = await hostedRepo();
  const { res } = await run(r, { url: `${stall.url}/r.git`, want: [ids.c2] }, {}, { syncLowSpeedSeconds: 1, syncLowSpeedBytesPerSecond: 1000 });
  assert.equal(res.error?.cls, 'timeout', JSON.stringify(res.error));
  assert.match(res.error!.message, /too slow/i);
  assert.ok(res.durationMs < 30_000, `durationMs ${res.durationMs}`);
});

test('a fetch streaming past the quota: killed, too-large, nothing lands', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const { res, landed } = await run(r, { url: `${throttled.url}/r.git`, want: [ids.cBig], quotaBytes: 256 * 1024 });
  assert.equal(res.error?.cls, 'too-large', JSON.stringify(res.error));
  assert.deepEqual(res.fetched, []);
  assert.equal(landed.length, 0);
  assert.ok(res.bytes < 3 * 1024 * 1024, `killed before the whole pack arrived (${res.bytes} bytes)`);
  assert.deepEqual(await snapshot(r), before);
  // the same fetch with room for it arrives (the quota was the only obstacle)
  const ok = await run(r, { url: `${modern.url}/r.git`, want: [ids.cBig], quotaBytes: 64 * 1024 * 1024 });
  assert.equal(ok.res.error, undefined, JSON.stringify(ok.res.error));
  assert.deepEqual(ok.res.fetched, [ids.cBig]);
});

test('a fetch quicker than one quota poll is still held to the quota', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const { res, landed } = await run(r, { url: `${modern.url}/r.git`, want: [ids.cBig], quotaBytes: 256 * 1024 }, { quotaPollMs: 60_000 });
  assert.equal(res.error?.cls, 'too-large', JSON.stringify(res.error));
  assert.equal(landed.length, 0);
  assert.deepEqual(await snapshot(r), before);
});

test('404: not-found with the status', async () => {
  const r = await hostedRepo();
  const { res, landed } = await run(r, { url: `${modern.url}/nope.git`, want: [ids.c2] });
  assert.equal(res.error?.cls, 'not-found', JSON.stringify(res.error));
  assert.equal(res.error?.status, 404);
  assert.equal(landed.length, 0);
});

test('a remote asking for credentials: http 401 at once, no prompt, no helper', async () => {
  const r = await hostedRepo();
  const server = createServer((_req, res) => {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
    res.end('auth required');
  });
  const url = await listen(server);
  try {
    const { res } = await run(r, { url: `${url}/r.git`, want: [ids.c2] });
    assert.equal(res.error?.cls, 'http', JSON.stringify(res.error));
    assert.equal(res.error?.status, 401);
    assert.ok(res.durationMs < 15_000);
  } finally {
    await closer(server)();
  }
});

test('a refused port: refused', async () => {
  const r = await hostedRepo();
  const s = createServer();
  const url = await listen(s);
  await closer(s)();
  const { res } = await run(r, { url: `${url}/r.git`, want: [ids.c2] });
  assert.equal(res.error?.cls, 'refused', JSON.stringify(res.error));
  assert.ok(!res.error!.message.includes('\n'));
});

test('land throwing: reported as the error, nothing counted as fetched, the scratch still goes', async () => {
  const r = await hostedRepo();
  const fetcher = createFetcher({ repos, git: CFG, log: silentLogger, lookup: LOOPBACK });
  let scratch = '';
  const res = await fetcher.fetch({ url: `${modern.url}/r.git`, repo: r, want: [ids.c2], quotaBytes: Infinity }, (dir) => {
    scratch = dir;
    return Promise.reject(new Error('disk full\nsecond line'));
  });
  assert.equal(res.error?.cls, 'git');
  assert.match(res.error!.message, /import failed: disk full/);
  assert.ok(!res.error!.message.includes('\n'));
  assert.deepEqual(res.fetched, []);
  assert.ok(scratch !== '' && !existsSync(scratch));
  noScratchLeft();
});

test('nothing to fetch, or a repository at its limit: no git process', async () => {
  const r = await hostedRepo();
  const none = await run(r, { url: `${modern.url}/r.git`, want: ['not-an-oid'] });
  assert.equal(none.res.error, undefined);
  assert.deepEqual(none.calls, []);
  const full = await run(r, { url: `${modern.url}/r.git`, want: [ids.c2], quotaBytes: 0 });
  assert.equal(full.res.error?.cls, 'too-large');
  assert.deepEqual(full.calls, []);
});

test('aborted while git waits on the remote (git sync closing): the child is killed at once, nothing lands', async () => {
  const r = await hostedRepo();
  const before = await snapshot(r);
  const ac = new AbortController();
  // the remote answers nothing; the abort comes once git's first request has reached it
  const server = createServer(() => ac.abort());
  const url = await listen(server);
  try {
    const { res, landed } = await run(r, { url: `${url}/r.git`, want: [ids.c2], signal: ac.signal }, {}, { syncFetchTimeoutSeconds: 120 });
    assert.equal(res.error?.cls, 'git', JSON.stringify(res.error));
    assert.match(res.error!.message, /aborted/);
    assert.ok(res.durationMs < 30_000, `durationMs ${res.durationMs}: killed, not timed out`);
    assert.equal(landed.length, 0);
    assert.deepEqual(await snapshot(r), before);
  } finally {
    await closer(server)();
  }
});
