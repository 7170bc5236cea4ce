// Fan-out bench: 1,000 live subscriptions (a realistic mix of authors, #p, #e, #a, kinds, #t, ids
// and catch-all filters) over 50 connections of a relay in its own process; events published from
// another connection. Baselines in the same run: the same events with 1 subscription (what fan-out
// costs the write path and delivery latency), and the naive matchFilter loop over all filters that
// the live index replaces (in-process, no sockets).
// Run: npx tsc -p . && node dist/bench/fanout.js [--events 5000] [--subs 1000] [--connections 50]
//        [--inflight 50] [--latency-events 500] [--transport auto|uws|ws] [--quick]
import { SubscriptionIndex, type LiveSubscription } from '../src/live/subscription-index.js';
import type { Filter, NostrEvent } from '../src/nostr/event.js';
import { matchFilters } from '../src/nostr/filter.js';
import { generateNip34, generateNotes, prng } from './generator.js';
import { parseArgs, transportArg } from './lib/args.js';
import { LoadClient, toRawEvents, type RawEvent } from './lib/client.js';
import { progress, runIfMain, type BenchResult, type BenchRow } from './lib/output.js';
import { spawnRelay } from './lib/relay-proc.js';
import { Samples, percentiles, ratio, round, type Percentiles } from './lib/stats.js';
import { loadUws } from '../src/relay/uws-loader.js';

const NIP34_HOST = 'git.bench.example';

/** The publish set: notes and NIP-34 events interleaved (70 / 30). */
function publishSet(m: number, seed: number): NostrEvent[] {
  const nip34N = Math.max(40, Math.round(m * 0.3));
  const notes = generateNotes(m - nip34N, seed + 1000);
  const git = generateNip34({ repos: Math.max(1, Math.min(20, Math.floor(nip34N / 10))), events: nip34N, serviceHost: NIP34_HOST, seed });
  const out: NostrEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < notes.length || j < git.length) {
    if (j >= git.length || (i < notes.length && (i + j) % 10 < 7)) out.push(notes[i++]!);
    else out.push(git[j++]!);
  }
  return out;
}

/** `count` subscriptions of one filter (10 % with a second one), all live-only (limit 0). */
function buildSubs(count: number, events: readonly NostrEvent[], seed: number): Filter[][] {
  const rand = prng(seed * 104_729 + 17);
  const anyEvent = (): NostrEvent => events[Math.floor(rand() * events.length)]!;
  const tagValues = (letter: string): string[] => {
    const s = new Set<string>();
    for (const e of events) for (const t of e.tags) if (t[0] === letter && t[1] !== undefined) s.add(t[1]);
    return [...s];
  };
  const eRefs = tagValues('e');
  const aRefs = tagValues('a');
  const topics = tagValues('t');
  const pickOf = (xs: string[], fallback: () => string): string => (xs.length > 0 ? xs[Math.floor(rand() * xs.length)]! : fallback());
  const one = (): Filter => {
    const r = rand();
    if (r < 0.35) {
      const n = 10 + Math.floor(rand() * 90);
      return { authors: [...new Set(Array.from({ length: n }, () => anyEvent().pubkey))], kinds: [1, 6, 30023], limit: 0 };
    }
    if (r < 0.55) return { '#p': [anyEvent().pubkey], kinds: [1, 6, 7, 1111], limit: 0 };
    if (r < 0.7) return { '#e': Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pickOf(eRefs, () => anyEvent().id)), limit: 0 };
    if (r < 0.8) {
      const f: Filter = { '#a': [pickOf(aRefs, () => `30617:${anyEvent().pubkey}:x`)], limit: 0 };
      if (rand() < 0.5) f.kinds = [1617, 1618, 1619, 1621, 1630, 1631, 1632, 1633];
      return f;
    }
    if (r < 0.88) return { kinds: [[0], [10002], [30617, 30618], [1621]][Math.floor(rand() * 4)]!, limit: 0 };
    if (r < 0.93) return { '#t': [pickOf(topics, () => 'nostr')], limit: 0 };
    if (r < 0.99) return { ids: Array.from({ length: 1 + Math.floor(rand() * 5) }, () => anyEvent().id), limit: 0 };
    return { limit: 0 };
  };
  return Array.from({ length: count }, () => (rand() < 0.1 ? [one(), one()] : [one()]));
}

