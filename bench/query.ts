// Query bench: REQ→EOSE throughput and latency on a relay (own process) holding 200k events, for
// author, kind, tag and mixed filters at limit 100 and 500, on one connection sequentially and
// with 8 REQs in flight. Baseline in the same run: a raw LMDB range walk that pulls the same
// number of stored JSON strings with no protocol, planner or socket (ratio = protocol overhead).
// Run: npx tsc -p . && node dist/bench/query.js [--events 200000] [--seconds 2] [--concurrency 8]
//        [--limits 100,500] [--load socket|direct] [--transport auto|uws|ws] [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { Filter, NostrEvent } from '../src/nostr/event.js';
import { generateNotes, prng } from './generator.js';
import { parseArgs, transportArg } from './lib/args.js';
import { LoadClient, publishParallel, toRawEvents } from './lib/client.js';
import { progress, runIfMain, type BenchResult, type BenchRow } from './lib/output.js';
import { spawnRelay, type HostStats } from './lib/relay-proc.js';
import { Samples, percentiles, ratio, round } from './lib/stats.js';

type FilterType = 'author' | 'kind' | 'tag' | 'mixed';
const TYPES: FilterType[] = ['author', 'kind', 'tag', 'mixed'];
const VARIANTS = 64;

/** `VARIANTS` REQ filter lists (as JSON texts) of one shape, drawn from the loaded events. */
function buildVariants(type: FilterType, limit: number, events: readonly NostrEvent[], seed: number): string[][] {
  const rand = prng(seed * 7919 + limit + type.length * 31);
  const anyEvent = (): NostrEvent => events[Math.floor(rand() * events.length)]!;
  const tagged = (letter: string): string => {
    for (let i = 0; i < 1000; i++) {
      const t = anyEvent().tags.find((x) => x[0] === letter);
      if (t?.[1] !== undefined) return t[1];
    }
    return anyEvent().pubkey;
  };
  const last = events[events.length - 1]!.created_at;
  const first = events[0]!.created_at;
  const out: string[][] = [];
  for (let i = 0; i < VARIANTS; i++) {
    let filters: Filter[];
    switch (type) {
      case 'author':
        filters = [{ authors: [anyEvent().pubkey], limit }];
        break;
      case 'kind':
        filters = [{ kinds: [[1, 1, 1, 7, 6, 1111, 30023, 0][i % 8]!], limit }];
        break;
      case 'tag':
        filters = [i % 2 === 0 ? { '#t': [tagged('t')], limit } : { '#p': [tagged('p')], limit }];
        break;
      case 'mixed': {
        const until = first + Math.floor((0.3 + 0.7 * rand()) * (last - first));
        filters = [
          { authors: Array.from({ length: 5 }, () => anyEvent().pubkey), kinds: [1, 6, 30023], until, limit },
          { kinds: [1, 7, 1111], '#p': [tagged('p')], since: until - 90 * 86_400, until, limit },
        ];
        break;
      }
    }
    out.push(filters.map((f) => JSON.stringify(f)));
  }
  return out;
}

interface Measured {
  reqPerSec: number;
  requests: number;
  avgEvents: number;
  eose: ReturnType<typeof percentiles>;
  closed: number;
}

