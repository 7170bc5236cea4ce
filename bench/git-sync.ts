// Git sync bench (GRASP-02 git data, issue 10): relay X (own process) hosts N repositories —
// announced, stated and pushed with the git CLI, a few generated commits each — and relay Y (own
// process, git sync on, private addresses allowed, Nostr sync from X) mirrors them: the time until
// every repository on Y is aligned with its state (every state released on Y; then checked with
// `git ls-remote` on Y), Y's peak RSS and its git children's. Same-run baseline: `git clone
// --mirror` of the same N repositories from X one after another (before and after Y, the mean),
// with the peak RSS of those git processes (GNU time). Then the no-op sweep on the aligned Y
// (GitSync.sweep() timed inside Y): its wall time, that no fetch happened (status counters
// unchanged), against the bare git work of the same checks (one for-each-ref per repository).
// Run: npx tsc -p . && node dist/bench/git-sync.js [--repos 200] [--commits 4] [--concurrency 4]
//        [--per-host-concurrency 4] [--per-host-per-minute 100000] [--quick]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import type { GitSyncStatus } from '../src/git/sync/types.js';
import { parseArgs } from './lib/args.js';
import { publishWaves, toRawEvents } from './lib/client.js';
import { dirBytes, generateRepo, git, gitEnv, type GenOptions } from './lib/git-gen.js';
import { progress, runIfMain, type BenchResult, type BenchRow } from './lib/output.js';
import { haveGnuTime, runMeasured, treeSampler, type TreePeak } from './lib/proc-tree.js';
import { spawnRelay, type HostGit, type RelayProc } from './lib/relay-proc.js';
import { ratio, round } from './lib/stats.js';

const MB = 1024 * 1024;
/** Y's service host: in every announcement, never resolved (git sync skips URLs naming its own service). */
const Y_HOST = 'git-y.bench.example';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
const mbOf = (bytes: number): number => round(bytes / MB, 1);

/** Run `fn` over `items` with at most `width` at once. */
async function pool<T, R>(items: readonly T[], width: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
  return out;
}

interface SourceRepo {
  d: string;
  dir: string;
  head: string;
}

/** `git clone --mirror` of every repository from `url(d)`, one after another; ms, checked after the clock stops. */
async function mirrorAll(root: string, label: string, repos: readonly SourceRepo[], url: (d: string) => string): Promise<number> {
  const base = join(root, `mirror-${label}`);
  const t0 = performance.now();
  for (const r of repos) await git(['clone', '-q', '--mirror', url(r.d), join(base, `${r.d}.git`)]);
  const ms = performance.now() - t0;
  for (const r of repos) {
    const dir = join(base, `${r.d}.git`);
    let refs: string;
    try {
      refs = readFileSync(join(dir, 'packed-refs'), 'utf8');
    } catch {
      refs = readFileSync(join(dir, 'refs', 'heads', 'main'), 'utf8');
    }
    if (!refs.includes(r.head)) throw new Error(`mirror of ${r.d}: main is not ${r.head}`);
  }
  rmSync(base, { recursive: true, force: true });
  return ms;
}

/** Peak RSS (GNU time) of `git clone --mirror` over the first `n` repositories: the largest. */
async function mirrorRss(root: string, repos: readonly SourceRepo[], url: (d: string) => string, n: number): Promise<number | undefined> {
  if (!haveGnuTime()) return undefined;
  const base = join(root, 'mirror-rss');
  let peak = 0;
  for (const r of repos.slice(0, n)) {
    const m = await runMeasured('git', ['clone', '-q', '--mirror', url(r.d), join(base, `${r.d}.git`)], { env: gitEnv() });
    peak = Math.max(peak, m.maxRss);
  }
  rmSync(base, { recursive: true, force: true });
  return peak;
}

