// NIP-77 negentropy benchmark: 1,000,000 items each side, 1 % differing (half only on each
// side), full reconcile to done at frame limits 60000 and 4096, ours against nostr-tools' port
// in the same run. Each measurement runs in its own child process (clean peak RSS / heap).
// Run: npx tsc -p . && node dist/bench/negentropy.js [--items N] [--quick] [--reps 3] [--nt-timeout 240] [--mixed]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NegentropyInitiator, NegentropyResponder, NegentropyStorage } from '../src/negentropy/index.js';
import type { NegentropyItems } from '../src/store/types.js';

type Impl = 'ours' | 'nostr-tools' | 'nostr-tools-initiator+our-responder';

interface RunResult {
  impl: Impl;
  frameSizeLimit: number;
  buildMs: number;
  reconcileMs: number;
  totalMs: number;
  /** CPU time (user + system) of build + reconcile: steadier than wall time on a shared machine */
  cpuMs: number;
  reconcileCpuMs: number;
  rounds: number;
  have: number;
  need: number;
  /** have/need equal the true differences */
  complete: boolean;
  maxMessageBytes: number;
  bytesExchanged: number;
  peakRssMB: number;
  peakHeapMB: number;
}

// ---- deterministic data: a sorted universe split into common / only-A / only-B -------------

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

interface Data {
  a: NegentropyItems;
  b: NegentropyItems;
  onlyA: number;
  onlyB: number;
}

export function generate(perSide: number, diffFraction: number, seed: number): Data {
  const half = Math.round((perSide * diffFraction) / 2);
  const common = perSide - half;
  const total = common + 2 * half;
  const next = xorshift(seed);
  // timestamps non-decreasing with steps 0..2 (plenty of equal timestamps), ids random
  const ts = new Float64Array(total);
  const ids = new Uint8Array(32 * total);
  const words = new Uint32Array(ids.buffer);
  let t = 1_600_000_000;
  for (let i = 0; i < total; i++) {
    t += next() % 3;
    ts[i] = t;
  }
  for (let i = 0; i < words.length; i++) words[i] = next();
  // sort ids within runs of equal timestamps (runs are short: insertion sort)
  const tmp = new Uint8Array(32);
  const less = (x: number, y: number): boolean => {
    for (let k = 0; k < 32; k++) {
      const d = ids[32 * x + k] - ids[32 * y + k];
      if (d !== 0) return d < 0;
    }
    return false;
  };
  for (let i = 1; i < total; i++) {
    let j = i;
    while (j > 0 && ts[j - 1] === ts[j] && less(j, j - 1)) {
      tmp.set(ids.subarray(32 * j, 32 * j + 32));
      ids.copyWithin(32 * j, 32 * (j - 1), 32 * j);
      ids.set(tmp, 32 * (j - 1));
      j--;
    }
  }
  // side of each item: 0 both, 1 only A, 2 only B (exactly `half` of each)
  const side = new Uint8Array(total);
  for (const s of [1, 2]) {
    let placed = 0;
    while (placed < half) {
      const i = next() % total;
      if (side[i] === 0) {
        side[i] = s;
        placed++;
      }
    }
  }
  const pick = (keep: number): NegentropyItems => {
    const n = common + half;
    const out = { count: n, timestamps: new Float64Array(n), ids: new Uint8Array(32 * n) };
    let k = 0;
    for (let i = 0; i < total; i++) {
      if (side[i] !== 0 && side[i] !== keep) continue;
      out.timestamps[k] = ts[i];
      out.ids.set(ids.subarray(32 * i, 32 * i + 32), 32 * k);
      k++;
    }
    return out;
  };
  return { a: pick(1), b: pick(2), onlyA: half, onlyB: half };
}

// ---- one measurement (child process) ----------------------------------------------------------

interface NtStorage {
  insert(timestamp: number, id: string): void;
  seal(): void;
}
interface NtNegentropy {
  initiate(): string;
  reconcile(msg: string, onhave?: (id: string) => void, onneed?: (id: string) => void): string | null;
}
interface NtModule {
  NegentropyStorageVector: new () => NtStorage;
  Negentropy: new (storage: NtStorage, frameSizeLimit?: number) => NtNegentropy;
}

