// Event store bench: loads N synthetic (unsigned) events through the batching writer, then measures
// REQ queries (author / kind / tag / mixed, limit 100 and 500), a large sliced query's longest
// event-loop block, COUNT and NIP-77 items, each against a raw LMDB walk of the same primary db
// measured in the same run. Prints one BenchResult JSON line on stdout; progress on stderr.
// Run: npx tsc -p . && node dist/bench/store.js [--events 200000] [--queries 300] [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Filter, NostrEvent } from '../src/nostr/event.js';
import { openStore } from '../src/store/lmdb-store.js';
import { openDbs } from '../src/store/dbs.js';
import type { Store } from '../src/store/types.js';
import { parseArgs } from './lib/args.js';
import { emitResult, progress, type BenchRow } from './lib/output.js';

const args = parseArgs();
const N = args.num('events', 200_000, 20_000);
const Q = args.num('queries', 300, 50);
const t0 = Date.now();

let seed = 7;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
const hex = (): string => randomBytes(32).toString('hex');

const pubkeys = Array.from({ length: 2000 }, hex);
const words = Array.from({ length: 50 }, (_, i) => `topic${i}`);
const BASE = 1_704_067_200;

function generate(n: number): NostrEvent[] {
  const out: NostrEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd(100);
    const kind = r < 60 ? 1 : r < 80 ? 7 : r < 90 ? 1617 : r < 97 ? 1621 : 1111;
    const tags: string[][] = [];
    if (i > 0 && kind !== 1) tags.push(['e', out[rnd(out.length)]!.id, '', 'root']);
    if (rnd(3) === 0) tags.push(['p', pubkeys[rnd(pubkeys.length)]!]);
    if (rnd(4) === 0) tags.push(['t', words[rnd(words.length)]!]);
    if (kind === 1617 || kind === 1621) tags.push(['a', `30617:${pubkeys[rnd(50)]}:repo${rnd(20)}`]);
    out.push({
      id: hex(),
      pubkey: pubkeys[rnd(pubkeys.length)]!,
      created_at: BASE + rnd(365 * 86_400),
      kind,
      tags,
      content: 'x'.repeat(40 + rnd(200)),
      sig: randomBytes(64).toString('hex'),
    });
  }
  return out;
}

async function drain(store: Store, filters: Filter[], maxLimit?: number): Promise<number> {
  let n = 0;
  for await (const s of store.query(filters, maxLimit === undefined ? undefined : { maxLimit })) n += s.length;
  return n;
}

/** Wall and CPU milliseconds (process CPU: main thread + lmdb-js's write thread). The machine
 *  may be shared, so rates and ratios are also given per CPU-second, which descheduling does not
 *  inflate. */
interface Timing {
  wallMs: number;
  cpuMs: number;
}
function startTiming(): () => Timing {
  const w = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { wallMs: performance.now() - w, cpuMs: (d.user + d.system) / 1000 };
  };
}

/** Longest gap between event-loop turns while it runs (wall ms; includes descheduling). */
function loopMonitor(): () => number {
  let maxGap = 0;
  let last = performance.now();
  let on = true;
  const tick = (): void => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return () => {
    on = false;
    return maxGap;
  };
}