interface Mirrored {
  seconds: number;
  /** Y listening (the spawn resolved) */
  readySeconds: number;
  /** the last time the count of aligned repositories grew */
  lastProgressSeconds: number;
  /** every announcement and state held on Y (stored or in purgatory): Nostr sync done */
  nostrSeconds?: number;
  converged: boolean;
  last: HostGit;
  peakRssMB: number;
  tree: TreePeak;
}

/** Start Y and wait until it has released (so aligned) every state, or made no progress for `stallMs`; the clock runs from the spawn. */
async function mirrorWithY(y: () => Promise<RelayProc>, n: number, timeoutS: number, stallMs: number): Promise<{ proc: RelayProc; result: Mirrored }> {
  const t0 = performance.now();
  const proc = await y();
  const readySeconds = (performance.now() - t0) / 1000;
  const sampler = treeSampler(proc.pid);
  let last = await proc.git();
  let nostrSeconds: number | undefined;
  let lastStates = -1;
  let lastChange = performance.now();
  let converged = false;
  let lastLog = 0;
  for (;;) {
    const now = performance.now();
    last = await proc.git();
    const held = (k: number): number => (k === 30617 ? last.stored.announcements : last.stored.states) + (last.purgatory[String(k)] ?? 0);
    if (nostrSeconds === undefined && held(30617) >= n && held(30618) >= n) nostrSeconds = (now - t0) / 1000;
    if (last.stored.states !== lastStates) {
      lastStates = last.stored.states;
      lastChange = now;
    }
    if (last.stored.states >= n && last.stored.announcements >= n) {
      converged = true;
      break;
    }
    if (now - lastChange > stallMs || (now - t0) / 1000 > timeoutS) break;
    if (now - lastLog > 5000) {
      lastLog = now;
      const f = last.sync?.fetches;
      progress(`git-sync: Y holds ${held(30617)}/${n} announcements, ${held(30618)}/${n} states; aligned ${last.stored.states}/${n}${f ? `; fetches ok ${f.ok} partial ${f.partial} failed ${f.failed} skipped ${f.skipped}, running ${last.sync?.running}, queued ${last.sync?.queued}` : '; git sync not running'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  // the last fetches may still be finishing (a state is released before its fetch returns): their
  // counters belong to this mirror, not to the sweep measured next
  const settle = performance.now() + 60_000;
  while (converged && (last.sync?.running ?? 0) > 0 && performance.now() < settle) {
    await new Promise((r) => setTimeout(r, 100));
    last = await proc.git();
  }
  const tree = sampler.stop();
  const stats = await proc.stats();
  const lastProgressSeconds = (lastChange - t0) / 1000;
  return { proc, result: { seconds, readySeconds, lastProgressSeconds, ...(nostrSeconds !== undefined ? { nostrSeconds } : {}), converged, last, peakRssMB: stats.peakRssMB, tree } };
}

/** `git ls-remote` of every repository on Y: how many serve exactly main = head and HEAD → main. */
async function verifyOnY(repos: readonly SourceRepo[], url: (d: string) => string, width: number): Promise<{ ok: number; bad: string[] }> {
  const bad: string[] = [];
  await pool(repos, width, async (r) => {
    const out = await git(['ls-remote', '--symref', url(r.d)]).catch((e: unknown) => `error: ${e instanceof Error ? e.message : String(e)}`);
    const heads = out.split('\n').filter((l) => l.endsWith('\trefs/heads/main'));
    if (heads.length !== 1 || !heads[0]!.startsWith(r.head) || !out.includes('ref: refs/heads/main\tHEAD')) bad.push(`${r.d}: ${out.slice(0, 200)}`);
  });
  return { ok: repos.length - bad.length, bad };
}

/**
 * The bare git work of a no-op check, `width` repositories at once: the one git process an aligned
 * repository costs (for-each-ref of its branches, tags and refs/nostr) and its HEAD file read.
 */
async function bareChecks(dirs: readonly string[], width: number): Promise<number> {
  const t0 = performance.now();
  await pool(dirs, width, async (dir) => {
    const refs = await git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags', 'refs/nostr'], { cwd: dir });
    if (!refs.includes('refs/heads/main') || !readFileSync(join(dir, 'HEAD'), 'utf8').startsWith('ref: refs/heads/main')) throw new Error(`${dir}: not aligned`);
  });
  return performance.now() - t0;
}

const fetchesOf = (s: GitSyncStatus | undefined): string => (s ? `ok ${s.fetches.ok}, partial ${s.fetches.partial}, failed ${s.fetches.failed}, skipped ${s.fetches.skipped}, objects imported ${s.objectsImported}` : 'no git sync status');
const sameCounters = (a: GitSyncStatus, b: GitSyncStatus): boolean =>
  a.fetches.ok === b.fetches.ok && a.fetches.partial === b.fetches.partial && a.fetches.failed === b.fetches.failed && a.fetches.skipped === b.fetches.skipped && a.objectsImported === b.objectsImported;

async function main(): Promise<BenchResult> {
  const args = parseArgs();
  const started = Date.now();
  const n = args.num('repos', 200, 20);
  const commits = args.num('commits', 4, 3);
  const files = args.num('files', 24, 12);
  const linesPerFile = args.num('lines', 48);
  const syncConcurrency = args.num('concurrency', 4);
  const perHostConcurrency = args.num('per-host-concurrency', syncConcurrency);
  const perHostPerMinute = args.num('per-host-per-minute', 100_000);
  const sweeps = args.num('sweeps', 3, 2);
  const rssSample = args.num('rss-sample', 20, 5);
  const timeoutS = args.num('timeout', 900, 300);
  // no new aligned repository for this long: Y is stuck (hunts retry every 2 min at most)
  const stallS = args.num('stall-seconds', 150, 60);
  const setupWidth = 4;

  const root = mkdtempSync(join(tmpdir(), 'grasp-bench-git-sync-'));
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  let x: RelayProc | undefined;
  let y: RelayProc | undefined;
  try {
    // ---- N small repositories (distinct seeds: no objects shared between them) ----
    let t = performance.now();
    const gen = (i: number): GenOptions => ({ commits, files, filesPerCommit: 3, churnLines: 6, linesPerFile, seed: 1000 + i });
    const repos: SourceRepo[] = await pool(
      Array.from({ length: n }, (_, i) => i),
      setupWidth,
      async (i) => {
        const dir = join(root, 'src', `repo-${i}.git`);
        const { head } = await generateRepo(dir, gen(i), 1);
        return { d: `repo-${i}`, dir, head };
      },
    );
    const srcBytes = repos.reduce((a, r) => a + dirBytes(join(r.dir, 'objects')), 0);
    progress(`git-sync: generated ${n} repositories × ${commits} commits in ${round((performance.now() - t) / 1000, 1)} s (${mbOf(srcBytes)} MB of objects)`);

    // ---- X: announced (listing X and Y), stated, pushed ----
    x = await spawnRelay({ git: { enabled: true, syncEnabled: false, maxRequestsPerIp: 64, maxQueued: 256 } });
    const xHttp = `http://127.0.0.1:${x.info.port}`;
    const xWs = `ws://127.0.0.1:${x.info.port}`;
    const sk = new Uint8Array(32).fill(11);
    const pk = getPublicKey(sk);
    const npub = npubEncode(pk);
    const xUrl = (d: string): string => `${xHttp}/${npub}/${d}.git`;
    const now = Math.floor(Date.now() / 1000);
    const sign = (kind: number, tags: string[][], dt: number) => finalizeEvent({ kind, tags, content: '', created_at: now - 100 + dt }, sk);
    const anns = repos.map((r) =>
      sign(30617, [['d', r.d], ['name', r.d], ['clone', xUrl(r.d), `https://${Y_HOST}/${npub}/${r.d}.git`], ['relays', xWs, `wss://${Y_HOST}`], ['maintainers', pk]], 0),
    );
    const states = repos.map((r) => sign(30618, [['d', r.d], ['refs/heads/main', r.head], ['HEAD', 'ref: refs/heads/main']], 1));
    const pub = await publishWaves(xWs, [toRawEvents(anns), toRawEvents(states)], 2, 50);
    if (pub.ok !== 2 * n) throw new Error(`X accepted ${pub.ok} of ${2 * n} events: ${JSON.stringify(pub.refusals)}`);
    t = performance.now();
    await pool(repos, setupWidth, (r) => git(['push', '-q', xUrl(r.d), 'refs/heads/main:refs/heads/main'], { cwd: r.dir }));
    const xGit = await x.git();
    if (xGit.stored.states !== n || xGit.stored.announcements !== n) throw new Error(`X released ${xGit.stored.announcements} announcements and ${xGit.stored.states} states of ${n}`);
    const xRepoBytes = dirBytes(join(x.info.dataDir, 'git'));
    progress(`git-sync: X holds ${n} repositories (${mbOf(xRepoBytes)} MB on disk), pushed in ${round((performance.now() - t) / 1000, 1)} s`);
    const xStats = await x.stats();

    // ---- baseline: git clone --mirror of every repository from X, one after another ----
    progress(`git-sync: baseline 1/2: git clone --mirror of ${n} repositories from X, one after another`);
    const base1 = await mirrorAll(root, 'a', repos, xUrl);
    progress(`git-sync: baseline 1/2: ${round(base1 / 1000, 2)} s`);

    // ---- Y mirrors X through Nostr sync + git sync ----
    progress(`git-sync: Y syncing from X (git.syncConcurrency ${syncConcurrency}, syncPerHostConcurrency ${perHostConcurrency}, syncPerHostPerMinute ${perHostPerMinute})`);
    const m = await mirrorWithY(
      () =>
        spawnRelay({
          service: { hosts: [Y_HOST] },
          sync: { enabled: true, bootstrapRelays: [xWs] },
          git: {
            enabled: true,
            syncEnabled: true,
            syncAllowPrivateAddresses: true,
            syncConcurrency,
            syncPerHostConcurrency: perHostConcurrency,
            syncPerHostPerMinute: perHostPerMinute,
          },
        }),
      n,
      timeoutS,
      stallS * 1000,
    );
    y = m.proc;
    const mir = m.result;
    progress(`git-sync: Y ${mir.converged ? 'aligned' : 'NOT aligned'} after ${round(mir.seconds, 2)} s (Nostr sync done at ${mir.nostrSeconds !== undefined ? `${round(mir.nostrSeconds, 2)} s` : '—'}); ${fetchesOf(mir.last.sync)}`);
    const yHttp = `http://127.0.0.1:${y.info.port}`;
    const yUrl = (d: string): string => `${yHttp}/${npub}/${d}.git`;
    const check = await verifyOnY(repos, yUrl, setupWidth);
    progress(`git-sync: git ls-remote on Y: ${check.ok}/${n} serve main = their state and HEAD → main${check.bad.length > 0 ? `; first wrong: ${check.bad[0]}` : ''}`);
    // not converged although git sync ran: does one sweep (what the hourly timer runs) finish it?
    let healedBySweep: { aligned: number; ms: number; fetched: boolean; fetches: string } | undefined;
    if (!mir.converged && mir.last.sync !== undefined) {
      const sw = await y.gitSweep();
      const after = await y.git();
      healedBySweep = { aligned: after.stored.states, ms: round(sw.ms), fetched: !sameCounters(sw.before, sw.after), fetches: fetchesOf(sw.after) };
      progress(`git-sync: one sweep on the unconverged Y: ${after.stored.states}/${n} aligned after it (${round(sw.ms)} ms; ${fetchesOf(sw.after)})`);
      extra.healedBySweep = healedBySweep;
    }
    extra.mirror = { ...mir, seconds: round(mir.seconds, 3), nostrSeconds: mir.nostrSeconds !== undefined ? round(mir.nostrSeconds, 3) : undefined, verified: check.ok, wrong: check.bad.slice(0, 5) };

    // ---- the no-op sweep on the aligned Y, interleaved with its bare-git baseline ----
    const aligned = mir.converged || healedBySweep?.aligned === n;
    const yDirs = repos.map((r) => join(y!.info.dataDir, 'git', npub, `${r.d}.git`));
    const sweepMs: number[] = [];
    const bareMs: number[] = [];
    let fetched = false;
    const sweepNotes: string[] = [];
    if (mir.last.sync !== undefined && aligned) {
      for (let i = 0; i < sweeps; i++) {
        bareMs.push(await bareChecks(yDirs, syncConcurrency));
        const s = await y.gitSweep();
        sweepMs.push(s.ms);
        if (!sameCounters(s.before, s.after)) {
          fetched = true;
          sweepNotes.push(`before: ${fetchesOf(s.before)}; after: ${fetchesOf(s.after)}`);
        }
        progress(`git-sync: no-op sweep ${i + 1}/${sweeps}: ${round(s.ms, 1)} ms (bare for-each-ref ${round(bareMs.at(-1)!, 1)} ms); ${sameCounters(s.before, s.after) ? 'no fetch (counters unchanged)' : `COUNTERS CHANGED: ${sweepNotes.at(-1)}`}`);
      }
    }

    // ---- baseline again, and the git processes' peak RSS ----
    progress(`git-sync: baseline 2/2`);
    const base2 = await mirrorAll(root, 'b', repos, xUrl);
    progress(`git-sync: baseline 2/2: ${round(base2 / 1000, 2)} s`);
    const gitRss = await mirrorRss(root, repos, xUrl, rssSample);
    const baseS = (base1 + base2) / 2000;

    // ---- rows ----
    // not converged: the time the last repository that did align took (the wait for more is not counted)
    const mirS = mir.converged ? mir.seconds : mir.lastProgressSeconds;
    const s = mir.last.sync;
    const config = `git.syncConcurrency ${syncConcurrency}, syncPerHostConcurrency ${perHostConcurrency}, syncPerHostPerMinute ${perHostPerMinute}`;
    rows.push({
      metric: `Y mirrors ${n} repositories of X (${mbOf(xRepoBytes)} MB): time until ${mir.converged ? 'every one is' : `${mir.last.stored.states} of them were (the others only after a sweep)`} aligned`,
      value: round(mirS, 2),
      unit: 's',
      baseline: round(baseS, 2),
      baselineName: `git clone --mirror of the ${n} from X one after another (${round(base1 / 1000, 2)} s before Y, ${round(base2 / 1000, 2)} s after; mean)`,
      ratio: ratio(mirS, baseS),
      goal: 1,
      lowerIsBetter: true,
      note:
        `${mir.converged ? 'all states released on Y' : `NOT converged: ${mir.last.stored.states}/${n} aligned, the last at ${round(mir.lastProgressSeconds, 2)} s, then no progress for ${stallS} s${healedBySweep ? `; ${healedBySweep.aligned}/${n} after one sweep (${healedBySweep.ms} ms, ${healedBySweep.fetched ? `it FETCHED: ${healedBySweep.fetches}` : 'no fetch'})` : ''}`}; git ls-remote on Y: ${check.ok}/${n} correct; ` +
        `from Y's spawn (listening at ${round(mir.readySeconds, 2)} s), Nostr sync of the ${2 * n} events included (all held at ${mir.nostrSeconds !== undefined ? `${round(mir.nostrSeconds, 2)} s` : '—'}); ` +
        `fetches ${fetchesOf(s)}; ${config} (defaults 4/2/30: 30 per minute from one host would need ≥ ${round(n / 30, 1)} min for ${n})`,
    });
    if (mir.nostrSeconds !== undefined) {
      const gitS = mirS - mir.nostrSeconds;
      rows.push({
        metric: `… of which git: from every event held on Y to the last repository aligned`,
        value: round(gitS, 2),
        unit: 's',
        baseline: round(baseS, 2),
        baselineName: 'the same git clone --mirror baseline',
        ratio: ratio(gitS, baseS),
        lowerIsBetter: true,
        note: `${round((gitS * 1000) / n, 1)} ms per repository; the first hunt of a synced event waits git.syncSyncedEventDelaySeconds (1 s)`,
      });
    }
    rows.push({
      metric: `Y peak RSS while mirroring (relay process)`,
      value: mir.peakRssMB,
      unit: 'MB',
      baseline: xStats.peakRssMB,
      baselineName: 'X peak RSS (took the same events and the pushes)',
      ratio: ratio(mir.peakRssMB, xStats.peakRssMB),
      lowerIsBetter: true,
      note: `VmRSS sampled every 100 ms in Y; Y's RSS + its children's PSS at one sample ≤ ${mbOf(mir.tree.total)} MB (every 50 ms, ${mir.tree.samples} samples)`,
    });
    rows.push({
      metric: `Y's git children, peak memory (PSS sum)`,
      value: mbOf(mir.tree.children),
      unit: 'MB',
      ...(gitRss !== undefined && gitRss > 0
        ? { baseline: mbOf(gitRss), baselineName: `git clone --mirror, largest process (GNU time, ${Math.min(rssSample, n)} clones)`, ratio: ratio(mir.tree.children, gitRss) }
        : {}),
      lowerIsBetter: true,
      note: `sum of the PSS of Y's child processes at one sample, every 50 ms (short-lived children can be missed: a lower bound); the baseline is one process's RSS${gitRss === undefined ? '; baseline not measured: no GNU time (/usr/bin/time)' : ''}`,
    });
    if (sweepMs.length > 0) {
      const sw = median(sweepMs);
      const bare = median(bareMs);
      rows.push({
        metric: `no-op sweep of ${n} aligned repositories (GitSync.sweep in Y)`,
        value: round(sw, 1),
        unit: 'ms',
        p50Ms: round(sw, 1),
        baseline: round(bare, 1),
        baselineName: `git for-each-ref per repository (what an aligned one costs) + its HEAD file, ${syncConcurrency} at once, from the bench`,
        ratio: ratio(sw, bare),
        lowerIsBetter: true,
        note: `median of ${sweeps} (${sweepMs.map((v) => round(v)).join(', ')} ms; baseline ${bareMs.map((v) => round(v)).join(', ')} ms, interleaved); goal < 1000 ms: ${sw < 1000 ? 'met' : 'NOT met'}; ${fetched ? `FETCHED: ${sweepNotes[0]}` : 'no fetch: fetch counters and objects imported unchanged'}`,
      });
    } else {
      const why = mir.last.sync === undefined ? 'Y has no git sync (git.syncEnabled off, or not in this build)' : 'Y did not converge, even after one sweep';
      rows.push({ metric: `no-op sweep of ${n} aligned repositories`, value: 0, unit: 'ms', note: `NOT measured: ${why}` });
    }
    extra.baselineMs = [round(base1), round(base2)];
    extra.bareCheckMs = bareMs.map((v) => round(v));
    extra.sweepMs = sweepMs.map((v) => round(v));
    extra.gitCloneMaxRssMB = gitRss !== undefined ? mbOf(gitRss) : undefined;
    extra.sizes = { sourceObjectsMB: mbOf(srcBytes), xRepositoriesMB: mbOf(xRepoBytes) };
    extra.y = { host: Y_HOST, transport: y.info.transport, remotes: s?.remotes.slice(0, 5) };
  } finally {
    await y?.close();
    await x?.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
  return {
    bench: 'git-sync',
    command: `node dist/bench/git-sync.js ${args.argv.join(' ')}`.trim(),
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    params: { repos: n, commits, files, linesPerFile, syncConcurrency, perHostConcurrency, perHostPerMinute, sweeps },
    rows,
    extra,
  };
}

runIfMain(import.meta.url, main);
