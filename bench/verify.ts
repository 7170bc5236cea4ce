// Verify-only benchmark: events/s of createVerifier() per backend × worker count, both throughput
// (many events in flight, optionally with simulated ingest work on the main thread) and latency
// (one event in flight). measureVerifyRate() is the baseline the ingest bench divides by.
// Run: npx tsc -p . && node dist/bench/verify.js [--n 20000] [--slow-n 2000] [--latency-n 2000]
//        [--backends bcrypto-native,nostr-wasm,noble] [--workers 0,1,2] [--inline 0.25,0]
//        [--main-work-us 30] [--gap-us 400] [--rounds 3]
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { availableBackends, type VerifyBackendName } from '../src/crypto/backends.js';
import { createVerifier, type Verifier } from '../src/crypto/verify.js';
import type { NostrEvent } from '../src/nostr/event.js';
import { generateNotes } from './generator.js';

/** Events handed to verify() per macrotask, as a relay receives messages in bursts. */
const FEED_CHUNK = 64;

function spin(us: number): void {
  if (us <= 0) return;
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end) {
    // simulated per-event ingest work (parse, store, reply) on the main thread
  }
}

const nextTick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** CPU time of the calling thread in µs (Linux /proc/thread-self/schedstat), or undefined. */
export function threadCpuUs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

export interface Throughput {
  eventsPerSec: number;
  /** main-thread CPU per event (µs), when the platform tells */
  mainCpuUs?: number;
  /** CPU per event on all other threads (the workers, plus a little GC), µs */
  otherCpuUs: number;
}

/**
 * Throughput: feed all events in chunks of 64 per macrotask (doing `mainWorkUs` of busy work per
 * event on the main thread, as ingest would), keep them all in flight, wait for every answer.
 * Also returns CPU per event per thread, which other processes on the machine do not inflate.
 */
export async function measureThroughputCpu(v: Verifier, events: NostrEvent[], mainWorkUs = 0, chunk = FEED_CHUNK): Promise<Throughput> {
  const cpu0 = process.cpuUsage();
  const main0 = threadCpuUs();
  const t0 = performance.now();
  const pending: Promise<boolean>[] = [];
  for (let i = 0; i < events.length; i += chunk) {
    const end = Math.min(events.length, i + chunk);
    for (let j = i; j < end; j++) {
      spin(mainWorkUs);
      pending.push(v.verify(events[j]));
    }
    await nextTick();
  }
  const results = await Promise.all(pending);
  const dt = (performance.now() - t0) / 1000;
  const main1 = threadCpuUs();
  const cpu = process.cpuUsage(cpu0);
  const bad = results.filter((ok) => !ok).length;
  if (bad > 0) throw new Error(`${v.backend}/${v.workers}: ${bad} valid events failed verification`);
  const total = cpu.user + cpu.system;
  const mainCpu = main0 !== undefined && main1 !== undefined ? main1 - main0 : undefined;
  return {
    eventsPerSec: events.length / dt,
    mainCpuUs: mainCpu === undefined ? undefined : mainCpu / events.length,
    otherCpuUs: (total - (mainCpu ?? 0)) / events.length,
  };
}

export async function measureThroughput(v: Verifier, events: NostrEvent[], mainWorkUs = 0): Promise<number> {
  return (await measureThroughputCpu(v, events, mainWorkUs)).eventsPerSec;
}

/**
 * Events/s the measured per-event CPU costs allow on `cores` otherwise idle cores with `m` µs of
 * other main-thread work per event: the main thread is one thread, the workers are `workers`
 * threads, and all of them share the cores.
 */
export function modelRate(mainUs: number, workerUs: number, workers: number, m: number, cores: number): number {
  const main = mainUs + m;
  if (workers === 0) return 1e6 / (main + workerUs);
  return Math.min(1e6 / main, (workers * 1e6) / Math.max(workerUs, 1e-9), (cores * 1e6) / (main + workerUs));
}

/**
 * Latency: one event in flight at a time; µs per event (p50, mean). `gapUs` of other work between
 * events stands in for the rest of a client's round trip (0 = back to back).
 */
export async function measureLatency(v: Verifier, events: NostrEvent[], gapUs = 0): Promise<{ p50Us: number; meanUs: number }> {
  const times = new Float64Array(events.length);
  for (let i = 0; i < events.length; i++) {
    spin(gapUs);
    const t = performance.now();
    if (!(await v.verify(events[i]))) throw new Error('valid event failed verification');
    times[i] = (performance.now() - t) * 1000;
  }
  const sorted = Array.from(times).sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50Us: round(sorted[Math.floor(sorted.length / 2)]), meanUs: round(mean) };
}

const round = (x: number): number => Math.round(x * 10) / 10;

/**
 * Verify-only rate of `events` with the verifier the relay would use (backend and workers 'auto'
 * unless given), after a warm-up pass over up to 2,000 of them.
 */
export async function measureVerifyRate(
  events: NostrEvent[],
  opts: { backend?: 'auto' | VerifyBackendName; workers?: number | 'auto' } = {},
): Promise<{ eventsPerSec: number; backend: string; workers: number }> {
  const v = await createVerifier(opts);
  try {
    await measureThroughput(v, events.slice(0, Math.min(2000, events.length)));
    const eventsPerSec = await measureThroughput(v, events);
    return { eventsPerSec: Math.round(eventsPerSec), backend: v.backend, workers: v.workers };
  } finally {
    await v.close();
  }
}

