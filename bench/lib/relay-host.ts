// Child-process host for a relay under benchmark (forked by relay-proc.ts): starts grasp-relay
// with bench settings (ephemeral port, temp LMDB, limits lifted, sync off), loads events straight
// through ingest.submit, samples RSS, reports and drives git sync (git-sync bench), and answers the
// parent's IPC commands until told to close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { makeConfig, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { startRelay, type RelayHandle } from '../../src/main.js';
import { memorySplit, toMB } from '../../src/ops/memory.js';
import type { GitSync, GitSyncStatus } from '../../src/git/sync/types.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import { generateNotes } from '../generator.js';
import { FanoutDriver, type FanoutRunResult } from './fanout-host.js';

export type HostConfigOverrides = { [S in keyof Config]?: Partial<Config[S]> };

export interface HostStarted {
  url: string;
  port: number;
  /** config.service.hosts as resolved by the relay */
  hosts: string[];
  verifyBackend: string;
  verifyWorkers: number;
  transport: string;
  policy: string;
  dataDir: string;
}

export interface HostLoaded {
  submitted: number;
  ok: number;
  refused: number;
  seconds: number;
  eventsPerSec: number;
  /** up to 5 refusal messages with counts */
  refusals: Record<string, number>;
  rssMB: number;
}

export interface HostStats {
  rssMB: number;
  peakRssMB: number;
  heapUsedMB: number;
  /** V8 heap of the main thread committed (used or not) */
  heapTotalMB: number;
  /** committed MB per V8 heap space of the main thread (new_space, old_space, …) */
  heapSpacesMB: Record<string, number>;
  storeEvents: number;
  connections: number;
  /** CPU time (user + system) this process has used so far, ms; differences give utilisation */
  cpuMs: number;
  /** Linux: RSS split into anonymous memory (heaps) and file pages (LMDB's memory map); else 0 */
  rssAnonMB: number;
  rssFileMB: number;
  /** this process's wall clock (timeOrigin + now, ms) when it answered: lets the parent correct
   *  trigger times for a clock that stepped between the two processes' starts */
  clockMs: number;
}

/** The git half of the relay as the git-sync bench watches it (cheap: store counts, no git process). */
export interface HostGit {
  /** announcements (30617) and states (30618) stored, i.e. released from purgatory */
  stored: { announcements: number; states: number };
  /** events held in purgatory, by kind */
  purgatory: Record<string, number>;
  /** git sync's own view (undefined: git sync off or not in this build) */
  sync?: GitSyncStatus;
}

/** One git sync sweep (GitSync.sweep) timed inside the relay process, with the status around it. */
export interface HostGitSweep {
  ms: number;
  before: GitSyncStatus;
  after: GitSyncStatus;
}

export type HostRequest =
  | { id: number; cmd: 'start'; overrides: HostConfigOverrides; dataDir?: string }
  | { id: number; cmd: 'load'; notes: number; seed: number; inFlight: number }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'gc' }
  | { id: number; cmd: 'resetPeak' }
  | { id: number; cmd: 'fanoutPrepare'; events: string[]; bytes: boolean }
  | { id: number; cmd: 'fanoutRun'; mode: 'relay' | 'raw'; chunk: number }
  | { id: number; cmd: 'git' }
  | { id: number; cmd: 'gitSweep' }
  | { id: number; cmd: 'close' };

export type HostReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Bench defaults: nothing about the host may throttle the load generator. */
export function benchConfig(overrides: HostConfigOverrides, dataDir: string): Config {
  return makeConfig({
    ...overrides,
    server: { host: '127.0.0.1', port: 0, ...overrides.server },
    service: { hosts: [], ...overrides.service },
    store: { ...overrides.store, dataDir },
    sync: { enabled: false, ...overrides.sync },
    log: { level: 'silent', ...overrides.log },
    limits: {
      maxConnectionsPerIp: 100_000,
      eventsPerMinutePerIp: 1_000_000_000,
      eventBurstPerIp: 1_000_000_000,
      maxSubscriptions: 1000,
      ...overrides.limits,
    },
  });
}

const MB = 1024 * 1024;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
};
const mb = (x: number): number => Math.round((x / MB) * 10) / 10;

/** RSS split as the relay reports it on /metrics and the status page (src/ops/memory.ts). */
function rssSplit(): { rssAnonMB: number; rssFileMB: number } {
  const m = memorySplit();
  return { rssAnonMB: m.anon === undefined ? 0 : toMB(m.anon), rssFileMB: m.file === undefined ? 0 : toMB(m.file) };
}

/** The relay's git sync engine, when git.enabled and git.syncEnabled. */
function gitSyncOf(r: RelayHandle): GitSync | undefined {
  return (r.git as { sync?: GitSync } | undefined)?.sync;
}

let relay: RelayHandle | undefined;
let fanout: FanoutDriver | undefined;
let dataDir: string | undefined;
let ownDir = false;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
sampler.unref();