async function loadNostrTools(): Promise<NtModule> {
  // nip77 is not in nostr-tools' package "exports": import the file next to its entry point
  return (await import(new URL('./nip77.js', import.meta.resolve('nostr-tools')).href)) as NtModule;
}

/** Children stop when the driver is gone (killed by a runner's timeout), instead of running on. */
const PARENT = process.ppid;
function exitIfOrphaned(): void {
  if (process.ppid !== PARENT) process.exit(3);
}

function ntStorage(nt: NtModule, items: NegentropyItems): NtStorage {
  const s = new nt.NegentropyStorageVector();
  const buf = Buffer.from(items.ids.buffer, items.ids.byteOffset, items.ids.byteLength);
  for (let i = 0; i < items.count; i++) {
    if ((i & 0xffff) === 0) exitIfOrphaned();
    s.insert(items.timestamps[i], buf.toString('hex', 32 * i, 32 * i + 32));
  }
  s.seal();
  return s;
}

async function measure(impl: Impl, limit: number, perSide: number, diff: number): Promise<RunResult> {
  const data = generate(perSide, diff, 20261126);
  globalThis.gc?.();
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = (): void => {
    const h = process.memoryUsage().heapUsed;
    if (h > peakHeap) peakHeap = h;
  };
  let initiate: () => string;
  let step: (msg: string) => { output: string | null; have: number; need: number };
  let respond: (msg: string) => string;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (impl === 'ours') {
    const ini = new NegentropyInitiator(new NegentropyStorage(data.a), { frameSizeLimit: limit });
    const res = new NegentropyResponder(new NegentropyStorage(data.b), { frameSizeLimit: limit });
    initiate = () => ini.initiate();
    step = (m) => {
      const r = ini.reconcile(m);
      return { output: r.output, have: r.have.length, need: r.need.length };
    };
    respond = (m) => res.reconcile(m);
  } else {
    const nt = await loadNostrTools();
    const ntLimit = limit === 0 ? Number.MAX_SAFE_INTEGER : limit; // nostr-tools has no "unlimited"
    const ini = new nt.Negentropy(ntStorage(nt, data.a), ntLimit);
    const seen = new Set<string>(); // nostr-tools may report an id twice; count each once
    let have = 0;
    let need = 0;
    initiate = () => ini.initiate();
    step = (m) => {
      have = 0;
      need = 0;
      const output = ini.reconcile(
        m,
        (id) => {
          if (seen.has(id)) return;
          seen.add(id);
          have++;
        },
        (id) => {
          if (seen.has(id)) return;
          seen.add(id);
          need++;
        },
      );
      return { output, have, need };
    };
    if (impl === 'nostr-tools') {
      const res = new nt.Negentropy(ntStorage(nt, data.b), ntLimit);
      respond = (m) => res.reconcile(m) ?? '61';
    } else {
      const res = new NegentropyResponder(new NegentropyStorage(data.b), { frameSizeLimit: limit });
      respond = (m) => res.reconcile(m);
    }
  }
  sample();
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  let msg = initiate();
  let rounds = 0;
  let have = 0;
  let need = 0;
  let maxBytes = 0;
  let bytes = 0;
  for (;;) {
    const reply = respond(msg);
    bytes += msg.length / 2 + reply.length / 2;
    maxBytes = Math.max(maxBytes, msg.length / 2, reply.length / 2);
    const r = step(reply);
    have += r.have;
    need += r.need;
    rounds++;
    if ((rounds & 15) === 0) sample();
    exitIfOrphaned();
    if (r.output === null) break;
    msg = r.output;
  }
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  sample();
  const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => (b.user - a.user + b.system - a.system) / 1000;
  return {
    impl,
    frameSizeLimit: limit,
    buildMs: round(t1 - t0),
    reconcileMs: round(t2 - t1),
    totalMs: round(t2 - t0),
    cpuMs: round(cpu(c0, c2)),
    reconcileCpuMs: round(cpu(c1, c2)),
    rounds,
    have,
    need,
    complete: have === data.onlyA && need === data.onlyB,
    maxMessageBytes: maxBytes,
    bytesExchanged: bytes,
    peakRssMB: round(process.resourceUsage().maxRSS / 1024),
    peakHeapMB: round(peakHeap / 1048576),
  };
}

const round = (x: number): number => Math.round(x * 10) / 10;

