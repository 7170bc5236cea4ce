// Reliability scenarios as repeatable runs (issue 11), relay in its own process, printing figures:
// - slow readers: C clients × R REQs that never read (socket paused) against stored events of
//   S bytes; RSS growth of the relay, how long dropping them takes, and another client's REQ
//   latency meanwhile against an idle relay's (same run).
// - kill -9 during ingest: clients publish, the relay process is killed mid-stream, restarted on
//   the same data directory; every event acknowledged with OK true must be there (rounds, lost
//   events, restart time).
// - flood: with the relay's default per-IP limits, clients publishing EVENTs as fast as they can,
//   then clients sending REQs as fast as they can, each for a while, while a well-behaved client
//   measures its REQ latency against the idle relay's (same run); the EVENT token bucket must hold
//   (accepted ≤ burst + rate × time) and so must the per-IP connection limit. The flooders run in a
//   worker thread so that the measuring client's event loop is not theirs.
// The full-disk scenario needs a tmpfs mount (root) and lives in test/store/storage-full.test.ts.
// Run: node dist/bench/reliability.js [--quick] [--transport uws|ws] [--kill-rounds N]
//        [--scenarios kill,slow,flood] [--flood-seconds S] [--flood-clients N]
// or through `npm run bench -- --only reliability [--quick] [--transport ws]` (not in the default set).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { limitsSchema } from '../src/config/schema.js';
import { parseArgs } from './lib/args.js';
import { emitResult, progress, type BenchRow } from './lib/output.js';
import { spawnRelay, type RelayProc } from './lib/relay-proc.js';
import { percentiles, round } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const quick = args.quick;
const transport = args.str('transport', 'uws') as 'uws' | 'ws';
const scenarios = new Set(args.str('scenarios', 'kill,slow,flood').split(','));

interface Scenario {
  name: string;
  clients: number;
  reqs: number;
  events: number;
  contentBytes: number;
}

const SCENARIOS: Scenario[] = quick
  ? [{ name: '2 clients × 10 REQs, 20 KB events', clients: 2, reqs: 10, events: 200, contentBytes: 20_000 }]
  : [
      { name: '10 clients × 20 REQs, 5 KB events', clients: 10, reqs: 20, events: 2000, contentBytes: 5_000 },
      { name: '1 client × 100 REQs, 60 KB events', clients: 1, reqs: 100, events: 500, contentBytes: 60_000 },
    ];

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function publishAll(url: string, n: number, contentBytes: number): Promise<void> {
  const ws = await connect(url);
  const sk = generateSecretKey();
  const base = Math.floor(Date.now() / 1000) - n - 10;
  const pending = new Set<string>();
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as unknown[];
    if (m[0] === 'OK') {
      pending.delete(m[1] as string);
      if (pending.size === 0) done();
    }
  });
  const pad = 'x'.repeat(contentBytes);
  for (let i = 0; i < n; i++) {
    const e = finalizeEvent({ kind: 1, tags: [], content: `${i} ${pad}`, created_at: base + i }, sk);
    pending.add(e.id);
    ws.send(JSON.stringify(['EVENT', e]));
  }
  await all;
  ws.close();
}

/** Sequential REQs (limit 20) from a client that reads, for `ms`: latencies in ms. */
async function probe(url: string, ms: number): Promise<number[]> {
  const ws = await connect(url);
  const lat: number[] = [];
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) {
    const id = `p${i++}`;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.off('message', on);
        lat.push(10_000);
        resolve();
      }, 10_000);
      const on = (d: WebSocket.RawData): void => {
        const s = String(d);
        if (s.startsWith(`["EOSE","${id}"`)) {
          clearTimeout(timer);
          ws.off('message', on);
          lat.push(performance.now() - t0);
          resolve();
        }
      };
      ws.on('message', on);
      ws.send(JSON.stringify(['REQ', id, { kinds: [1], limit: 20 }]));
    });
    ws.send(JSON.stringify(['CLOSE', id]));
  }
  ws.close();
  return lat;
}

