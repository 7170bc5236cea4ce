// Sync bench (GRASP-02): a peer relay (open mode, own process) holds N NIP-34 events of 200
// repositories; an empty grasp-relay (own process) with the peer as bootstrap relay learns the
// announcements in one L1 batch and pulls everything. Measures time to converge, events/s and
// peak RSS, with the peer's NIP-77 on and off, against a baseline measured in the same run: a raw
// NIP-77 reconcile + ids fetch of the same set over one WebSocket (no verify, no store); and the
// daily full resync of the then up-to-date relay, NIP-77 against REQ+EOSE.
// Run: npx tsc -p . && node dist/bench/sync.js [--events 100000] [--repos 200] [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { makeConfig } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { startRelay } from '../src/main.js';
import { NegentropyInitiator, NegentropyStorage } from '../src/negentropy/index.js';
import { generateNip34 } from './generator.js';
import { parseArgs } from './lib/args.js';
import { publishParallel, toRawEvents } from './lib/client.js';
import { emitResult, progress, type BenchResult, type BenchRow } from './lib/output.js';
import { spawnRelay, type HostConfigOverrides, type RelayProc } from './lib/relay-proc.js';
import { ratio, round } from './lib/stats.js';

const SERVICE_HOST = 'git.bench.example';
const FETCH_CHUNK = 300;
const FETCH_IN_FLIGHT = 8;