/**
 * Matching subscriptions per event the naive way (every filter against every event), as a rate:
 * after a warm-up, events are matched until `budgetMs` has passed (the naive loop is slow at
 * 1,000 subscriptions); `perEvent` covers the events it got through.
 */
function naiveMatch(subs: Filter[][], events: readonly NostrEvent[], budgetMs: number): { perEvent: Uint32Array; eventsPerSec: number } {
  const count = (e: NostrEvent): number => {
    let c = 0;
    for (const f of subs) if (matchFilters(f, e)) c++;
    return c;
  };
  for (let i = 0; i < Math.min(50, events.length); i++) count(events[i]!);
  const perEvent: number[] = [];
  const t0 = performance.now();
  const end = t0 + budgetMs;
  for (let i = 0; i < events.length && (i < 10 || performance.now() < end); i++) perEvent.push(count(events[i]!));
  return { perEvent: Uint32Array.from(perEvent), eventsPerSec: perEvent.length / ((performance.now() - t0) / 1000) };
}

/** Matches per event through SubscriptionIndex.match, its rate, and disagreements with `naive`. */
function indexMatch(subs: Filter[][], events: readonly NostrEvent[], naive: Uint32Array): { perEvent: Uint32Array; eventsPerSec: number; mismatches: number } {
  const index = new SubscriptionIndex();
  for (const filters of subs) index.add({ filters, deliver: () => {} } satisfies LiveSubscription);
  for (let i = 0; i < Math.min(50, events.length); i++) index.match(events[i]!);
  const perEvent = new Uint32Array(events.length);
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) perEvent[i] = index.match(events[i]!).length;
  const eventsPerSec = events.length / ((performance.now() - t0) / 1000);
  let mismatches = 0;
  for (let i = 0; i < naive.length; i++) if (perEvent[i] !== naive[i]) mismatches++;
  return { perEvent, eventsPerSec, mismatches };
}

interface LiveRun {
  /** the transport the relay ran (auto resolves to uws or ws) */
  transport: string;
  subs: number;
  publishPerSec: number;
  deliveries: number;
  expected: number;
  deliveriesPerSec: number;
  seconds: number;
  /** publish (EVENT sent) → EVENT delivered, ms */
  delivery: Percentiles;
  /** the 1-in-flight phase */
  idleDelivery: Percentiles;
  idleDeliveries: number;
  idleExpected: number;
  /** deliveries not expected after all because the relay refused the event */
  refusedDeliveries: number;
  ok: number;
  /** relay RSS with the subscriptions open, after both phases */
  rssMB: number;
  /** CPU use during the throughput phase, as a fraction of one core: the relay process, this one */
  relayCpu: number;
  clientCpu: number;
}

/**
 * A fresh relay; `subs` spread over `connections`; publish `events` from one more connection with
 * `inFlight`, wait for every expected delivery; then publish `latencyEvents` (others) 1 at a time.
 */