async function slowReaders(relay: RelayProc, s: Scenario): Promise<BenchRow[]> {
  const url = relay.info.url;
  const idle = percentiles(await probe(url, quick ? 1000 : 3000));
  await relay.resetPeak();
  const before = await relay.stats();
  const socks: WebSocket[] = [];
  for (let c = 0; c < s.clients; c++) {
    const ws = await connect(url);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let r = 0; r < s.reqs; r++) ws.send(JSON.stringify(['REQ', `s${r}`, { kinds: [1] }]));
    socks.push(ws);
  }
  const loaded = percentiles(await probe(url, quick ? 2000 : 5000));
  const during = await relay.stats();
  const t0 = performance.now();
  for (const ws of socks) ws.terminate();
  while ((await relay.stats()).connections > 0) await new Promise((r) => setTimeout(r, 20));
  const dropMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  const after = await relay.stats();
  progress(`${s.name}: RSS ${before.rssMB} → peak ${during.peakRssMB} MB, after ${after.rssMB} MB; REQ p99 idle ${idle.p99} ms, loaded ${loaded.p99} ms`);
  return [
    { metric: `slow readers ${s.name}: RSS growth`, value: round(during.peakRssMB - before.rssMB, 1), unit: 'MB', lowerIsBetter: true, note: `RSS ${after.rssMB} MB 1 s after they left (${before.rssMB} before)` },
    { metric: `slow readers ${s.name}: all closed after`, value: round(dropMs, 0), unit: 'ms', lowerIsBetter: true },
    p99Row(`slow readers ${s.name}: other client REQ p99`, loaded, idle),
  ];
}

