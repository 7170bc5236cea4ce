// Event verification, the relay's ingest ceiling: id = sha256(NIP-01 serialisation) plus the
// BIP-340 signature, on the fastest backend that loads, on the main thread or a worker pool.
// The main thread always does the shape/id/hex checks (~4 µs); only signatures go to workers
// (the pool is verify-pool.ts).
//
// Measured 2026-11-26 on this 2-core EPYC VM (other sessions share it, so runs waited for a
// quiet spell), 20,000 generated notes (2,000 for nostr-wasm), best of 3 interleaved rounds:
//   node dist/bench/verify.js --backends bcrypto-native,nostr-wasm --slow-n 2000 --latency-n 1000 --rounds 3
// (load average 1.8 → 1.7). "idle" = events/s with all in flight, "+30 µs" = with 30 µs of spun
// main-thread work per event (ingest's parse, LMDB write, OK), CPU = µs per event on the main
// thread / on the workers, latency = p50 µs with one event in flight, back to back / paced 400 µs.
//
//   backend         workers  idle ev/s  +30 µs ev/s  main CPU  worker CPU  latency  paced
//   bcrypto-native  0           17,685      11,516       56.3       -         55.2    56.6
//   bcrypto-native  1           19,302      19,586        5.8      51.6      118.3    57.4
//   bcrypto-native  1 no inline 19,324      19,668        6.0      51.9      120.9   132.4
//   bcrypto-native  2           34,124      22,054        5.6      52.2       91.1    57.4
//   nostr-wasm      0            3,512       3,165      283.6       -        280.1   282.5
//   nostr-wasm      1            3,431       3,485        6.6     294.0      382.9   331.2
//   nostr-wasm      2            6,159       5,921        6.7     303.7      387.0   383.1
// The slow backends, from a run under load ~14 (`--rounds 2 --slow-n 1000 --latency-n 1000`;
// CPU per event does not depend on the load): bcrypto-js 1,006 µs/event (~1k/s per thread),
// noble 1,678 µs/event (~590/s per thread; 1,089/s modelled with 2 workers).
// The CPU figures predict the wall clock: modelled (bench/verify.ts modelRate) 19,380 / 34,602
// ev/s idle and 19,380 / 22,779 at +30 µs for 1 / 2 workers. A bare bcrypto verify loop runs
// 20,380/s on one thread, 38,328/s on two.
//
// Default ('auto' workers) = cores − 1, max 3 → 1 here. With 1 worker the main thread keeps a
// whole core (6 µs/event of verify overhead instead of 56) and ingest tops out at the worker's
// ~18–20k/s, above strfry's ~10.4k/s. A second worker only pays while the main thread does less
// than ~50 µs of other work per event (+13 % measured at 30 µs, +0 % modelled at 60 µs) and competes with
// the main thread (REQs, fan-out) and LMDB's write thread for the 2 cores, so it is opt-in.
// One event in flight costs ~60 µs more through a worker (waking an idle thread); the inline
// budget (below) removes that when the client leaves time between events (paced column).
// Fed one event per macrotask instead of 64, the main thread's share rises only to ~8 µs/event:
// while a worker has 2 batches queued, later events wait and leave as one bigger batch.
// GRASP_VERIFY_WORKERS=2 (or createVerifier({ workers: 2 })) tries the second worker.
import { availableParallelism } from 'node:os';
import type { NostrEvent } from '../nostr/event.js';
import { loadAutoBackend, loadBackend, type SigBackend, type VerifyBackendName } from './backends.js';
import { checkIdAndFormat, serializeForId } from './serialize.js';
import { PoolVerifier, startWorker } from './verify-pool.js';

export type { VerifyBackendName };
export { checkIdAndFormat, serializeForId };

export interface Verifier {
  /** logged at start-up, shown in NIP-11/status */
  readonly backend: VerifyBackendName;
  /** 0 = main thread */
  readonly workers: number;
  /** Set when fewer workers run than were asked for (they failed to start or died): why. */
  readonly degraded?: string;
  /**
   * true iff event.id === sha256(NIP-01 serialisation) AND the BIP-340 signature over the id is
   * valid for pubkey. Never throws on bad input (malformed hex, wrong lengths → false).
   * Rejects only when called after close().
   */
  verify(event: NostrEvent): Promise<boolean>;
  /** Waits for verifications in flight, then stops the workers. */
  close(): Promise<void>;
}

