// Memory bench: the relay's resident set split into anonymous memory (JS heaps of the main thread
// and the verifier's workers, native buffers: what the relay holds) and file-backed pages (LMDB's
// memory map, reclaimable), as /metrics and the status page report it (src/ops/memory.ts).
//  - idle after start with the default config (verify.workers 'auto'), goal ≤ 80 MB anonymous;
//  - after `--events` notes published over WebSocket (4 connections × 50 in flight, generated in
//    this process so the relay's heap holds only the relay), goal: anonymous within 20 MB of idle;
//  - what one verifier worker costs (idle relays with 0, 1 and 2 workers, same run);
//  - what one open NIP-77 session costs on the loaded relay (sessions over every stored event).
// Run: npx tsc -p . && node dist/bench/memory.js [--events 200000] [--sessions 4]
//        [--data-root /dev/shm] [--transport uws|ws] [--quick]   (--sessions 0: skip the sessions)
// `--data-root` picks where the temp LMDB lives (default: the OS temp dir); on a tmpfs the load
// is not bound by fsync (its pages then count as shared memory, reported with the file pages).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { NegentropyInitiator, NegentropyStorage, buildItems } from '../src/negentropy/index.js';
import { generateNotes } from './generator.js';
import { parseArgs, transportArg } from './lib/args.js';
import { publishParallel, toRawEvents } from './lib/client.js';
import { progress, runIfMain, type BenchResult, type BenchRow } from './lib/output.js';
import { spawnRelay, type HostConfigOverrides, type HostStats, type RelayProc } from './lib/relay-proc.js';
import { round } from './lib/stats.js';

/** Idle figures after start: settle, collect the main heap's garbage, read. */
async function idleStats(relay: RelayProc, settleMs = 1500): Promise<HostStats> {
  await new Promise((r) => setTimeout(r, settleMs));
  await relay.gc();
  return relay.stats();
}

async function idleRelay(overrides: HostConfigOverrides, dataRoot: string): Promise<{ stats: HostStats; workers: number }> {
  const dir = mkdtempSync(join(dataRoot, 'grasp-bench-mem-'));
  const relay = await spawnRelay(overrides, { dataDir: dir });
  try {
    return { stats: await idleStats(relay), workers: relay.info.verifyWorkers };
  } finally {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Open `n` NIP-77 sessions (an empty client set against every stored event), 4 per connection; resolves once each has its first reply. */
async function openSessions(url: string, n: number): Promise<{ close(): Promise<void>; replyBytes: number }> {
  const perConn = 4;
  const sockets: WebSocket[] = [];
  let replyBytes = 0;
  const opened: Array<Promise<void>> = [];
  for (let c = 0; c * perConn < n; c++) {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    sockets.push(ws);
    const waiting = new Map<string, () => void>();
    ws.on('message', (data: WebSocket.RawData) => {
      const text = data.toString();
      replyBytes += text.length;
      const m = JSON.parse(text) as unknown[];
      if (m[0] === 'NEG-MSG' || m[0] === 'NEG-ERR') waiting.get(String(m[1]))?.();
      if (m[0] === 'NEG-ERR') progress(`memory: ${text.slice(0, 200)}`);
    });
    for (let k = 0; k < perConn && c * perConn + k < n; k++) {
      const sub = `neg${k}`;
      // a reply that never comes must not hang the bench: counted as missing after 2 minutes
      opened.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            progress(`memory: no reply to NEG-OPEN ${sub} on connection ${c} after 120 s`);
            resolve();
          }, 120_000);
          waiting.set(sub, () => {
            clearTimeout(timer);
            resolve();
          });
        }),
      );
      const init = new NegentropyInitiator(new NegentropyStorage(buildItems([])), { frameSizeLimit: 0 });
      ws.send(JSON.stringify(['NEG-OPEN', sub, {}, init.initiate()]));
    }
  }
  await Promise.all(opened);
  return {
    replyBytes,
    async close() {
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise<void>((resolve) => {
              ws.once('close', () => resolve());
              ws.close();
            }),
        ),
      );
    },
  };
}

/** How long the relay idles after the load before the "after" figures. */
const AFTER_SETTLE_MS = 15_000;