// ---- driver -----------------------------------------------------------------------------------

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const perSide = Number(arg('--items') ?? (process.argv.includes('--quick') ? 100_000 : 1_000_000));
  const diff = Number(arg('--diff') ?? 0.01);
  const child = arg('--child');
  if (child !== undefined) {
    const r = await measure(child as Impl, Number(arg('--limit')), perSide, diff);
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const reps = Number(arg('--reps') ?? 3);
  const ntTimeout = Number(arg('--nt-timeout') ?? 240);
  const impls: Impl[] = ['ours', 'nostr-tools'];
  if (process.argv.includes('--mixed')) impls.push('nostr-tools-initiator+our-responder');
  const limits = [60000, 4096, 0];
  const runs: Array<RunResult | { impl: Impl; frameSizeLimit: number; timedOutAfterS: number }> = [];
  const median = (xs: RunResult[]): RunResult => [...xs].sort((x, y) => x.reconcileCpuMs - y.reconcileCpuMs)[xs.length >> 1];
  for (const limit of limits) {
    for (const impl of impls) {
      const got: RunResult[] = [];
      const n = impl === 'ours' ? reps : 1;
      for (let k = 0; k < n; k++) {
        const p = spawnSync(process.execPath, [self, '--child', impl, '--limit', String(limit), '--items', String(perSide), '--diff', String(diff)], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
          timeout: impl === 'ours' ? 0 : ntTimeout * 1000,
        });
        if (p.error && (p.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') break;
        if (p.status !== 0) throw new Error(`${impl} @ ${limit} failed: ${p.stderr}`);
        got.push(JSON.parse(p.stdout) as RunResult);
      }
      if (got.length === 0) {
        runs.push({ impl, frameSizeLimit: limit, timedOutAfterS: ntTimeout });
        process.stderr.write(`${impl.padEnd(36)} limit ${String(limit).padStart(5)}: timed out after ${ntTimeout} s\n`);
        continue;
      }
      const r = median(got);
      runs.push(r);
      process.stderr.write(
        `${impl.padEnd(36)} limit ${String(limit).padStart(5)}: build ${r.buildMs} ms, reconcile ${r.reconcileMs} ms (cpu ${r.reconcileCpuMs}), ${r.rounds} rounds, rss ${r.peakRssMB} MB\n`,
      );
    }
  }
  const ratios: Record<string, { reconcileWall: number; reconcileCpu: number; totalWall: number; totalCpu: number } | string> = {};
  for (const limit of limits) {
    const find = (impl: Impl) => runs.find((r) => r.impl === impl && r.frameSizeLimit === limit);
    const ours = find('ours');
    const nt = find('nostr-tools');
    if (!ours || !('rounds' in ours) || !nt) continue;
    const key = `nostr-tools/ours @ ${limit === 0 ? 'unlimited' : limit}`;
    if ('rounds' in nt) {
      ratios[key] = {
        reconcileWall: round(nt.reconcileMs / ours.reconcileMs),
        reconcileCpu: round(nt.reconcileCpuMs / ours.reconcileCpuMs),
        totalWall: round(nt.totalMs / ours.totalMs),
        totalCpu: round(nt.cpuMs / ours.cpuMs),
      };
    } else ratios[key] = `> ${round((nt.timedOutAfterS * 1000) / ours.totalMs)} (nostr-tools timed out)`;
  }
  const out = {
    bench: 'negentropy',
    itemsPerSide: perSide,
    differing: `${diff * 100} % (half only on each side)`,
    node: process.version,
    runs,
    ratios,
    notes: [
      'build = storage construction on both sides (ours: prefix sums over typed arrays; nostr-tools: insert hex + seal/sort)',
      'reconcile = initiate + all rounds to done, both sides in one process, hex in and out; ours: median of --reps runs by reconcile CPU time',
      'frameSizeLimit 0 = unlimited (nostr-tools: Number.MAX_SAFE_INTEGER, it has no unlimited mode)',
      "nostr-tools' cost under a frame limit is dominated by its O(n) fingerprint of everything after each cut, once per round",
      "nostr-tools' Negentropy has no responder role (answers an IdList with Skip), so nostr-tools↔nostr-tools does not find every difference: see complete/have/need",
    ],
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exit(1);
  });
}
