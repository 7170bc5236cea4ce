// Git bench (issue 9): a generated repository (10k commits via `git fast-import`) served on this
// machine two ways in one run — grasp-relay (own process, git on; announced, state published,
// pushed with the git CLI) and `git http-backend` behind a CGI shim (bench/lib/git-cgi.ts) over
// the relay's own repository directory, so both serve the same bytes. Measures full clone and
// incremental fetch (median of ABAB-interleaved repetitions; ratio relay/http-backend, goal ≥ 0.9),
// N concurrent clones against the relay (throughput, p50/p99, peak RSS of the relay process from
// /proc/<pid>/status against its RSS for one clone, and one clone of a ~4× larger repository), and
// the pure `authorize` for a push of 10k refs against a state of 10k refs.
// Run: npx tsc -p . && node dist/bench/git.js [--commits 10000] [--reps 5] [--concurrency 50] [--quick]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import WebSocket from 'ws';
import { authorize, type AuthorizeInput } from '../src/git/authorize.js';
import type { RefCommand, StateRefs } from '../src/git/types.js';
import { parseArgs } from './lib/args.js';
import { startCgi } from './lib/git-cgi.js';
import { dirBytes, generateRepo, git, type GenOptions } from './lib/git-gen.js';
import { progress, runIfMain, type BenchResult, type BenchRow } from './lib/output.js';
import { spawnRelay } from './lib/relay-proc.js';
import { percentiles, ratio, round } from './lib/stats.js';

const MB = 1024 * 1024;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

/** Peak VmRSS of `pid` sampled from /proc every `everyMs` until stop(). */
function rssSampler(pid: number, everyMs = 20): { stop(): number } {
  let peak = 0;
  const read = (): void => {
    try {
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // not Linux, or gone
    }
  };
  read();
  const t = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(t);
      read();
      return peak;
    },
  };
}

/** Publish one event over a WebSocket and wait for its OK; throws when refused. */
async function publish(wsUrl: string, ev: { id: string }): Promise<string> {
  const ws = new WebSocket(wsUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return await new Promise<string>((resolve, reject) => {
      ws.on('message', (d: WebSocket.RawData) => {
        const m = JSON.parse(d.toString()) as unknown[];
        if (m[0] !== 'OK' || m[1] !== ev.id) return;
        if (m[2] === true) resolve(String(m[3]));
        else reject(new Error(`event refused: ${String(m[3])}`));
      });
      ws.send(JSON.stringify(['EVENT', ev]));
    });
  } finally {
    ws.close();
  }
}

/** The authorize micro-benchmark: `n` ref updates against a state of `n` refs, `iterations` calls. */
export function benchAuthorize(n: number, iterations: number): { p50: number; p99: number; ok: boolean } {
  const oid = (i: number, salt: number): string => ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(5);
  const commands: RefCommand[] = [];
  const localRefs = new Map<string, string>();
  const stateRefs = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const ref = `refs/heads/branch-${i}`;
    const old = oid(i, 1);
    const next = oid(i, 2);
    localRefs.set(ref, old);
    stateRefs.set(ref, next);
    commands.push({ old, new: next, ref });
  }
  const pk = 'a'.repeat(64);
  const state: StateRefs = { id: 'b'.repeat(64), author: pk, created_at: 1_700_000_000, refs: stateRefs, head: 'refs/heads/branch-0' };
  // an older state from the same maintainer tried first would be realistic for purgatory; the
  // authoritative state alone is the common case
  const input: AuthorizeInput = {
    repoName: 'npub1bench/bench',
    commands,
    localRefs,
    held: new Set(),
    candidates: [state],
    npub: (p) => `npub1${p.slice(0, 20)}`,
    nostr: { tipOf: () => undefined, placeholders: 0, maxPlaceholders: 100 },
  };
  let ok = true;
  for (let i = 0; i < Math.min(20, iterations); i++) ok &&= authorize(input).ok; // warm-up
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    const r = authorize(input);
    ms.push(performance.now() - t);
    ok &&= r.ok;
  }
  const p = percentiles(ms);
  return { p50: p.p50, p99: p.p99, ok };
}

