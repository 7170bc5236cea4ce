// Parent side of relay-host.ts: fork a relay in its own process (so the load generator does not
// share its event loop or heap, and RSS is the relay's alone) and drive it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FanoutRunResult } from './fanout-host.js';
import type { HostConfigOverrides, HostGit, HostGitSweep, HostLoaded, HostReply, HostRequest, HostStarted, HostStats } from './relay-host.js';

export type { FanoutRunResult, HostConfigOverrides, HostGit, HostGitSweep, HostLoaded, HostStarted, HostStats };

/** Distributes HostRequest over its union members so `id` can be left out. */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface RelayProc {
  readonly info: HostStarted;
  readonly pid: number;
  /** import `notes` generated notes (generateNotes(notes, seed)) straight through ingest.submit */
  load(notes: number, seed: number, inFlight?: number): Promise<HostLoaded>;
  stats(): Promise<HostStats>;
  resetPeak(): Promise<void>;
  /** two full GCs of the relay's main-thread heap */
  gc(): Promise<void>;
  /** fan-out bench: hand the relay these events (JSON texts), the raw loop's frames as UTF-8
   *  buffers or as strings; resolves with deliveries per round */
  fanoutPrepare(events: string[], bytes: boolean): Promise<number>;
  /** fan-out bench: push them through the relay's live path or the raw send loop */
  fanoutRun(mode: 'relay' | 'raw', chunk: number): Promise<FanoutRunResult>;
  /** the git half: stored announcements/states, purgatory, git sync status */
  git(): Promise<HostGit>;
  /** one git sync sweep, timed in the relay process */
  gitSweep(): Promise<HostGitSweep>;
  /** close the relay (deleting a temp data dir) and wait for the process to exit */
  close(): Promise<void>;
  /** whether the host exited on its own (crashed) before close() */
  crashed(): boolean;
}

const HOST = fileURLToPath(new URL('./relay-host.js', import.meta.url));

export async function spawnRelay(overrides: HostConfigOverrides = {}, opts: { dataDir?: string } = {}): Promise<RelayProc> {
  // BENCH_RELAY_CPU_PROF=<dir>: write a V8 CPU profile of the relay process (node --cpu-prof) there;
  // BENCH_RELAY_NODE_ARGS: more node flags for the relay process (space-separated)
  const profDir = process.env.BENCH_RELAY_CPU_PROF;
  const extra = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = fork(HOST, [], {
    execArgv: [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...extra],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited = false;
  let closing = false;
  const exitP = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const w of waiting.values()) w.reject(new Error(`relay host exited (code ${code}, signal ${signal})`));
      waiting.clear();
      resolve();
    });
  });
  child.on('error', (e) => process.stderr.write(`relay host: ${e.message}\n`));
  child.on('message', (m: HostReply) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(new Error(`relay host: ${m.error}`));
  });
  const call = <T>(req: Without<HostRequest, 'id'>): Promise<T> => {
    if (exited || !child.connected) return Promise.reject(new Error('relay host has exited'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...req, id } as HostRequest, (err) => {
        if (err && waiting.delete(id)) reject(new Error(`relay host: ${err.message}`));
      });
    });
  };
  let info: HostStarted;
  try {
    info = await call<HostStarted>({ cmd: 'start', overrides, dataDir: opts.dataDir });
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    info,
    pid: child.pid ?? 0,
    load: (notes, seed, inFlight = 256) => call<HostLoaded>({ cmd: 'load', notes, seed, inFlight }),
    stats: () => call<HostStats>({ cmd: 'stats' }),
    resetPeak: () => call<void>({ cmd: 'resetPeak' }),
    gc: () => call<void>({ cmd: 'gc' }),
    fanoutPrepare: (events, bytes) => call<number>({ cmd: 'fanoutPrepare', events, bytes }),
    fanoutRun: (mode, chunk) => call<FanoutRunResult>({ cmd: 'fanoutRun', mode, chunk }),
    git: () => call<HostGit>({ cmd: 'git' }),
    gitSweep: () => call<HostGitSweep>({ cmd: 'gitSweep' }),
    crashed: () => exited && !closing,
    async close() {
      closing = true;
      if (exited) {
        if (opts.dataDir === undefined) rmSync(info.dataDir, { recursive: true, force: true });
        return;
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        await call<null>({ cmd: 'close' });
      } catch {
        // it is going away anyway
      }
      await exitP;
      clearTimeout(timer);
      // the host deletes its temp dir on a clean close; not if it crashed
      if (opts.dataDir === undefined) rmSync(info.dataDir, { recursive: true, force: true });
    },
  };
}