const anonOf = (s: HostStats): string => `anon ${s.rssAnonMB} MB (main JS heap ${s.heapUsedMB} used / ${s.heapTotalMB} committed) + file ${s.rssFileMB} MB`;

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<BenchResult> {
  const args = parseArgs(argv);
  const started = new Date();
  const n = args.num('events', 200_000, 5_000);
  const sessions = args.num('sessions', 4, 2);
  const dataRoot = args.str('data-root', tmpdir());
  const transport = transportArg(args);
  const rows: BenchRow[] = [];
  if (process.platform !== 'linux') progress('memory: not Linux, the anonymous / file split is unavailable (0)');

  progress('memory: idle relays with 0, 1 and 2 verifier workers');
  const w0 = await idleRelay({ server: { transport }, verify: { workers: 0 } }, dataRoot);
  const w1 = await idleRelay({ server: { transport }, verify: { workers: 1 } }, dataRoot);
  const w2 = await idleRelay({ server: { transport }, verify: { workers: 2 } }, dataRoot);
  const perWorker = round((w2.stats.rssAnonMB - w0.stats.rssAnonMB) / 2, 1);
  rows.push({
    metric: 'memory: anonymous per verifier worker (idle)',
    value: perWorker,
    unit: 'MB',
    baseline: w0.stats.rssAnonMB,
    baselineName: 'anon MB, 0 workers',
    ratio: round(perWorker / Math.max(1, w0.stats.rssAnonMB), 3),
    lowerIsBetter: true,
    note: `anon with 0 / 1 / 2 workers: ${w0.stats.rssAnonMB} / ${w1.stats.rssAnonMB} / ${w2.stats.rssAnonMB} MB`,
  });

  progress(`memory: default config, idle, then ${n} notes over WebSocket`);
  const events = toRawEvents(generateNotes(n, 4242));
  const dir = mkdtempSync(join(dataRoot, 'grasp-bench-mem-'));
  const relay = await spawnRelay({ server: { transport }, policy: { mode: 'open' } }, { dataDir: dir });
  let idle: HostStats;
  let loaded: HostStats;
  let after: HostStats;
  let withSessions: HostStats;
  let sessionsClosed: HostStats;
  let loadRate: number;
  let replyBytes: number;
  try {
    idle = await idleStats(relay);
    await relay.resetPeak();
    const pub = await publishParallel(relay.info.url, events, 4, 50);
    loadRate = pub.eventsPerSec;
    loaded = await relay.stats();
    // idle afterwards: long enough for the relay's heap trim (src/ops/heap-trim.ts: V8 shrinks the
    // young generation once allocation has been low for ~5 s, on the trim's next 5 s tick)
    after = await idleStats(relay, AFTER_SETTLE_MS);
    progress(`memory: ${sessions} NIP-77 sessions over ${after.storeEvents} events`);
    const neg = await openSessions(relay.info.url, sessions);
    replyBytes = neg.replyBytes;
    await relay.gc();
    withSessions = await relay.stats();
    await neg.close();
    sessionsClosed = await idleStats(relay, 500);
  } finally {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push({
    metric: `memory: anonymous idle after start (default config, verify.workers auto = ${relay.info.verifyWorkers})`,
    value: idle.rssAnonMB,
    unit: 'MB',
    baseline: 80,
    baselineName: 'goal, MB',
    ratio: round(idle.rssAnonMB / 80, 3),
    goal: 1,
    lowerIsBetter: true,
    note: `${anonOf(idle)}; RSS ${idle.rssMB} MB`,
  });
  const growth = round(after.rssAnonMB - idle.rssAnonMB, 1);
  rows.push({
    metric: `memory: anonymous after ${after.storeEvents} events stored, idle`,
    value: after.rssAnonMB,
    unit: 'MB',
    baseline: idle.rssAnonMB,
    baselineName: 'anon MB idle after start',
    ratio: round(after.rssAnonMB / Math.max(1, idle.rssAnonMB), 3),
    note:
      `+${growth} MB (goal ≤ +20 ${growth <= 20 ? '✓' : '✗'}); ${anonOf(after)}; RSS ${after.rssMB} MB, peak ${loaded.peakRssMB} MB; ` +
      `right after the load (before GC) anon ${loaded.rssAnonMB} MB, main JS heap ${loaded.heapTotalMB} MB committed; figures after ${AFTER_SETTLE_MS / 1000} s idle; loaded at ${loadRate} events/s (4×50 over WebSocket)`,
  });
  // --sessions 0: no session row (on a loaded machine, sessions over 200k events can take minutes)
  const perSession = sessions > 0 ? round((withSessions.rssAnonMB - after.rssAnonMB) / sessions, 2) : 0;
  const note = `${sessions} sessions open: anon ${withSessions.rssAnonMB} MB; closed again: ${sessionsClosed.rssAnonMB} MB; first replies ${replyBytes} bytes`;
  const designMB = round((after.storeEvents * 44) / 1024 / 1024, 2);
  if (sessions > 0) rows.push({
    metric: `memory: anonymous per open NIP-77 session over ${after.storeEvents} events`,
    value: perSession,
    unit: 'MB',
    lowerIsBetter: true,
    // a small store's sessions cost less than RSS sampling can see (0 or below): no ratio then
    ...(perSession > 0 && designMB > 0
      ? { baseline: designMB, baselineName: 'MB at 44 bytes/event (design figure)', ratio: round(perSession / designMB, 3), note }
      : { note: `${note}; below what RSS sampling resolves at this size` }),
  });
  return {
    bench: 'memory',
    command: `node dist/bench/memory.js ${argv.join(' ')}`.trim(),
    startedAt: started.toISOString(),
    seconds: round((Date.now() - started.getTime()) / 1000, 1),
    params: { events: n, sessions, dataRoot, transport },
    rows,
    extra: { workers: { w0: w0.stats, w1: w1.stats, w2: w2.stats }, idle, loaded, after, withSessions, sessionsClosed },
  };
}

runIfMain(import.meta.url, () => main());