async function main(): Promise<BenchResult> {
  const args = parseArgs();
  const started = Date.now();
  const commits = args.num('commits', 10_000, 1_000);
  const reps = args.num('reps', 5, 3);
  const fetchCommits = args.num('fetch-commits', 100, 20);
  const concurrency = args.num('concurrency', 50, 10);
  const largeFactor = args.num('large-factor', 4, 4);
  const authRefs = args.num('auth-refs', 10_000);
  const authIterations = args.num('auth-iterations', 200, 50);
  const maxProcesses = args.num('max-processes', 16);
  const maxRequestsPerIp = args.num('max-requests-per-ip', Math.max(64, concurrency + 2));
  const maxQueued = args.num('max-queued', Math.max(64, concurrency));
  const queueWaitSeconds = args.num('queue-wait-seconds', 600);
  const idleTimeoutSeconds = args.num('idle-timeout-seconds', 600);
  const packThreads = 2;
  const gen: GenOptions = { commits, files: 400, filesPerCommit: 3, churnLines: 6, linesPerFile: 96, seed: 9 };

  const root = mkdtempSync(join(tmpdir(), 'grasp-bench-git-'));
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  let relay: Awaited<ReturnType<typeof spawnRelay>> | undefined;
  let cgi: Awaited<ReturnType<typeof startCgi>> | undefined;
  try {
    // ---- the repositories ----
    let t = performance.now();
    const srcA = join(root, 'src-a.git');
    const a = await generateRepo(srcA, gen, fetchCommits);
    progress(`generated ${commits} commits in ${round((performance.now() - t) / 1000, 1)} s (${round(dirBytes(join(srcA, 'objects')) / MB, 1)} MB fast-import pack)`);
    const srcB = join(root, 'src-b.git');
    // the larger one: the same history shape with `largeFactor` × the files rewritten per commit
    const b = largeFactor > 0 ? await generateRepo(srcB, { ...gen, filesPerCommit: gen.filesPerCommit * largeFactor, seed: 10 }, fetchCommits) : undefined;

    // ---- the relay, its repositories announced, stated and pushed ----
    relay = await spawnRelay({
      git: { enabled: true, syncEnabled: false, maxProcesses, maxRequestsPerIp, maxQueued, queueWaitSeconds, idleTimeoutSeconds, packThreads },
    });
    const http = `http://127.0.0.1:${relay.info.port}`;
    const wsUrl = `ws://127.0.0.1:${relay.info.port}`;
    const sk = new Uint8Array(32).fill(7);
    const pk = getPublicKey(sk);
    const npub = npubEncode(pk);
    const now = Math.floor(Date.now() / 1000);
    const setUp = async (d: string, src: string, head: string): Promise<void> => {
      const url = `${http}/${npub}/${d}.git`;
      const sign = (kind: number, tags: string[][], dt: number) => finalizeEvent({ kind, tags, content: '', created_at: now - 100 + dt }, sk);
      await publish(wsUrl, sign(30617, [['d', d], ['name', d], ['clone', url], ['relays', wsUrl], ['maintainers', pk]], 0));
      await publish(wsUrl, sign(30618, [['d', d], ['refs/heads/main', head], ['HEAD', 'ref: refs/heads/main']], 1));
      const tp = performance.now();
      await git(['push', '-q', url, 'refs/heads/main:refs/heads/main'], { cwd: src });
      progress(`pushed ${d} to the relay in ${round((performance.now() - tp) / 1000, 1)} s`);
    };
    await setUp('bench', srcA, a.head);
    if (b) await setUp('bench-large', srcB, b.head);

    // ---- git http-backend over the same repository directories ----
    cgi = await startCgi({
      projectRoot: join(relay.info.dataDir, 'git'),
      config: {
        'pack.threads': String(packThreads),
        'uploadpack.allowFilter': 'true',
        'uploadpack.allowTipSHA1InWant': 'true',
        'uploadpack.allowReachableSHA1InWant': 'true',
      },
    });
    const servers = [
      { name: 'relay', url: (d: string) => `${http}/${npub}/${d}.git` },
      { name: 'http-backend', url: (d: string) => `${cgi!.url}/${npub}/${d}.git` },
    ] as const;
    for (const s of servers) {
      const adv = await git(['ls-remote', s.url('bench'), 'refs/heads/main']);
      if (!adv.startsWith(a.head)) throw new Error(`${s.name} advertises ${adv}, expected ${a.head}`);
    }

    // ---- full clone and incremental fetch, ABAB ----
    let n = 0;
    const clone = async (url: string, check?: string): Promise<{ ms: number; bytes: number }> => {
      const dir = join(root, `clone-${n++}`);
      const t0 = performance.now();
      await git(['clone', '-q', '--bare', url, dir]);
      const ms = performance.now() - t0;
      if (check !== undefined) {
        const got = await git(['rev-parse', 'refs/heads/main'], { cwd: dir });
        if (got !== check) throw new Error(`clone of ${url}: main is ${got}, expected ${check}`);
      }
      const bytes = dirBytes(join(dir, 'objects', 'pack'));
      rmSync(dir, { recursive: true, force: true });
      return { ms, bytes };
    };
    const baseRepo = join(root, 'base.git');
    await git(['clone', '-q', '--bare', '--no-local', '--single-branch', '--branch', 'base', srcA, baseRepo]);
    const fetchOnce = async (url: string): Promise<{ ms: number }> => {
      const dir = join(root, `fetch-${n++}`);
      await git(['clone', '-q', '--bare', '--local', baseRepo, dir]);
      const t0 = performance.now();
      await git(['fetch', '-q', url, 'refs/heads/main:refs/heads/main'], { cwd: dir });
      const ms = performance.now() - t0;
      const got = await git(['rev-parse', 'refs/heads/main'], { cwd: dir });
      rmSync(dir, { recursive: true, force: true });
      if (got !== a.head) throw new Error(`fetch from ${url}: main is ${got}, expected ${a.head}`);
      return { ms };
    };
    progress('warm-up: one clone from each');
    const packBytes = (await clone(servers[0].url('bench'), a.head)).bytes;
    await clone(servers[1].url('bench'), a.head);
    const cloneMs: Record<string, number[]> = { relay: [], 'http-backend': [] };
    const fetchMs: Record<string, number[]> = { relay: [], 'http-backend': [] };
    for (let i = 0; i < reps; i++) {
      for (const s of servers) cloneMs[s.name]!.push((await clone(s.url('bench'))).ms);
      progress(`clone ${i + 1}/${reps}: relay ${round(cloneMs.relay!.at(-1)!)} ms, http-backend ${round(cloneMs['http-backend']!.at(-1)!)} ms`);
    }
    for (let i = 0; i < reps; i++) {
      for (const s of servers) fetchMs[s.name]!.push((await fetchOnce(s.url('bench'))).ms);
      progress(`fetch ${i + 1}/${reps}: relay ${round(fetchMs.relay!.at(-1)!)} ms, http-backend ${round(fetchMs['http-backend']!.at(-1)!)} ms`);
    }
    const mbps = (bytes: number, ms: number): number => round(bytes / MB / (ms / 1000), 2);
    const cR = median(cloneMs.relay!);
    const cH = median(cloneMs['http-backend']!);
    const fR = median(fetchMs.relay!);
    const fH = median(fetchMs['http-backend']!);
    const abab = `ABAB interleaved (relay, http-backend, relay, …) on a shared, loaded machine; median of ${reps}`;
    rows.push({
      metric: `git clone --bare (protocol v2, no checkout), ${commits} commits, ${round(packBytes / MB, 1)} MB pack`,
      value: mbps(packBytes, cR),
      unit: 'MB/s',
      p50Ms: round(cR, 1),
      baseline: mbps(packBytes, cH),
      baselineName: `git http-backend via CGI shim, ${round(cH, 1)} ms`,
      ratio: ratio(cH, cR),
      goal: 0.9,
      note: abab,
    });
    rows.push({
      metric: `git fetch of the last ${fetchCommits} commits (clone at N−${fetchCommits})`,
      value: round(1000 / fR, 2),
      unit: 'fetch/s',
      p50Ms: round(fR, 1),
      baseline: round(1000 / fH, 2),
      baselineName: `git http-backend via CGI shim, ${round(fH, 1)} ms`,
      ratio: ratio(fH, fR),
      goal: 0.9,
      note: abab,
    });
    extra.cloneMs = Object.fromEntries(Object.entries(cloneMs).map(([k, v]) => [k, v.map((x) => round(x, 1))]));
    extra.fetchMs = Object.fromEntries(Object.entries(fetchMs).map(([k, v]) => [k, v.map((x) => round(x, 1))]));

    // ---- the relay's RSS: idle, one clone, one clone of the larger repository ----
    const pid = relay.pid;
    const idle = rssSampler(pid).stop();
    let s = rssSampler(pid);
    await clone(servers[0].url('bench'));
    const rssOne = s.stop();
    let rssLarge = 0;
    let packLarge = 0;
    if (b) {
      s = rssSampler(pid);
      packLarge = (await clone(servers[0].url('bench-large'), b.head)).bytes;
      rssLarge = s.stop();
    }

    // ---- N concurrent clones against the relay ----
    progress(`${concurrency} concurrent clones against the relay (git.maxProcesses ${maxProcesses}, maxRequestsPerIp ${maxRequestsPerIp}, maxQueued ${maxQueued}, queueWaitSeconds ${queueWaitSeconds})`);
    s = rssSampler(pid);
    t = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: concurrency }, () => clone(servers[0].url('bench'), a.head)));
    const wall = performance.now() - t;
    const times = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.ms] : []));
    const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failed.length > 0) {
      progress(`${failed.length} of ${concurrency} concurrent clones failed; first: ${failed[0]!.slice(0, 600)}`);
      extra.concurrentFailures = failed.slice(0, 5);
    }
    const rssMany = s.stop();
    const p = percentiles(times);
    rows.push({
      metric: `${concurrency} concurrent clones against the relay`,
      value: mbps(packBytes * times.length, wall),
      unit: 'MB/s',
      p50Ms: round(p.p50, 1),
      p99Ms: round(p.p99, 1),
      note: `${failed.length > 0 ? `${failed.length} FAILED (${failed[0]!.slice(0, 160)}); ` : 'all complete and checked; '}wall ${round(wall / 1000, 1)} s; git.maxProcesses ${maxProcesses}, git.maxRequestsPerIp ${maxRequestsPerIp}, git.maxQueued ${maxQueued}, git.queueWaitSeconds ${queueWaitSeconds}, git.idleTimeoutSeconds ${idleTimeoutSeconds}, pack.threads ${packThreads}`,
    });
    const rssMB = (x: number): number => round(x / MB, 1);
    rows.push({
      metric: `relay RSS peak, 1 clone (${round(packBytes / MB, 1)} MB pack)`,
      value: rssMB(rssOne),
      unit: 'MB',
      baseline: rssMB(idle),
      baselineName: 'relay RSS idle before it',
      ratio: ratio(rssOne, idle),
      lowerIsBetter: true,
      note: 'relay process only (git children excluded), VmRSS from /proc every 20 ms',
    });
    if (b) {
      rows.push({
        metric: `relay RSS peak, 1 clone of a ${round(packLarge / packBytes, 1)}× larger repository (${round(packLarge / MB, 1)} MB pack)`,
        value: rssMB(rssLarge),
        unit: 'MB',
        baseline: rssMB(rssOne),
        baselineName: `1 clone, ${round(packBytes / MB, 1)} MB pack`,
        ratio: ratio(rssLarge, rssOne),
        goal: 1.25,
        lowerIsBetter: true,
        note: `streamed: RSS must not follow the pack size (pack ratio ${round(packLarge / packBytes, 2)})`,
      });
    }
    rows.push({
      metric: `relay RSS peak, ${concurrency} concurrent clones`,
      value: rssMB(rssMany),
      unit: 'MB',
      baseline: rssMB(rssOne),
      baselineName: '1 clone',
      ratio: ratio(rssMany, rssOne),
      lowerIsBetter: true,
      note: `${round((packBytes * concurrency) / MB)} MB of packs sent; growth over 1 clone ${rssMB(rssMany - rssOne)} MB`,
    });
    extra.rssMB = { idle: rssMB(idle), oneClone: rssMB(rssOne), oneCloneLarge: rssMB(rssLarge), concurrent: rssMB(rssMany) };
    extra.packMB = { a: rssMB(packBytes), b: rssMB(packLarge) };
    extra.concurrentCloneMs = percentiles(times);
  } finally {
    await cgi?.close();
    await relay?.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }

  // ---- authorize ----
  const au = benchAuthorize(authRefs, authIterations);
  if (!au.ok) throw new Error('authorize refused the 10k-ref push it should accept');
  rows.push({
    metric: `authorize(): push of ${authRefs} ref updates against a state of ${authRefs} refs`,
    value: round(au.p99, 3),
    unit: 'ms p99',
    p50Ms: round(au.p50, 3),
    p99Ms: round(au.p99, 3),
    note: `${authIterations} calls in process, pure function`,
  });

  return {
    bench: 'git',
    command: `node dist/bench/git.js ${args.argv.join(' ')}`.trim(),
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    params: { commits, reps, fetchCommits, concurrency, largeFactor, authRefs, authIterations, maxProcesses, maxRequestsPerIp, maxQueued, queueWaitSeconds, idleTimeoutSeconds, packThreads },
    rows,
    extra,
  };
}

runIfMain(import.meta.url, main);