const rows: BenchRow[] = [];
const extra: Record<string, unknown> = {};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grasp-bench-store-'));
  try {
    progress(`generating ${N} events`);
    const events = generate(N);
    const raws = events.map((e) => JSON.stringify(e));
    let store = await openStore({ dataDir: dir });

    progress('inserting');
    const WINDOW = 5000; // concurrent inserts in flight, as many connections would have
    const stopIns = startTiming();
    const insBlock = loopMonitor();
    for (let i = 0; i < N; i += WINDOW) {
      const ps: Array<Promise<unknown>> = [];
      for (let j = i; j < Math.min(N, i + WINDOW); j++) ps.push(store.insert(events[j]!, raws[j]!));
      await Promise.all(ps);
    }
    const ins = stopIns();
    const insMaxBlock = insBlock();
    rows.push({
      metric: `insert ${N} (${WINDOW} in flight, durable)`,
      value: N / (ins.wallMs / 1000),
      unit: 'events/s',
      note: `${(N / (ins.cpuMs / 1000)).toFixed(0)} events per CPU-second (${((ins.cpuMs * 1000) / N).toFixed(1)} µs CPU/event incl. lmdb's write thread), longest event-loop block ${insMaxBlock.toFixed(1)} ms`,
    });
    extra.stats = store.stats();
    // reopen so queries run on a cold process cache but a warm OS cache, like a restarted relay
    await store.close();
    store = await openStore({ dataDir: dir });

    const tagged = events.filter((e) => e.tags.some((t) => t[0] === 'e'));
    const shapes: Array<[string, () => Filter]> = [
      ['author', () => ({ authors: [pubkeys[rnd(pubkeys.length)]!] })],
      ['kind', () => ({ kinds: [[1, 7, 1617][rnd(3)]!] })],
      ['tag #e', () => ({ '#e': [tagged[rnd(tagged.length)]!.tags.find((t) => t[0] === 'e')![1]!] })],
      ['tag #t', () => ({ '#t': [words[rnd(words.length)]!] })],
      [
        'mixed authors×kinds + #t',
        () => ({
          authors: Array.from({ length: 20 }, () => pubkeys[rnd(pubkeys.length)]!),
          kinds: [1, 7],
          '#t': [words[rnd(words.length)]!, words[rnd(words.length)]!],
        }),
      ],
      [
        'mixed #a + kinds + since',
        () => ({
          '#a': [`30617:${pubkeys[rnd(50)]}:repo${rnd(20)}`],
          kinds: [1617, 1621],
          since: BASE + rnd(180 * 86_400),
        }),
      ],
    ];

    const measured: Array<{ metric: string; cpuQps: number; eventsPerQuery: number }> = [];
    for (const limit of [100, 500]) {
      for (const [name, make] of shapes) {
        const filters = Array.from({ length: Q }, () => ({ ...make(), limit }));
        await drain(store, [filters[0]!]); // warm
        let got = 0;
        const lat: number[] = [];
        const stop = startTiming();
        for (const f of filters) {
          const s = performance.now();
          got += await drain(store, [f]);
          lat.push(performance.now() - s);
        }
        const tm = stop();
        lat.sort((a, b) => a - b);
        const qps = Q / (tm.wallMs / 1000);
        const cpuQps = Q / (tm.cpuMs / 1000);
        measured.push({ metric: `query ${name} limit ${limit}`, cpuQps, eventsPerQuery: got / Q });
        rows.push({
          metric: `query ${name} limit ${limit}`,
          value: qps,
          unit: 'queries/s',
          p50Ms: lat[lat.length >> 1]!,
          p99Ms: lat[Math.floor(lat.length * 0.99)]!,
          note: `${(got / Q).toFixed(1)} events/query; ${cpuQps.toFixed(0)} queries per CPU-second (${((tm.cpuMs * 1000) / Q).toFixed(0)} µs CPU/query)`,
        });
        progress(`${name} limit ${limit}: ${qps.toFixed(0)} q/s, ${(got / Q).toFixed(1)} ev/q`);
      }
    }

    // a large REQ: how long is the event loop held at most while it streams?
    const big = Math.min(100_000, N);
    const bigBlock = loopMonitor();
    const stopBig = startTiming();
    const bigGot = await drain(store, [{ limit: big }], big);
    const bigT = stopBig();
    const maxGap = bigBlock();
    rows.push({
      metric: `query {} limit ${big} (sliced 500)`,
      value: bigGot / (bigT.cpuMs / 1000),
      unit: 'events per CPU-second',
      note: `wall ${bigT.wallMs.toFixed(0)} ms, CPU ${bigT.cpuMs.toFixed(0)} ms, longest event-loop block ${maxGap.toFixed(1)} ms (wall, includes descheduling)`,
    });

    // COUNT
    const stopCount = startTiming();
    let counted = 0;
    for (let i = 0; i < Q; i++) counted += store.count([{ kinds: [[1, 7, 1617][rnd(3)]!] }]);
    const countT = stopCount();
    rows.push({
      metric: 'count kind (index only)',
      value: Q / (countT.cpuMs / 1000),
      unit: 'counts per CPU-second',
      note: `${(counted / Q).toFixed(0)} events per count`,
    });

    // NIP-77 items over everything
    store.negentropyItems({}, 1_000_000); // warm
    const stopNeg = startTiming();
    const items = store.negentropyItems({}, 1_000_000);
    const negMs = stopNeg().cpuMs;
    const nItems = items === 'too-many' ? 0 : items.count;
    const stopNeg2 = startTiming();
    const items2 = store.negentropyItems({ kinds: [1, 7, 1617, 1621, 1111] }, 1_000_000);
    const neg2Ms = stopNeg2().cpuMs;
    await store.close();

    // baselines: raw lmdb-js walks of the primary db, same process, same data
    const dbs = openDbs(dir, undefined);
    const keys = events.map((e) => Buffer.from(e.id, 'hex'));
    const rawWalk = (count: number): number => {
      let n = 0;
      let bytes = 0;
      for (const { value } of dbs.events.getRange({ start: keys[rnd(keys.length)]!, limit: count })) {
        n++;
        bytes += value.length;
      }
      return n + (bytes & 0);
    };
    for (const { value } of dbs.events.getRange({})) if (value.length === 0) break; // warm the map
    for (const m of measured) {
      const count = Math.max(1, Math.round(m.eventsPerQuery));
      rawWalk(count);
      const stop = startTiming();
      for (let i = 0; i < Q; i++) rawWalk(count);
      const bq = Q / (stop().cpuMs / 1000);
      const row = rows.find((r) => r.metric === m.metric)!;
      row.baseline = bq;
      row.baselineName = `raw getRange of ${count} primary values, walks per CPU-second; ratio = store CPU rate / this`;
      row.ratio = m.cpuQps / bq;
    }
    for (const k of dbs.events.getKeys({})) if (k.length === 0) break; // warm
    const stopKeys = startTiming();
    let walked = 0;
    for (const k of dbs.events.getKeys({})) walked += k.length > 0 ? 1 : 0;
    const keyWalkMs = stopKeys().cpuMs;
    const stopValues = startTiming();
    let walkedV = 0;
    for (const { value } of dbs.events.getRange({})) walkedV += value.length > 0 ? 1 : 0;
    const valueWalkMs = stopValues().cpuMs;
    await dbs.env.close();

    rows.push({
      metric: `negentropyItems {} (${nItems} items)`,
      value: nItems / (negMs / 1000),
      unit: 'items per CPU-second',
      baseline: walked / (keyWalkMs / 1000),
      baselineName: `raw getKeys walk of ${walked} primary keys, keys per CPU-second`,
      ratio: nItems / (negMs / 1000) / (walked / (keyWalkMs / 1000)),
      note: `${negMs.toFixed(0)} ms CPU`,
    });
    const n2 = items2 === 'too-many' ? 0 : items2.count;
    rows.push({
      metric: `negentropyItems 5 kinds merged (${n2} items)`,
      value: n2 / (neg2Ms / 1000),
      unit: 'items per CPU-second',
      baseline: walked / (keyWalkMs / 1000),
      baselineName: `raw getKeys walk of ${walked} primary keys, keys per CPU-second`,
      ratio: n2 / (neg2Ms / 1000) / (walked / (keyWalkMs / 1000)),
      note: `${neg2Ms.toFixed(0)} ms CPU`,
    });
    const bigRow = rows.find((r) => r.metric.startsWith('query {} limit'))!;
    bigRow.baseline = walkedV / (valueWalkMs / 1000);
    bigRow.baselineName = `raw getRange walk of ${walkedV} primary values, per CPU-second`;
    bigRow.ratio = bigRow.value / bigRow.baseline;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  emitResult({
    bench: 'store',
    command: `npx tsc -p . && node dist/bench/store.js ${args.argv.join(' ')}`.trim(),
    startedAt: new Date(t0).toISOString(),
    seconds: (Date.now() - t0) / 1000,
    params: { events: N, queries: Q },
    rows,
    extra,
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