export interface VerifierOptions {
  backend?: 'auto' | VerifyBackendName;
  /** worker threads for signature checks; 'auto' = the measured best for this machine */
  workers?: number | 'auto';
  /**
   * With workers: the share of main-thread time that may go to verifying inline while every
   * worker is idle, so one event in flight skips the thread hop (~60 µs here). Default 0.25;
   * 0 = always use the workers.
   */
  inlineShare?: number;
}

/**
 * A client with one event in flight leaves ~0.5–1 ms between events (strfry: ~1,100 events/s at
 * one in flight), so a 55 µs inline verify is 5–11 % of main-thread time; 25 % leaves headroom.
 */
const DEFAULT_INLINE_SHARE = 0.25;


/**
 * The default worker count for 'auto': one core stays with the main thread (parse, LMDB, fan-out,
 * REQs), the others verify, at most 3 (a main thread doing ≥ 30 µs of other work per event cannot
 * feed more than ~2 workers at ~20k verifications/s each). 0 on a single core. The same for every
 * backend: the slower ones gain even more from leaving the main thread.
 */
export function autoWorkers(_backend?: VerifyBackendName, cpus: number = availableParallelism()): number {
  return Math.max(0, Math.min(3, cpus - 1));
}

class MainThreadVerifier implements Verifier {
  readonly workers = 0;
  private closed = false;
  constructor(
    private readonly sig: SigBackend,
    readonly degraded?: string,
  ) {}
  get backend(): VerifyBackendName {
    return this.sig.name;
  }
  verify(event: NostrEvent): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verifier is closed'));
    return Promise.resolve(checkIdAndFormat(event) && this.sig.verifyEvent(event));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Options not given explicitly may come from the environment, so operators and benches can
 * compare settings without a config change: GRASP_VERIFY_BACKEND (auto | a backend name) and
 * GRASP_VERIFY_WORKERS (auto | a count).
 */
function fromEnv(opts: VerifierOptions): VerifierOptions {
  const backend = process.env.GRASP_VERIFY_BACKEND;
  const workers = process.env.GRASP_VERIFY_WORKERS;
  return {
    ...opts,
    backend: opts.backend ?? (backend ? (backend as VerifyBackendName | 'auto') : undefined),
    workers: opts.workers ?? (workers ? (workers === 'auto' ? 'auto' : Number(workers)) : undefined),
  };
}

/**
 * Load the backend ('auto': bcrypto native → nostr-wasm → noble) and start the workers. If the
 * workers cannot start, verification runs on the main thread (`workers` then reads 0).
 */
export async function createVerifier(options: VerifierOptions = {}): Promise<Verifier> {
  const opts = fromEnv(options);
  const want = opts.backend ?? 'auto';
  const sig = want === 'auto' ? (await loadAutoBackend()).backend : await loadBackend(want);
  const nWorkers = opts.workers === undefined || opts.workers === 'auto' ? autoWorkers(sig.name) : opts.workers;
  if (!Number.isInteger(nWorkers) || nWorkers < 0) throw new Error(`workers must be a non-negative integer, got ${nWorkers}`);
  const inlineShare = opts.inlineShare ?? DEFAULT_INLINE_SHARE;
  if (!(inlineShare >= 0 && inlineShare <= 1)) throw new Error(`inlineShare must be within [0, 1], got ${inlineShare}`);
  if (nWorkers === 0) return new MainThreadVerifier(sig);
  const started = await Promise.allSettled(Array.from({ length: nWorkers }, () => startWorker(sig.name)));
  const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const degraded = failed ? `verify worker failed to start: ${String(failed.reason instanceof Error ? failed.reason.message : failed.reason)}` : undefined;
  if (workers.length === 0) return new MainThreadVerifier(sig, degraded);
  return new PoolVerifier(
    sig,
    workers.map((worker) => ({ worker, alive: true, inflight: new Map() })),
    inlineShare,
    degraded,
  );
}