export interface VerifyRow {
  backend: VerifyBackendName;
  workers: number;
  /** share of main-thread time allowed for inline verification while workers are idle */
  inlineShare: number;
  events: number;
  /** throughput, all events in flight, idle main thread (best round) */
  eventsPerSec: number;
  /** throughput with `mainWorkUs` of simulated ingest work per event on the main thread (best round) */
  loadedEventsPerSec: number;
  mainWorkUs: number;
  /** one event in flight, back to back (best round's p50 and mean) */
  latencyP50Us: number;
  latencyMeanUs: number;
  /** one event in flight with `gapUs` between events, like a client waiting for OK (p50) */
  pacedLatencyP50Us: number;
  gapUs: number;
  /** CPU per event on the main thread / on the other threads (µs, least of the rounds) */
  mainCpuUs?: number;
  workerCpuUs: number;
  /**
   * events/s those CPU costs allow on this machine's cores when nothing else runs, with 0, 30
   * and 60 µs of other main-thread work per event (see modelRate)
   */
  model?: { m0: number; m30: number; m60: number };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Config {
  backend: VerifyBackendName;
  workers: number;
  inlineShare: number;
  v: Verifier;
  set: NostrEvent[];
  latSet: NostrEvent[];
  row?: VerifyRow;
}

/**
 * Every configuration is measured once per round, rounds interleaved, and the best round kept:
 * other processes share these 2 cores, and interleaving spreads their noise over all rows.
 */
async function main(): Promise<void> {
  const n = Number(arg('n') ?? 20000);
  const slowN = Number(arg('slow-n') ?? 2000);
  const latencyN = Number(arg('latency-n') ?? 2000);
  const mainWorkUs = Number(arg('main-work-us') ?? 30);
  const rounds = Number(arg('rounds') ?? 3);
  const gapUs = Number(arg('gap-us') ?? 400);
  const workerSettings = (arg('workers') ?? '0,1,2').split(',').map(Number);
  const inlineSettings = (arg('inline') ?? '0.25,0').split(',').map(Number);
  const backends = (arg('backends')?.split(',') as VerifyBackendName[] | undefined) ?? (await availableBackends());
  const events = generateNotes(n, 1);
  console.log(JSON.stringify({ cpus: availableParallelism(), loadavg: loadavg().map((x) => Math.round(x * 100) / 100), n, rounds, mainWorkUs }));
  const configs: Config[] = [];
  for (const backend of backends) {
    const fast = backend === 'bcrypto-native';
    const count = fast ? n : Math.min(n, slowN);
    const set = events.slice(0, count);
    const latSet = events.slice(0, Math.min(count, fast ? latencyN : Math.ceil(latencyN / 4)));
    for (const workers of workerSettings) {
      for (const inlineShare of workers === 0 ? [0] : inlineSettings) {
        const v = await createVerifier({ backend, workers, inlineShare });
        await measureThroughput(v, set.slice(0, Math.min(2000, count))); // warm-up
        configs.push({ backend, workers, inlineShare, v, set, latSet });
      }
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      const tp = await measureThroughputCpu(c.v, c.set);
      const eventsPerSec = Math.round(tp.eventsPerSec);
      const loadedEventsPerSec = Math.round(await measureThroughput(c.v, c.set, mainWorkUs));
      const lat = await measureLatency(c.v, c.latSet);
      const paced = await measureLatency(c.v, c.latSet.slice(0, Math.ceil(c.latSet.length / 2)), gapUs);
      const prev = c.row;
      c.row = {
        backend: c.backend,
        workers: c.v.workers,
        inlineShare: c.inlineShare,
        events: c.set.length,
        eventsPerSec: Math.max(eventsPerSec, prev?.eventsPerSec ?? 0),
        loadedEventsPerSec: Math.max(loadedEventsPerSec, prev?.loadedEventsPerSec ?? 0),
        mainWorkUs,
        latencyP50Us: Math.min(lat.p50Us, prev?.latencyP50Us ?? Infinity),
        latencyMeanUs: Math.min(lat.meanUs, prev?.latencyMeanUs ?? Infinity),
        pacedLatencyP50Us: Math.min(paced.p50Us, prev?.pacedLatencyP50Us ?? Infinity),
        gapUs,
        mainCpuUs: tp.mainCpuUs === undefined ? undefined : round(Math.min(tp.mainCpuUs, prev?.mainCpuUs ?? Infinity)),
        workerCpuUs: round(Math.min(tp.otherCpuUs, prev?.workerCpuUs ?? Infinity)),
      };
      const row = c.row;
      if (row.mainCpuUs !== undefined) {
        const cores = availableParallelism();
        const at = (m: number): number => Math.round(modelRate(row.mainCpuUs ?? 0, row.workerCpuUs, row.workers, m, cores));
        row.model = { m0: at(0), m30: at(30), m60: at(60) };
      }
    }
  }
  const rows = configs.flatMap((c) => (c.row ? [c.row] : []));
  for (const row of rows) console.log(JSON.stringify(row));
  for (const c of configs) await c.v.close();
  const best = rows.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
  const bestLoaded = rows.reduce((a, b) => (b.loadedEventsPerSec > a.loadedEventsPerSec ? b : a));
  console.log(JSON.stringify({ best: { backend: best.backend, workers: best.workers, inlineShare: best.inlineShare, eventsPerSec: best.eventsPerSec } }));
  console.log(
    JSON.stringify({
      bestLoaded: { backend: bestLoaded.backend, workers: bestLoaded.workers, inlineShare: bestLoaded.inlineShare, loadedEventsPerSec: bestLoaded.loadedEventsPerSec, mainWorkUs },
    }),
  );
  const auto = await measureVerifyRate(events);
  console.log(JSON.stringify({ auto, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