/** Baseline: NEG-OPEN with an empty local set over one WebSocket, then fetch every id it needs. */
async function rawReconcileAndFetch(url: string): Promise<{ seconds: number; ids: number; received: number; rounds: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const t0 = performance.now();
  const init = new NegentropyInitiator(new NegentropyStorage({ count: 0, timestamps: new Float64Array(0), ids: new Uint8Array(0) }));
  const need: string[] = [];
  let rounds = 0;
  let received = 0;
  let onEose: ((sub: string) => void) | undefined;
  const negDone = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as unknown[];
      if (m[0] === 'EVENT') received++;
      else if (m[0] === 'EOSE') onEose?.(String(m[1]));
      else if (m[0] === 'NEG-MSG') {
        rounds++;
        const r = init.reconcile(String(m[2]));
        for (const id of r.need) need.push(id);
        if (r.output === null) {
          ws.send(JSON.stringify(['NEG-CLOSE', 'n']));
          resolve();
        } else ws.send(JSON.stringify(['NEG-MSG', 'n', r.output]));
      } else if (m[0] === 'NEG-ERR' || m[0] === 'NOTICE') reject(new Error(JSON.stringify(m)));
    });
  });
  ws.send(JSON.stringify(['NEG-OPEN', 'n', {}, init.initiate()]));
  await negDone;
  const chunks: string[][] = [];
  for (let i = 0; i < need.length; i += FETCH_CHUNK) chunks.push(need.slice(i, i + FETCH_CHUNK));
  let next = 0;
  await new Promise<void>((resolve) => {
    let open = 0;
    const pump = (): void => {
      while (open < FETCH_IN_FLIGHT && next < chunks.length) {
        const sub = `f${next}`;
        ws.send(JSON.stringify(['REQ', sub, { ids: chunks[next++] }]));
        open++;
      }
      if (open === 0 && next >= chunks.length) resolve();
    };
    onEose = (sub) => {
      ws.send(JSON.stringify(['CLOSE', sub]));
      open--;
      pump();
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  ws.close();
  return { seconds, ids: need.length, received, rounds };
}

const localOverrides = (peerUrl: string): HostConfigOverrides => ({
  policy: { mode: 'grasp' },
  service: { hosts: [SERVICE_HOST] },
  sync: { enabled: true, bootstrapRelays: [peerUrl] },
});

/** Start an empty grasp-relay syncing from `peerUrl`; wait until it holds `target` events. */
async function syncOnce(
  peerUrl: string,
  target: number,
  timeoutS: number,
  dataDir: string,
): Promise<{ seconds: number; events: number; peakRssMB: number; converged: boolean }> {
  const t0 = performance.now();
  const local: RelayProc = await spawnRelay(localOverrides(peerUrl), { dataDir });
  try {
    let last = -1;
    let lastChange = performance.now();
    for (;;) {
      const s = await local.stats();
      const now = performance.now();
      if (s.storeEvents !== last) {
        last = s.storeEvents;
        lastChange = now;
      }
      if (s.storeEvents >= target) {
        const final = await local.stats();
        return { seconds: (now - t0) / 1000, events: s.storeEvents, peakRssMB: final.peakRssMB, converged: true };
      }
      if ((now - lastChange) / 1000 > 30 || (now - t0) / 1000 > timeoutS) {
        return { seconds: (now - t0) / 1000, events: s.storeEvents, peakRssMB: s.peakRssMB, converged: false };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await local.close();
  }
}

/**
 * The daily resync of an up-to-date relay: reopen the synced store in this process (a quick
 * reconnect), then force a full resync and time it until every item is confirmed again.
 */
async function resyncUpToDate(peerUrl: string, dataDir: string, timeoutS: number): Promise<{ seconds: number; received: number; negSessions: number }> {
  const o = localOverrides(peerUrl);
  const config = makeConfig({
    ...o,
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir },
    log: { level: 'silent' },
  });
  const relay = await startRelay(config, { log: silentLogger });
  try {
    const sync = relay.sync!;
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const end = performance.now() + timeoutS * 1000;
      while (!cond()) {
        if (performance.now() > end) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => sync.peer(peerUrl)?.idle === true, 'quick reconnect');
    const p = sync.peer(peerUrl)!;
    const before = { received: p.counters.received, neg: p.stats.negSessions };
    const t0 = performance.now();
    sync.resync(peerUrl);
    await until(() => p.idle, 'full resync');
    return { seconds: (performance.now() - t0) / 1000, received: p.counters.received - before.received, negSessions: p.stats.negSessions - before.neg };
  } finally {
    await relay.close();
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<BenchResult> {
  const args = parseArgs(argv);
  const started = new Date();
  const n = args.num('events', 100_000, 10_000);
  const repos = args.num('repos', 200, 200);
  const timeoutS = args.num('timeout', 900, 300);

  progress(`sync: generating ${n} NIP-34 events of ${repos} repositories`);
  const events = generateNip34({ repos, events: n, serviceHost: SERVICE_HOST, seed: 34 });
  const peerDir = mkdtempSync(join(tmpdir(), 'grasp-bench-sync-peer-'));
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  const dirs: string[] = [];
  try {
    let peer = await spawnRelay({ policy: { mode: 'open' }, service: { hosts: [] } }, { dataDir: peerDir });
    progress(`sync: loading the peer ${peer.info.url}`);
    const load = await publishParallel(peer.info.url, toRawEvents(events), 4, 100);
    const peerStats = await peer.stats();
    const held = peerStats.storeEvents;
    extra.peerLoad = { ok: load.ok, refused: load.refused, eventsPerSec: load.eventsPerSec, held, peakRssMB: peerStats.peakRssMB };
    progress(`sync: peer holds ${held} events`);

    progress('sync: baseline (raw NIP-77 reconcile + ids fetch over one WebSocket)');
    const base = await rawReconcileAndFetch(peer.info.url);
    extra.baseline = { ...base, seconds: round(base.seconds, 3) };
    progress(`sync: baseline ${round(base.seconds, 2)} s for ${base.received} events`);

    progress('sync: empty grasp-relay syncing from the peer (NIP-77)');
    const dirA = mkdtempSync(join(tmpdir(), 'grasp-bench-sync-local-'));
    dirs.push(dirA);
    const a = await syncOnce(peer.info.url, held, timeoutS, dirA);
    progress(`sync: NIP-77 ${round(a.seconds, 2)} s, ${a.events}/${held}, peak RSS ${a.peakRssMB} MB`);
    progress('sync: full resync of the now up-to-date relay (NIP-77)');
    const ra = await resyncUpToDate(peer.info.url, dirA, timeoutS);
    progress(`sync: resync NIP-77 ${round(ra.seconds, 2)} s, ${ra.received} events received, ${ra.negSessions} NIP-77 sessions`);
    await peer.close();

    peer = await spawnRelay({ policy: { mode: 'open' }, service: { hosts: [] }, negentropy: { enabled: false } }, { dataDir: peerDir });
    progress('sync: empty grasp-relay syncing from the peer with NIP-77 off (REQ+EOSE paging)');
    const dirB = mkdtempSync(join(tmpdir(), 'grasp-bench-sync-local-'));
    dirs.push(dirB);
    const b = await syncOnce(peer.info.url, held, timeoutS, dirB);
    progress(`sync: REQ ${round(b.seconds, 2)} s, ${b.events}/${held}, peak RSS ${b.peakRssMB} MB`);
    progress('sync: full resync of the now up-to-date relay (NIP-77 off: REQ+EOSE)');
    const rb = await resyncUpToDate(peer.info.url, dirB, timeoutS);
    progress(`sync: resync REQ ${round(rb.seconds, 2)} s, ${rb.received} events received`);
    await peer.close();
    rows.push({
      metric: 'daily resync of an up-to-date relay, NIP-77',
      value: round(ra.seconds, 3),
      unit: 's',
      baseline: round(rb.seconds, 3),
      baselineName: 'the same resync with the peer NIP-77 off (REQ+EOSE)',
      ratio: ratio(ra.seconds, rb.seconds),
      note: `lower is better; events received ${ra.received} vs ${rb.received}`,
    });
    extra.resync = { nip77: ra, req: rb };

    const mk = (metric: string, r: typeof a): BenchRow[] => [
      {
        metric: `${metric}: time to converge`,
        value: round(r.seconds, 3),
        unit: 's',
        baseline: round(base.seconds, 3),
        baselineName: 'raw NIP-77 reconcile + ids fetch, one WebSocket',
        ratio: ratio(r.seconds, base.seconds),
        goal: 2,
        note: `lower is better; ${r.converged ? 'converged' : `NOT converged (${r.events}/${held})`}`,
      },
      {
        metric: `${metric}: events/s`,
        value: Math.round(r.events / r.seconds),
        unit: 'events/s',
        baseline: Math.round(base.received / base.seconds),
        baselineName: 'raw NIP-77 reconcile + ids fetch, one WebSocket',
        ratio: ratio(r.events / r.seconds, base.received / base.seconds),
      },
      {
        metric: `${metric}: peak RSS`,
        value: r.peakRssMB,
        unit: 'MB',
        baseline: peerStats.peakRssMB,
        baselineName: 'peak RSS of the peer while clients wrote the same events',
        ratio: ratio(r.peakRssMB, peerStats.peakRssMB),
      },
    ];
    rows.push(...mk('sync from peer, NIP-77', a), ...mk('sync from peer, NIP-77 off', b));
    // context: the same events written by clients over 4 WebSockets × 100 in flight (the peer's
    // load above) — the write path (verify, policy, store) that every synced event also takes
    for (const [name, r] of [
      ['NIP-77', a],
      ['NIP-77 off', b],
    ] as const) {
      rows.push({
        metric: `sync from peer, ${name}: time vs the client write path`,
        value: round(r.seconds, 3),
        unit: 's',
        baseline: load.seconds,
        baselineName: 'same events published by clients (4 × 100 in flight) to the peer',
        ratio: ratio(r.seconds, load.seconds),
        note: 'lower is better',
      });
    }
    extra.nip77 = a;
    extra.reqFallback = b;
  } finally {
    rmSync(peerDir, { recursive: true, force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const result: BenchResult = {
    bench: 'sync',
    command: `node dist/bench/sync.js ${argv.join(' ')}`.trim(),
    startedAt: started.toISOString(),
    seconds: round((Date.now() - started.getTime()) / 1000, 1),
    params: { events: n, repos },
    rows,
    extra,
  };
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (r) => {
      emitResult(r);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