/** Publish until killed: ids acknowledged with OK true before the socket went away. */
async function publishUntilClosed(url: string, acked: Set<string>): Promise<void> {
  const ws = await connect(url);
  const sk = generateSecretKey();
  let n = 0;
  let closed = false;
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as unknown[];
    if (m[0] === 'OK' && m[2] === true) acked.add(m[1] as string);
  });
  ws.on('error', () => {});
  const done = new Promise<void>((r) => ws.once('close', () => r()));
  ws.once('close', () => (closed = true));
  while (!closed) {
    if (ws.bufferedAmount < 1 << 16 && ws.readyState === ws.OPEN) {
      const e = finalizeEvent({ kind: 1, tags: [], content: `kill test ${n++} ${Math.random()}`, created_at: Math.floor(Date.now() / 1000) }, sk);
      ws.send(JSON.stringify(['EVENT', e]));
      if (n % 20 !== 0) continue;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await done;
}

async function killRounds(rounds: number): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'grasp-kill-'));
  const acked = new Set<string>();
  let lost: number;
  const restarts: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const relay = await spawnRelay({ policy: { mode: 'open' }, server: { transport } }, { dataDir });
      restarts.push(performance.now() - t0);
      const pub = [publishUntilClosed(relay.info.url, acked), publishUntilClosed(relay.info.url, acked)];
      await new Promise((res) => setTimeout(res, 1500 + Math.floor(Math.random() * 1000)));
      process.kill(relay.pid, 'SIGKILL');
      await Promise.all(pub);
      await relay.close();
    }
    const check = await spawnRelay({ policy: { mode: 'open' }, server: { transport } }, { dataDir });
    try {
      const ws = await connect(check.info.url);
      const ids = [...acked];
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const sub = `k${i}`;
        await new Promise<void>((resolve) => {
          const on = (d: WebSocket.RawData): void => {
            const m = JSON.parse(String(d)) as unknown[];
            if (m[0] === 'EVENT') found.add((m[2] as { id: string }).id);
            if (m[0] === 'EOSE' && m[1] === sub) {
              ws.off('message', on);
              resolve();
            }
          };
          ws.on('message', on);
          ws.send(JSON.stringify(['REQ', sub, { ids: ids.slice(i, i + 500) }]));
        });
      }
      lost = ids.length - found.size;
      ws.close();
    } finally {
      await check.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const worst = Math.max(...restarts.slice(1));
  progress(`kill -9: ${rounds} rounds, ${acked.size} events acknowledged, ${lost} lost; restart ≤ ${round(worst, 0)} ms`);
  return [
    { metric: `kill -9 during ingest, ${rounds} rounds: acknowledged events lost`, value: lost, unit: 'events', note: `${acked.size} acknowledged` },
    { metric: 'kill -9: slowest restart (process start to listening)', value: round(worst, 0), unit: 'ms', lowerIsBetter: true },
  ];
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const rows: BenchRow[] = [];
  // --rounds is kept for direct runs; bench/run.ts keeps --rounds for itself
  if (scenarios.has('kill')) rows.push(...(await killRounds(args.num('kill-rounds', args.num('rounds', 5, 2)))));
  for (const s of scenarios.has('slow') ? SCENARIOS : []) {
    const relay = await spawnRelay({ policy: { mode: 'open' }, server: { transport } });
    try {
      progress(`${s.name}: publishing ${s.events} events of ${s.contentBytes} bytes`);
      await publishAll(relay.info.url, s.events, s.contentBytes);
      rows.push(...(await slowReaders(relay, s)));
    } finally {
      await relay.close();
    }
  }
  if (scenarios.has('flood')) rows.push(...(await flood()));
  emitResult({
    bench: 'reliability',
    command: `node dist/bench/reliability.js ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: new Date(t0).toISOString(),
    seconds: (Date.now() - t0) / 1000,
    params: { quick, transport, scenarios: [...scenarios].join(',') },
    rows,
    extra: {},
  });
}

// ---- flood ------------------------------------------------------------------------------------

interface FloodTask {
  url: string;
  mode: 'event' | 'req';
  clients: number;
  ms: number;
}

export interface FloodReport {
  /** messages sent (EVENTs or REQs) */
  sent: number;
  /** EVENT: OK true; REQ: EOSE received */
  answered: number;
  /** EVENT: OK false "rate-limited:" */
  rateLimited: number;
  /** EVENT: OK false for any other reason */
  refused: number;
  /** from the first message sent to the last */
  seconds: number;
}

/** Worker side: `clients` sockets flood for `ms`, then wait (≤ 3 s) for the answers in flight. */
async function floodWorker(task: FloodTask): Promise<FloodReport> {
  const pool: string[] = [];
  if (task.mode === 'event') {
    const sk = generateSecretKey();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 600; i++) pool.push(JSON.stringify(['EVENT', finalizeEvent({ kind: 1, tags: [], content: `flood ${i}`, created_at: now - i }, sk)]));
  }
  const r: FloodReport = { sent: 0, answered: 0, rateLimited: 0, refused: 0, seconds: 0 };
  const socks = await Promise.all(Array.from({ length: task.clients }, () => connect(task.url)));
  parentPort!.postMessage({ ready: true });
  const t0 = performance.now();
  const end = Date.now() + task.ms;
  let outstanding = 0;
  await Promise.all(
    socks.map(async (ws, c) => {
      let n = 0;
      let inflight = 0;
      ws.on('message', (d) => {
        const s = String(d);
        if (s.startsWith('["OK"')) {
          outstanding--;
          if (s.includes('",true,')) r.answered++;
          else if (s.includes('"rate-limited:')) r.rateLimited++;
          else r.refused++;
        } else if (s.startsWith('["EOSE"')) {
          outstanding--;
          inflight--;
          r.answered++;
          ws.send(`["CLOSE",${s.slice(8, s.indexOf('"', 9) + 1)}]`);
        }
      });
      while (Date.now() < end && ws.readyState === ws.OPEN) {
        // as fast as the socket takes them; REQ floods keep 50 subscriptions open per socket
        if (ws.bufferedAmount < 1 << 16 && (task.mode === 'event' || inflight < 50)) {
          if (task.mode === 'event') ws.send(pool[(c * 7919 + n++) % pool.length]!);
          else {
            ws.send(`["REQ","f${n++}",{"kinds":[1],"limit":50}]`);
            inflight++;
          }
          r.sent++;
          outstanding++;
          if (n % 50 !== 0) continue;
        }
        await new Promise((res) => setTimeout(res, 1));
      }
    }),
  );
  r.seconds = (performance.now() - t0) / 1000;
  const waitEnd = Date.now() + 3000;
  while (outstanding > 0 && Date.now() < waitEnd) await new Promise((res) => setTimeout(res, 20));
  for (const ws of socks) ws.terminate();
  return r;
}

function runFlood(task: FloodTask): { ready: Promise<void>; done: Promise<FloodReport> } {
  const w = new Worker(new URL(import.meta.url), { workerData: task });
  let ready!: () => void;
  const readyP = new Promise<void>((res) => (ready = res));
  const done = new Promise<FloodReport>((resolve, reject) => {
    w.on('message', (m: { ready?: true; report?: FloodReport }) => {
      if (m.ready) ready();
      if (m.report) resolve(m.report);
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`flood worker exited (${code})`)));
  });
  return { ready: readyP, done };
}

/** Open sockets from this address until the relay refuses one (or `max`): how many it admitted. */
async function admittedConnections(url: string, max: number): Promise<number> {
  const socks: WebSocket[] = [];
  try {
    for (let i = 0; i < max; i++) {
      try {
        socks.push(await connect(url));
      } catch {
        break;
      }
    }
    return socks.length;
  } finally {
    for (const ws of socks) ws.terminate();
  }
}

async function flood(): Promise<BenchRow[]> {
  // the relay's own defaults, not the bench host's lifted limits
  const limits = limitsSchema.parse({});
  const relay = await spawnRelay({
    policy: { mode: 'open' },
    server: { transport },
    limits: {
      maxConnectionsPerIp: limits.maxConnectionsPerIp,
      eventsPerMinutePerIp: limits.eventsPerMinutePerIp,
      eventBurstPerIp: limits.eventBurstPerIp,
      maxSubscriptions: limits.maxSubscriptions,
    },
  });
  const rows: BenchRow[] = [];
  try {
    const url = relay.info.url;
    await relay.load(quick ? 2000 : 10_000, 7);
    const ms = args.num('flood-seconds', 10, 4) * 1000;
    const clients = args.num('flood-clients', 8, 4);
    const idle = percentiles(await probe(url, quick ? 2000 : 5000));
    progress(`flood: idle relay REQ p50 ${idle.p50} ms, p99 ${idle.p99} ms`);
    for (const mode of ['event', 'req'] as const) {
      const before = await relay.stats();
      const f = runFlood({ url, mode, clients, ms });
      await f.ready;
      const loaded = percentiles(await probe(url, ms));
      const rep = await f.done;
      const after = await relay.stats();
      const what = mode === 'event' ? `${clients} clients publishing EVENTs` : `${clients} clients × 50 REQs in flight`;
      const cpu = round((after.cpuMs - before.cpuMs) / 1000 / rep.seconds, 2);
      progress(`flood (${what}): ${rep.sent} sent in ${round(rep.seconds, 1)} s, ${rep.answered} answered, ${rep.rateLimited} rate-limited; REQ p99 ${loaded.p99} ms (idle ${idle.p99}); relay CPU ${cpu} cores`);
      rows.push({
        ...p99Row(`flood, ${what}: other client REQ p99`, loaded, idle),
        note: `${rep.sent} ${mode === 'event' ? 'EVENTs' : 'REQs'} sent in ${round(rep.seconds, 1)} s; relay CPU ${cpu} cores`,
      });
      if (mode === 'event') {
        // the per-IP token bucket: a burst, then the rate (the flooders share the probe's address)
        const allowed = Math.ceil(limits.eventBurstPerIp + (limits.eventsPerMinutePerIp / 60) * (rep.seconds + 3));
        rows.push({
          metric: 'flood: EVENTs accepted from one address',
          value: rep.answered,
          unit: 'events',
          baseline: allowed,
          baselineName: `burst ${limits.eventBurstPerIp} + ${limits.eventsPerMinutePerIp}/min × time`,
          ratio: round(rep.answered / allowed, 3),
          goal: 1,
          lowerIsBetter: true,
          note: `${rep.rateLimited} answered "rate-limited:", ${rep.refused} refused otherwise, of ${rep.sent}`,
        });
      } else {
        rows.push({ metric: 'flood: REQs answered (EOSE) during the REQ flood', value: round(rep.answered / rep.seconds, 0), unit: 'REQ/s' });
      }
    }
    const admitted = await admittedConnections(url, limits.maxConnectionsPerIp + 5);
    progress(`flood: ${admitted} connections admitted from one address (limit ${limits.maxConnectionsPerIp})`);
    rows.push({
      metric: 'flood: connections admitted from one address',
      value: admitted,
      unit: 'connections',
      baseline: limits.maxConnectionsPerIp,
      baselineName: 'maxConnectionsPerIp',
      ratio: round(admitted / limits.maxConnectionsPerIp, 3),
      goal: 1,
      lowerIsBetter: true,
    });
  } finally {
    await relay.close();
  }
  return rows;
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
} else {
  floodWorker(workerData as FloodTask).then(
    (report) => parentPort!.postMessage({ report }),
    (e: unknown) => {
      process.stderr.write(`flood worker: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}

/** A row comparing another client's REQ p99 under an attack with the idle relay's (goal: within 2×). */
function p99Row(metric: string, loaded: { p50: number; p99: number }, idle: { p99: number }) {
  return {
    metric,
    value: loaded.p99,
    unit: 'ms',
    p50Ms: loaded.p50,
    p99Ms: loaded.p99,
    baseline: idle.p99,
    baselineName: 'idle relay REQ p99',
    ratio: round(loaded.p99 / Math.max(idle.p99, 0.001)),
    goal: 2,
    lowerIsBetter: true,
  };
}