/** `concurrency` workers on one connection, each REQ→EOSE in turn, for `seconds`. */
async function measureReqs(client: LoadClient, variants: string[][], concurrency: number, seconds: number, maxRequests: number): Promise<Measured> {
  const lat = new Samples(4096);
  let events = 0;
  let closed = 0;
  let issued = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    let k = 0;
    while (performance.now() < end && issued < maxRequests) {
      const v = variants[issued++ % variants.length]!;
      const r = await client.req(`q${w}-${k++}`, v);
      if (r.closed !== undefined) closed++;
      lat.push(r.ms);
      events += r.events;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const dt = (performance.now() - t0) / 1000;
  return { reqPerSec: Math.round(lat.length / dt), requests: lat.length, avgEvents: round(events / Math.max(1, lat.length), 1), eose: lat.percentiles(), closed };
}

/** The baseline store: the same raw JSON strings in a plain LMDB db keyed newest-first. */
function rawStore(events: readonly NostrEvent[]): { walk(count: number, seconds: number): number; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'grasp-bench-raw-'));
  const db = open<string, Buffer>({ path: dir, encoding: 'string', keyEncoding: 'binary', compression: false });
  const keyOf = (e: NostrEvent, i: number): Buffer => {
    const k = Buffer.allocUnsafe(8);
    k.writeUInt32BE(0xffffffff - e.created_at, 0);
    k.writeUInt32BE(i, 4);
    return k;
  };
  const BATCH = 10_000;
  for (let s = 0; s < events.length; s += BATCH) {
    db.transactionSync(() => {
      for (let i = s; i < Math.min(events.length, s + BATCH); i++) db.putSync(keyOf(events[i]!, i), JSON.stringify(events[i]));
    });
  }
  const sorted = events.map((e, i) => keyOf(e, i)).sort(Buffer.compare);
  const rand = prng(42);
  return {
    /** walks/s, each reading `count` consecutive values from a random start */
    walk(count, seconds) {
      if (count <= 0) return 0;
      let walks = 0;
      let bytes = 0;
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      while (performance.now() < end) {
        const start = sorted[Math.floor(rand() * Math.max(1, sorted.length - count))]!;
        for (const { value } of db.getRange({ start, limit: count })) bytes += value.length;
        walks++;
      }
      if (bytes < 0) throw new Error('unreachable');
      return walks / ((performance.now() - t0) / 1000);
    },
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<BenchResult> {
  const args = parseArgs(argv);
  const started = new Date();
  const n = args.num('events', 200_000, 5000);
  const seconds = args.num('seconds', 2, 0.5);
  const concurrency = args.num('concurrency', 8);
  const maxRequests = args.num('max-requests', 1_000_000);
  const limits = (args.str('limits', '100,500')).split(',').map(Number);
  const seed = args.num('seed', 1);
  const rows: BenchRow[] = [];

  progress(`query: generating ${n} notes`);
  const events = generateNotes(n, seed);

  // socket (default): 4 connections × 50 in flight, so the relay process never holds the
  // generated set and its RSS is its own; direct: ingest.submit inside the relay process
  const loadMode = args.str('load', 'socket');
  progress(`query: starting relay and loading (${loadMode === 'direct' ? 'ingest.submit, 256 in flight' : '4×50 over WebSocket'})`);
  const relay = await spawnRelay({ policy: { mode: 'open' }, server: { transport: transportArg(args) } });
  let raw: ReturnType<typeof rawStore> | undefined;
  try {
    let loaded: { ok: number; submitted: number; seconds: number; eventsPerSec: number };
    let afterLoad: HostStats | undefined;
    if (loadMode === 'direct') {
      loaded = await relay.load(n, seed, 256);
      afterLoad = await relay.stats();
    } else {
      const st = await publishParallel(relay.info.url, toRawEvents(events), 4, 50, async () => {
        afterLoad = await relay.stats();
      });
      loaded = { ok: st.ok, submitted: st.events, seconds: st.seconds, eventsPerSec: st.eventsPerSec };
    }
    if (afterLoad === undefined) throw new Error('no relay stats after loading');
    progress(`query: loaded ${loaded.ok}/${loaded.submitted} in ${loaded.seconds} s (${loaded.eventsPerSec}/s), relay RSS ${afterLoad.rssMB} MB`);
    rows.push({
      metric: `relay RSS after loading ${n} events`,
      value: afterLoad.rssMB,
      unit: 'MB',
      note: `anon ${afterLoad.rssAnonMB} + file (LMDB map) ${afterLoad.rssFileMB} MB; stored ${afterLoad.storeEvents}; loaded at ${loaded.eventsPerSec} events/s (${loadMode === 'direct' ? 'ingest.submit' : '4×50 over WebSocket'})`,
    });

    progress('query: building the raw LMDB baseline');
    raw = rawStore(events);

    const client = await LoadClient.connect(relay.info.url);
    const detail: Record<string, unknown> = {};
    for (const limit of limits) {
      for (const type of TYPES) {
        const variants = buildVariants(type, limit, events, seed);
        // warm-up: every variant once (also the average result size for the baseline)
        await measureReqs(client, variants, 1, 60, variants.length);
        const seq = await measureReqs(client, variants, 1, seconds, maxRequests);
        const conc = await measureReqs(client, variants, concurrency, seconds, maxRequests);
        const walkPerSec = raw.walk(Math.max(1, Math.round(seq.avgEvents)), Math.min(1, seconds));
        const label = `${type} limit ${limit}`;
        progress(`query: ${label}: ${seq.reqPerSec} REQ/s seq (p50 ${seq.eose.p50} ms), ${conc.reqPerSec} REQ/s ×${concurrency}, avg ${seq.avgEvents} events; raw walk ${Math.round(walkPerSec)}/s`);
        const baselineName = `raw LMDB walk of ${Math.round(seq.avgEvents)} events`;
        rows.push({
          metric: `REQ ${label}, 1 conn sequential`,
          value: seq.reqPerSec,
          unit: 'REQ/s',
          p50Ms: seq.eose.p50,
          p99Ms: seq.eose.p99,
          baseline: Math.round(walkPerSec),
          baselineName,
          ratio: ratio(seq.reqPerSec, walkPerSec),
          note: `${seq.avgEvents} events/REQ${seq.closed > 0 ? `, ${seq.closed} CLOSED` : ''}`,
        });
        rows.push({
          metric: `REQ ${label}, 1 conn ${concurrency} in flight`,
          value: conc.reqPerSec,
          unit: 'REQ/s',
          p50Ms: conc.eose.p50,
          p99Ms: conc.eose.p99,
          baseline: Math.round(walkPerSec),
          baselineName,
          ratio: ratio(conc.reqPerSec, walkPerSec),
          note: `${conc.avgEvents} events/REQ${conc.closed > 0 ? `, ${conc.closed} CLOSED` : ''}`,
        });
        detail[label] = { sequential: seq, concurrent: conc, rawWalkPerSec: Math.round(walkPerSec) };
      }
    }
    // read the relay's figures before the connection closes (a close must not be able to cost them)
    const afterQueries = await relay.stats();
    await client.close();
    rows.push({
      metric: 'relay RSS after the queries',
      value: afterQueries.rssMB,
      unit: 'MB',
      note: `anon ${afterQueries.rssAnonMB} + file ${afterQueries.rssFileMB} MB; peak ${afterQueries.peakRssMB} MB`,
    });
    return {
      bench: 'query',
      command: `node dist/bench/query.js ${argv.join(' ')}`.trim(),
      startedAt: started.toISOString(),
      seconds: round((Date.now() - started.getTime()) / 1000, 1),
      params: { events: n, seconds, concurrency, limits: limits.join(','), seed, transport: transportArg(args), load: loadMode },
      rows,
      extra: { load: loaded, rssAfterLoad: afterLoad, rssAfterQueries: afterQueries, relay: relay.info, detail },
    };
  } finally {
    await raw?.close();
    await relay.close();
  }
}

runIfMain(import.meta.url, () => main());