async function submitAll(r: RelayHandle, list: NostrEvent[], inFlight: number): Promise<Omit<HostLoaded, 'rssMB'>> {
  let ok = 0;
  let refused = 0;
  const refusals = new Map<string, number>();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const e = list[next++]!;
      const res = await r.ingest.submit(e, JSON.stringify(e), 'client');
      if (res.ok) ok++;
      else {
        refused++;
        const key = res.message.slice(0, 80);
        refusals.set(key, (refusals.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const top = [...refusals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return {
    submitted: list.length,
    ok,
    refused,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSec: Math.round(list.length / seconds),
    refusals: Object.fromEntries(top),
  };
}

async function load(n: number, seed: number, inFlight: number): Promise<HostLoaded> {
  if (!relay) throw new Error('relay not started');
  const counts = await submitAll(relay, generateNotes(n, seed), inFlight);
  // the generated array is garbage now: collect it so RSS shows the relay, not the generator
  // (not --expose-gc on the command line: the verifier's worker threads inherit execArgv and
  // refuse that flag)
  fullGc();
  return { ...counts, rssMB: mb(process.memoryUsage.rss()) };
}

/** Two full collections of the main thread's heap (garbage is not what the relay holds). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') {
    gc();
    gc();
  }
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      if (relay) throw new Error('already started');
      ownDir = req.dataDir === undefined;
      dataDir = req.dataDir ?? mkdtempSync(join(tmpdir(), 'grasp-bench-'));
      const config = benchConfig(req.overrides, dataDir);
      relay = await startRelay(config, { log: silentLogger });
      const started: HostStarted = {
        url: relay.url,
        port: relay.port,
        hosts: relay.config.service.hosts,
        verifyBackend: relay.verifier.backend,
        verifyWorkers: relay.verifier.workers,
        transport: relay.transport,
        policy: relay.config.policy.mode,
        dataDir,
      };
      return started;
    }
    case 'load':
      return load(req.notes, req.seed, req.inFlight);
    case 'stats': {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      const stats: HostStats = {
        rssMB: mb(m.rss),
        peakRssMB: mb(peakRss),
        heapUsedMB: mb(m.heapUsed),
        heapTotalMB: mb(m.heapTotal),
        heapSpacesMB: Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, mb(sp.physical_space_size)])),
        storeEvents: relay ? relay.store.stats().events : 0,
        connections: relay ? relay.connections() : 0,
        cpuMs: cpuMs(),
        ...rssSplit(),
        clockMs: performance.timeOrigin + performance.now(),
      };
      return stats;
    }
    case 'fanoutPrepare':
      if (!relay) throw new Error('relay not started');
      fanout = new FanoutDriver(relay.live);
      return fanout.prepare(req.events, req.bytes);
    case 'fanoutRun': {
      if (!fanout) throw new Error('fanoutPrepare first');
      const r: FanoutRunResult = await fanout.run(req.mode, req.chunk);
      return r;
    }
    case 'git': {
      if (!relay) throw new Error('relay not started');
      const sync = gitSyncOf(relay);
      const g: HostGit = {
        stored: { announcements: relay.store.count([{ kinds: [30617] }]), states: relay.store.count([{ kinds: [30618] }]) },
        purgatory: relay.store.purgatory.counts().byKind,
        ...(sync !== undefined ? { sync: sync.status() } : {}),
      };
      return g;
    }
    case 'gitSweep': {
      if (!relay) throw new Error('relay not started');
      const sync = gitSyncOf(relay);
      if (sync === undefined) throw new Error('git sync is off (git.syncEnabled) or not in this build');
      const before = sync.status();
      const t0 = performance.now();
      await sync.sweep();
      const ms = performance.now() - t0;
      const r: HostGitSweep = { ms, before, after: sync.status() };
      return r;
    }
    case 'gc':
      fullGc();
      return null;
    case 'resetPeak':
      peakRss = process.memoryUsage.rss();
      return null;
    case 'close': {
      fanout = undefined;
      await relay?.close();
      relay = undefined;
      if (ownDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
      return null;
    }
  }
}

process.on('message', (msg: HostRequest) => {
  handle(msg).then(
    (result) => reply({ id: msg.id, ok: true, result }, msg.cmd === 'close'),
    (e: unknown) => reply({ id: msg.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, msg.cmd === 'close'),
  );
});

function reply(r: HostReply, thenExit: boolean): void {
  process.send?.(r, undefined, undefined, () => {
    if (thenExit) process.exit(0);
  });
}

// a crash inside the relay ends this host with one line on stderr; the parent sees the exit and
// cleans up the data directory
process.on('uncaughtException', (e: Error) => {
  const at = e.stack?.split('\n')[1]?.trim() ?? '';
  process.stderr.write(`relay host (pid ${process.pid}): uncaught ${e.name}: ${e.message} ${at}\n`);
  process.exit(70);
});

// the parent died or let go: never linger, and never leave a temp data dir behind
process.on('disconnect', () => {
  void (async () => {
    try {
      await relay?.close();
    } finally {
      if (ownDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  })();
});
