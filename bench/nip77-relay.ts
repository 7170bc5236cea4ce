// NIP-77 at the relay level: a relay holding N events (default 200k) and a client missing 1 % of
// them reconcile over a real WebSocket, NEG-OPEN to done (plus NEG-CLOSE). Baseline in the same
// run: the same reconciliation in memory (initiator ↔ responder, no socket, no store), so the
// ratio is the cost of the store snapshot and the protocol around the reconciler.
// Run: npx tsc -p . && node dist/bench/nip77-relay.js [--events 200000] [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { makeConfig } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { startRelay } from '../src/main.js';
import { NegentropyInitiator, NegentropyResponder, NegentropyStorage, buildItems } from '../src/negentropy/index.js';
import type { NostrEvent } from '../src/nostr/event.js';
import { generateNotes } from './generator.js';
import { parseArgs } from './lib/args.js';
import { emitResult } from './lib/output.js';
import { round } from './lib/stats.js';

const args = parseArgs();
const n = args.num('events', 200_000, 20_000);
const started = Date.now();

const events: NostrEvent[] = generateNotes(n, 77);
/** what the relay holds (replaceable kinds in the set keep only their newest version) */
let serverPairs: Array<[number, string]> = [];
/** the client's set: the relay's minus every 100th item */
let clientPairs: Array<[number, string]> = [];

// ---- baseline: the same reconciliation in memory ----
function inMemory(): { ms: number; need: number; rounds: number } {
  const client = new NegentropyInitiator(new NegentropyStorage(buildItems(clientPairs)));
  const serverItems = buildItems(serverPairs);
  // timed like the relay: the server's storage is built per session, the client's beforehand
  const t = performance.now();
  const server = new NegentropyResponder(new NegentropyStorage(serverItems));
  let msg: string | null = client.initiate();
  let need = 0;
  let rounds = 0;
  while (msg !== null) {
    rounds++;
    const r = client.reconcile(server.reconcile(msg));
    need += r.need.length;
    msg = r.output;
  }
  return { ms: performance.now() - t, need, rounds };
}

// ---- the relay ----
// (overSocket is defined below; the warm-up runs after loading)
const dataDir = mkdtempSync(join(tmpdir(), 'bench-nip77-'));
const relay = await startRelay(
  makeConfig({
    server: { port: 0 },
    service: { hosts: [] },
    store: { dataDir },
    sync: { enabled: false },
    policy: { mode: 'open' },
    metrics: { enabled: false, statusPage: false },
  }),
  { log: silentLogger },
);
process.stderr.write(`loading ${n} events into the store…\n`);
for (let i = 0; i < n; i += 2000) {
  await Promise.all(events.slice(i, i + 2000).map((e) => relay.store.insert(e, JSON.stringify(e))));
}
const held = relay.store.negentropyItems({}, n);
if (held === 'too-many') throw new Error('unreachable: more items than events');
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
serverPairs = Array.from({ length: held.count }, (_, i): [number, string] => [held.timestamps[i]!, hex(held.ids.subarray(32 * i, 32 * i + 32))]);
clientPairs = serverPairs.filter((_, i) => i % 100 !== 0);
const missing = serverPairs.length - clientPairs.length;

function overSocket(): Promise<{ ms: number; need: number; rounds: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relay.url);
    const client = new NegentropyInitiator(new NegentropyStorage(buildItems(clientPairs)));
    let t = 0;
    let need = 0;
    let rounds = 0;
    ws.on('open', () => {
      t = performance.now();
      ws.send(JSON.stringify(['NEG-OPEN', 'b', {}, client.initiate()]));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as unknown[];
      if (m[0] !== 'NEG-MSG') return reject(new Error(`unexpected ${data.toString().slice(0, 200)}`));
      rounds++;
      const r = client.reconcile(m[2] as string);
      need += r.need.length;
      if (r.output === null) {
        const ms = performance.now() - t;
        ws.send(JSON.stringify(['NEG-CLOSE', 'b']));
        ws.close();
        resolve({ ms, need, rounds });
      } else ws.send(JSON.stringify(['NEG-MSG', 'b', r.output]));
    });
    ws.on('error', reject);
  });
}

const reps = 5;
await overSocket(); // warm-up
inMemory();
const mem: number[] = [];
const sock: number[] = [];
let check = { need: 0, rounds: 0, sockNeed: 0, sockRounds: 0 };
for (let i = 0; i < reps; i++) {
  const a = inMemory();
  const b = await overSocket();
  mem.push(a.ms);
  sock.push(b.ms);
  check = { need: a.need, rounds: a.rounds, sockNeed: b.need, sockRounds: b.rounds };
}
await relay.close();
rmSync(dataDir, { recursive: true, force: true });
if (check.need !== missing || check.sockNeed !== missing) {
  throw new Error(`reconciliation found ${check.need} / ${check.sockNeed} missing, expected ${missing}`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const relayMs = median(sock);
const memMs = median(mem);
emitResult({
  bench: 'nip77-relay',
  command: `node dist/bench/nip77-relay.js ${args.argv.join(' ')}`.trim(),
  startedAt: new Date(started).toISOString(),
  seconds: round((Date.now() - started) / 1000, 1),
  params: { events: n, missingPercent: 1, repetitions: reps },
  rows: [
    {
      metric: `NEG-OPEN to done over WebSocket, ${serverPairs.length} events, client missing 1 %`,
      value: round(relayMs, 1),
      unit: 'ms',
      baseline: round(memMs, 1),
      baselineName: 'same reconciliation in memory (no socket, no store)',
      ratio: round(relayMs / memMs, 2),
      lowerIsBetter: true,
      note: `${check.sockRounds} round trips; found ${check.sockNeed} of ${missing} missing ids`,
    },
  ],
  extra: { inMemoryMs: mem.map((x) => round(x, 1)), relayMs: sock.map((x) => round(x, 1)) },
});