async function liveRun(
  subs: Filter[][],
  connections: number,
  events: readonly RawEvent[],
  /** deliveries each event should get (if the relay accepts it) */
  expectedPer: ArrayLike<number>,
  latencyEvents: readonly RawEvent[],
  /** deliveries each latency event should get */
  latencyExpected: ArrayLike<number>,
  inFlight: number,
  transport: 'auto' | 'uws' | 'ws',
): Promise<LiveRun> {
  const relay = await spawnRelay({ policy: { mode: 'open' }, server: { transport } });
  try {
    const clients = await Promise.all(Array.from({ length: Math.min(connections, subs.length) }, () => LoadClient.connect(relay.info.url)));
    await Promise.all(subs.map((filters, i) => clients[i % clients.length]!.req(`s${i}`, filters.map((f) => JSON.stringify(f)), true)));

    const sent = new Map<string, number>();
    let expected = 0;
    const expectedById = new Map<string, number>();
    events.forEach((e, i) => {
      expected += expectedPer[i]!;
      expectedById.set(e.id, expectedPer[i]!);
    });
    let lat = new Samples(expected + 16);
    let received = 0;
    let target = expected;
    // an event the relay refuses (an older replaceable arriving after a newer one) goes nowhere
    let refusedDeliveries = 0;
    const onOk = (id: string, accepted: boolean): void => {
      if (accepted) return;
      const n = expectedById.get(id) ?? 0;
      target -= n;
      refusedDeliveries += n;
      if (received >= target) done?.();
    };
    let lastDelivery = 0;
    let done: (() => void) | undefined;
    const onLive = (_sub: string, text: string, now: number): void => {
      const at = text.indexOf('"id":"');
      const t = sent.get(text.slice(at + 6, at + 70));
      if (t !== undefined) lat.push(now - t);
      received++;
      lastDelivery = now;
      if (received >= target) done?.();
    };
    for (const c of clients) c.onLive = onLive;
    const publisher = await LoadClient.connect(relay.info.url);

    const waitDeliveries = (stallMs: number): Promise<void> =>
      new Promise<void>((resolve) => {
        if (received >= target) return resolve();
        done = resolve;
        let seen = received;
        const timer = setInterval(() => {
          if (received === seen) {
            progress(`fanout: stalled at ${received}/${target} deliveries`);
            clearInterval(timer);
            resolve();
          }
          seen = received;
        }, stallMs);
        done = () => {
          clearInterval(timer);
          resolve();
        };
      });

    const cpu0 = (await relay.stats()).cpuMs;
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const pub = await publisher.publish(events, inFlight, undefined, (id, t) => sent.set(id, t), onOk);
    const publishSeconds = (performance.now() - t0) / 1000;
    await waitDeliveries(5000);
    const deliveries = received;
    expected = target;
    const seconds = (Math.max(lastDelivery, t0 + publishSeconds * 1000) - t0) / 1000;
    const wall = performance.now() - t0;
    const relayCpu = round(((await relay.stats()).cpuMs - cpu0) / wall, 2);
    const own = process.cpuUsage(own0);
    const clientCpu = round((own.user + own.system) / 1000 / wall, 2);
    const delivery = lat.percentiles();

    // unloaded latency: one event at a time
    let latTotal = 0;
    for (let k = 0; k < latencyEvents.length; k++) latTotal += latencyExpected[k]!;
    lat = new Samples(latTotal + 16);
    received = 0;
    target = latTotal;
    done = undefined;
    for (let k = 0; k < latencyEvents.length; k++) {
      const e = latencyEvents[k]!;
      let accepted = true;
      const before = received;
      await publisher.publish([e], 1, undefined, (id, t) => sent.set(id, t), (_id, ok) => (accepted = ok));
      if (!accepted) {
        target -= latencyExpected[k]!;
        continue;
      }
      const want = before + latencyExpected[k]!;
      // wait until this event's deliveries have arrived (2 s at most)
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (received >= want || performance.now() - sent.get(e.id)! > 2000) resolve();
          else setImmediate(check);
        };
        check();
      });
    }
    await waitDeliveries(2000);
    const idleDelivery = lat.percentiles();
    const idleDeliveries = received;
    const host = await relay.stats();

    await publisher.close();
    await Promise.all(clients.map((c) => c.close()));
    return {
      transport: relay.info.transport,
      subs: subs.length,
      publishPerSec: Math.round(events.length / publishSeconds),
      deliveries,
      expected,
      deliveriesPerSec: Math.round(deliveries / seconds),
      seconds: round(seconds, 3),
      delivery,
      idleDelivery,
      idleDeliveries,
      idleExpected: target,
      refusedDeliveries,
      ok: pub.ok,
      rssMB: host.rssMB,
      relayCpu,
      clientCpu,
    };
  } finally {
    await relay.close();
  }
}

interface LimitRound {
  mode: 'relay' | 'raw';
  deliveries: number;
  /** first trigger → last delivery received, deliveries per second */
  deliveriesPerSec: number;
  /** ms the relay process spent in the synchronous fan-out loops (sum over chunks) */
  loopMs: number;
  /** relay-process CPU (all threads) per delivery, µs */
  cpuUsPerDelivery: number;
  /** trigger (event entering fan-out in the relay) → delivered to the client, ms */
  latency: Percentiles;
}

export interface LimitResult {
  transport: 'uws' | 'ws';
  subs: number;
  connections: number;
  events: number;
  deliveriesPerRound: number;
  rounds: LimitRound[];
  /** medians over the rounds */
  relay: LimitRound;
  raw: LimitRound;
  /** relay deliveries/s ÷ raw-loop deliveries/s (medians) */
  ratio: number;
  /** raw µs CPU per delivery ÷ relay's (the relay's cost against the transport's, higher is better) */
  cpuRatio: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The round whose deliveries/s is the median (latency and CPU from that same round). */
function medianRound(rs: LimitRound[]): LimitRound {
  const sorted = [...rs].sort((a, b) => a.deliveriesPerSec - b.deliveriesPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * Live fan-out against the transport's own limit, in one relay process with the same sockets:
 * `subs` live subscriptions over `connections`, then rounds alternating the raw send loop and the
 * relay's live path (bench/lib/fanout-host.ts) over the same events, each round waiting until the
 * client has every delivery.
 */
async function limitRun(
  subs: Filter[][],
  connections: number,
  events: readonly RawEvent[],
  transport: 'uws' | 'ws',
  rounds: number,
  chunk: number,
  frames: 'bytes' | 'string',
): Promise<LimitResult> {
  const relay = await spawnRelay({ policy: { mode: 'open' }, server: { transport } });
  try {
    const clients = await Promise.all(Array.from({ length: Math.min(connections, subs.length) }, () => LoadClient.connect(relay.info.url)));
    await Promise.all(subs.map((filters, i) => clients[i % clients.length]!.req(`s${i}`, filters.map((f) => JSON.stringify(f)), true)));
    const perRound = await relay.fanoutPrepare(
      events.map((e) => e.raw),
      frames === 'bytes',
    );
    const index = new Map<string, number>();
    events.forEach((e, i) => index.set(e.id, i));
    let idx = new Uint32Array(perRound);
    let at = new Float64Array(perRound);
    let received = 0;
    let done: (() => void) | undefined;
    const origin = performance.timeOrigin;
    const onLive = (_sub: string, text: string, now: number): void => {
      const p = text.indexOf('"id":"');
      const i = index.get(text.slice(p + 6, p + 70));
      if (i !== undefined && received < perRound) {
        idx[received] = i;
        at[received] = origin + now;
      }
      received++;
      if (received >= perRound) done?.();
    };
    for (const c of clients) c.onLive = onLive;
    const out: LimitRound[] = [];
    for (let r = 0; r < rounds * 2; r++) {
      // raw first in each pair: any warm-up favours the relay's path, not the baseline
      const mode = r % 2 === 0 ? 'raw' : 'relay';
      received = 0;
      idx = new Uint32Array(perRound);
      at = new Float64Array(perRound);
      const all = new Promise<void>((resolve) => {
        done = resolve;
        let seen = -1;
        const timer = setInterval(() => {
          if (received === seen) {
            progress(`fanout limit (${transport}, ${subs.length} subs, ${mode}): stalled at ${received}/${perRound}`);
            resolve();
          }
          seen = received;
        }, 5000);
        done = () => {
          clearInterval(timer);
          resolve();
        };
      });
      // the relay's wall clock against ours (each process fixes timeOrigin at its start, so a clock
      // step between the two starts would shift every latency): midpoint of one IPC round trip
      const asked = origin + performance.now();
      const before = await relay.stats();
      const skew = (asked + origin + performance.now()) / 2 - before.clockMs;
      const cpu0 = before.cpuMs;
      const res = await relay.fanoutRun(mode, chunk);
      await all;
      const cpu = (await relay.stats()).cpuMs - cpu0;
      const n = Math.min(received, perRound);
      const lat = new Float64Array(n);
      let last = 0;
      for (let k = 0; k < n; k++) {
        lat[k] = at[k]! - (res.triggers[idx[k]!]! + skew);
        if (at[k]! > last) last = at[k]!;
      }
      const seconds = (last - (res.triggers[0]! + skew)) / 1000;
      out.push({
        mode,
        deliveries: received,
        deliveriesPerSec: Math.round(received / seconds),
        loopMs: round(res.loopMs, 1),
        cpuUsPerDelivery: round((cpu * 1000) / Math.max(1, received), 2),
        latency: percentiles(lat),
      });
      // let the sockets settle between rounds
      await new Promise((r2) => setTimeout(r2, 200));
    }
    await Promise.all(clients.map((c) => c.close()));
    const relayRounds = out.filter((r) => r.mode === 'relay');
    const rawRounds = out.filter((r) => r.mode === 'raw');
    const relayMed = medianRound(relayRounds);
    const rawMed = medianRound(rawRounds);
    const cpuRelay = median(relayRounds.map((r) => r.cpuUsPerDelivery));
    const cpuRaw = median(rawRounds.map((r) => r.cpuUsPerDelivery));
    return {
      transport,
      subs: subs.length,
      connections: clients.length,
      events: events.length,
      deliveriesPerRound: perRound,
      rounds: out,
      relay: relayMed,
      raw: rawMed,
      ratio: ratio(relayMed.deliveriesPerSec, rawMed.deliveriesPerSec) ?? 0,
      cpuRatio: ratio(cpuRaw, cpuRelay) ?? 0,
    };
  } finally {
    await relay.close();
  }
}

interface E2eInput {
  subs: Filter[][];
  subCount: number;
  connections: number;
  inFlight: number;
  bulk: NostrEvent[];
  latSet: NostrEvent[];
  indexed: Uint32Array;
  latExpected: Uint32Array;
  expected: number;
  transport: 'auto' | 'uws' | 'ws';
}

/** Published over a socket through the whole write path (verify, durable store), vs 1 subscription. */
async function endToEnd(rows: BenchRow[], inp: E2eInput): Promise<{ many: LiveRun; single: LiveRun }> {
  const { subs, subCount, connections, inFlight, bulk, latSet, expected } = inp;
  const oneSub: Filter[][] = [[{ limit: 0 }]];
  progress(`fanout: live, ${subCount} subscriptions over ${connections} connections (expect ${expected} deliveries)`);
  const rawBulk = toRawEvents(bulk);
  const rawLat = toRawEvents(latSet);
  const many = await liveRun(subs, connections, rawBulk, inp.indexed, rawLat, inp.latExpected, inFlight, inp.transport);
  progress('fanout: baseline, 1 catch-all subscription');
  const single = await liveRun(oneSub, 1, rawBulk, new Uint32Array(bulk.length).fill(1), rawLat, new Uint32Array(latSet.length).fill(1), inFlight, inp.transport);

  const complete =
    many.deliveries === many.expected && many.idleDeliveries === many.idleExpected
      ? 'all delivered'
      : `DELIVERED ${many.deliveries} of ${many.expected} (+ ${many.idleDeliveries} of ${many.idleExpected} at 1 in flight) expected`;
  rows.push({
    metric: `fan-out: publish 1×${inFlight} with ${subCount} subs`,
    value: many.publishPerSec,
    unit: 'events/s',
    baseline: single.publishPerSec,
    baselineName: 'same, 1 subscription',
    ratio: ratio(many.publishPerSec, single.publishPerSec),
    goal: 0.9,
    note: `${round(expected / bulk.length, 1)} subs matched/event; relay RSS ${many.rssMB} MB (1 sub: ${single.rssMB} MB)`,
  });
  rows.push({
    metric: `fan-out: deliveries to ${subCount} subs over ${connections} conns`,
    value: many.deliveriesPerSec,
    unit: 'deliveries/s',
    p50Ms: many.delivery.p50,
    p99Ms: many.delivery.p99,
    baseline: single.deliveriesPerSec,
    baselineName: 'deliveries/s, 1 subscription',
    ratio: ratio(many.deliveriesPerSec, single.deliveriesPerSec),
    note: `${complete}; latency = EVENT sent → delivered, under load (1-sub p50 ${single.delivery.p50} / p99 ${single.delivery.p99} ms); CPU relay ${many.relayCpu} / load generator ${many.clientCpu} cores`,
  });
  rows.push({
    metric: `fan-out: publish→delivery, 1 in flight, ${subCount} subs`,
    value: many.idleDelivery.p50,
    unit: 'ms p50',
    p50Ms: many.idleDelivery.p50,
    p99Ms: many.idleDelivery.p99,
    baseline: single.idleDelivery.p50,
    baselineName: 'p50 with 1 subscription',
    ratio: ratio(single.idleDelivery.p50, many.idleDelivery.p50),
    note: 'ratio = 1-sub p50 ÷ this p50 (higher is better)',
  });
  return { many, single };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<BenchResult> {
  const args = parseArgs(argv);
  const started = new Date();
  const m = args.num('events', 5000, 300);
  const subCount = args.num('subs', 1000, 100);
  const connections = args.num('connections', 50, 5);
  const inFlight = args.num('inflight', 50);
  const latencyN = args.num('latency-events', 500, 50);
  const seed = args.num('seed', 1);
  const rows: BenchRow[] = [];

  progress(`fanout: generating ${m + latencyN} events, ${subCount} subscriptions`);
  const all = publishSet(m + latencyN, seed);
  // the latency phase uses events spread through the set, the rest go to the throughput phase
  const step = Math.max(1, Math.floor(all.length / Math.max(1, latencyN)));
  const latSet: NostrEvent[] = [];
  const bulk: NostrEvent[] = [];
  all.forEach((e, i) => (i % step === step - 1 && latSet.length < latencyN ? latSet : bulk).push(e));
  const subs = buildSubs(subCount, all, seed);

  progress('fanout: naive matchFilter loop vs SubscriptionIndex (in-process)');
  const naive = naiveMatch(subs, bulk, args.num('naive-ms', 2000, 300));
  const indexed = indexMatch(subs, bulk, naive.perEvent);
  const latExpected = indexMatch(subs, latSet, naiveMatch(subs, latSet, 300).perEvent);
  // expected deliveries come from the index, which was just checked against the naive loop
  const mismatches = indexed.mismatches + latExpected.mismatches;

  const limitSubs = args.str('limit-subs', args.quick ? '100' : '500,1000').split(',').filter(Boolean).map(Number);
  // uws only where a build of it loads (Node 24 on glibc < 2.38 has none)
  const transports = (args.str('transports', loadUws().uws !== undefined ? 'uws,ws' : 'ws').split(',').filter(Boolean) as Array<'uws' | 'ws'>);
  const limitEvents = Math.min(bulk.length, args.num('limit-events', 2000, 300));
  const rounds = args.num('rounds', 3, 1);
  const chunk = args.num('chunk', 50);
  // the raw loop's precomputed frames: UTF-8 buffers (the transports' cheapest input) or strings
  const rawFrames = args.str('raw-frames', 'bytes') === 'string' ? 'string' : 'bytes';
  const limits: LimitResult[] = [];
  if (!args.bool('skip-limit')) {
    const rawLimit = toRawEvents(bulk.slice(0, limitEvents));
    for (const t of transports) {
      if (t !== 'uws' && t !== 'ws') throw new Error(`--transports expects uws and/or ws, got ${JSON.stringify(t)}`);
      for (const n of limitSubs) {
        progress(`fanout: transport limit, ${t}, ${n} subscriptions over ${connections} connections, ${limitEvents} events × ${rounds} rounds`);
        const l = await limitRun(buildSubs(n, all, seed), connections, rawLimit, t, rounds, chunk, rawFrames);
        limits.push(l);
        rows.push({
          metric: `fan-out ${t}: ${n} subs, ${limitEvents} events vs raw send loop`,
          value: l.relay.deliveriesPerSec,
          unit: 'deliveries/s',
          p50Ms: l.relay.latency.p50,
          p99Ms: l.relay.latency.p99,
          baseline: l.raw.deliveriesPerSec,
          baselineName: `raw ${t} send loop, same frames and sockets`,
          ratio: l.ratio,
          goal: 0.8,
          note:
            `medians of ${rounds} alternating rounds; raw p50 ${l.raw.latency.p50} / p99 ${l.raw.latency.p99} ms (fan-out entry → client); ` +
            `relay CPU ${l.relay.cpuUsPerDelivery} µs/delivery vs raw ${l.raw.cpuUsPerDelivery} (ratio ${l.cpuRatio}); ${l.deliveriesPerRound} deliveries/round` +
            (l.rounds.every((r) => r.deliveries === l.deliveriesPerRound) ? '' : '; SOME ROUNDS INCOMPLETE'),
        });
      }
    }
  }

  let e2e: { many: LiveRun; single: LiveRun } | undefined;
  if (!args.bool('skip-e2e')) {
    const expected = indexed.perEvent.reduce((a, b) => a + b, 0);
    e2e = await endToEnd(rows, { subs, subCount, connections, inFlight, bulk, latSet, indexed: indexed.perEvent, latExpected: latExpected.perEvent, expected, transport: transportArg(args) });
  }
  rows.push({
    metric: `live index: match 1 event against ${subCount} subs`,
    value: Math.round(indexed.eventsPerSec),
    unit: 'events/s',
    baseline: Math.round(naive.eventsPerSec),
    baselineName: 'naive matchFilter loop',
    ratio: ratio(indexed.eventsPerSec, naive.eventsPerSec),
    note: mismatches === 0 ? `same matches as the naive loop (${naive.perEvent.length} events compared)` : `${mismatches} events matched differently from the naive loop`,
  });

  return {
    bench: 'fanout',
    command: `node dist/bench/fanout.js ${argv.join(' ')}`.trim(),
    startedAt: started.toISOString(),
    seconds: round((Date.now() - started.getTime()) / 1000, 1),
    params: { events: bulk.length, latencyEvents: latSet.length, subs: subCount, connections, inFlight, seed, transport: transportArg(args), limitSubs: limitSubs.join(','), transports: transports.join(','), limitEvents, rounds, chunk, rawFrames },
    rows,
    extra: {
      limits,
      many: e2e?.many,
      single: e2e?.single,
      naiveEventsPerSec: Math.round(naive.eventsPerSec),
      indexEventsPerSec: Math.round(indexed.eventsPerSec),
      indexMismatches: mismatches,
      naiveEventsCompared: naive.perEvent.length,
      matchedPerEvent: percentiles(indexed.perEvent),
    },
  };
}

runIfMain(import.meta.url, () => main());
