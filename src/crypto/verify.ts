// Event verification, the relay's ingest ceiling: id = sha256(NIP-01 serialisation) plus the
// BIP-340 signature, on the fastest backend that loads, on the main thread or a worker pool.
// The main thread always does the shape/id/hex checks (~4 µs); only signatures go to workers.
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
import { Worker } from 'node:worker_threads';
import type { NostrEvent } from '../nostr/event.js';
import {
  loadAutoBackend,
  loadBackend,
  packEvent,
  PACKED_RECORD,
  type SigBackend,
  type VerifyBackendName,
} from './backends.js';
import { computeIdHex, hasEventShape, isPubkeyHex, isSigHex, serializeForId } from './serialize.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './verify-worker.js';

export type { VerifyBackendName };
export { serializeForId };

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
/** Inline budget cap, in ms of main-thread time (a burst after a quiet spell). */
const INLINE_CAP_MS = 1;
/** Only this many queued events may be verified inline; more go to the workers. */
const INLINE_MAX = 4;

/** Events per worker message, at most. */
const BATCH_MAX = 256;
/** Batches a worker may have queued; more events wait on the main thread and form bigger batches. */
const MAX_INFLIGHT = 2;
const BATCH_BYTES = BATCH_MAX * (PACKED_RECORD + 1);
const POOL_MAX = 8;

/**
 * Everything but the signature: shape, id = sha256(serialisation), lowercase-hex pubkey and sig.
 * False for anything malformed; never throws.
 */
export function checkIdAndFormat(event: NostrEvent): boolean {
  try {
    if (!hasEventShape(event)) return false;
    if (!isPubkeyHex(event.pubkey) || !isSigHex(event.sig)) return false;
    return computeIdHex(event) === event.id;
  } catch {
    return false;
  }
}

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

interface Pending {
  event: NostrEvent;
  resolve: (ok: boolean) => void;
}

interface Slot {
  worker: Worker;
  alive: boolean;
  inflight: Map<number, Pending[]>;
}

class PoolVerifier implements Verifier {
  private queue: Pending[] = [];
  private head = 0;
  private scheduled = false;
  private seq = 0;
  private closed = false;
  private readonly bufPool: ArrayBuffer[] = [];
  private drainWaiters: (() => void)[] = [];
  private readonly flushFn = (): void => this.flush();
  private inlineTokens = INLINE_CAP_MS;
  private inlineLast = performance.now();
  degraded?: string;

  constructor(
    private readonly sig: SigBackend,
    private readonly slots: Slot[],
    private readonly inlineShare: number,
    degraded?: string,
  ) {
    this.degraded = degraded;
    for (const slot of slots) {
      slot.worker.on('message', (msg: WorkerReply) => this.onReply(slot, msg));
      slot.worker.on('error', (err: Error) => this.onWorkerDown(slot, `verify worker failed: ${err.message}`));
      slot.worker.on('exit', (code) => this.onWorkerDown(slot, `verify worker exited (code ${code})`));
      // adding listeners refs the worker again; it is ref'd only while it has batches in flight
      slot.worker.unref();
    }
  }

  get backend(): VerifyBackendName {
    return this.sig.name;
  }
  get workers(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  verify(event: NostrEvent): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verifier is closed'));
    if (!checkIdAndFormat(event)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.queue.push({ event, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        // calls made in the same tick share a batch
        queueMicrotask(this.flushFn);
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inlineShare > 0 && this.queue.length - this.head <= INLINE_MAX) this.tryInline();
    while (this.head < this.queue.length) {
      let free = 0;
      let best: Slot | undefined;
      for (const s of this.slots) {
        if (!s.alive || s.inflight.size >= MAX_INFLIGHT) continue;
        free++;
        if (!best || s.inflight.size < best.inflight.size) best = s;
      }
      if (!best) {
        if (this.slots.every((s) => !s.alive)) this.drainOnMainThread();
        break;
      }
      const waiting = this.queue.length - this.head;
      const n = Math.min(BATCH_MAX, Math.ceil(waiting / free));
      const batch = this.queue.slice(this.head, this.head + n);
      this.head += n;
      this.send(best, batch);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.checkDrained();
  }

  /**
   * Low load: when no worker has work, verify here within a token budget (inlineShare of elapsed
   * main-thread time, capped at INLINE_CAP_MS), saving the thread round trip. Under load the
   * budget runs out or the workers are busy, and everything goes to the workers.
   */
  private tryInline(): void {
    for (const s of this.slots) if (s.alive && s.inflight.size > 0) return;
    const now = performance.now();
    this.inlineTokens = Math.min(INLINE_CAP_MS, this.inlineTokens + (now - this.inlineLast) * this.inlineShare);
    this.inlineLast = now;
    while (this.head < this.queue.length && this.inlineTokens > 0) {
      const t0 = performance.now();
      const p = this.queue[this.head++];
      p.resolve(this.sig.verifyEvent(p.event));
      const t1 = performance.now();
      this.inlineTokens -= t1 - t0;
      this.inlineLast = t1;
    }
  }

  private send(slot: Slot, batch: Pending[]): void {
    const seq = ++this.seq;
    if (slot.inflight.size === 0) slot.worker.ref();
    slot.inflight.set(seq, batch);
    if (this.sig.mode === 'raw') {
      const buf = this.bufPool.pop() ?? new ArrayBuffer(BATCH_BYTES);
      const u8 = new Uint8Array(buf);
      for (let i = 0; i < batch.length; i++) packEvent(batch[i].event, u8, i * PACKED_RECORD);
      const req: WorkerRequest = { seq, n: batch.length, buf };
      slot.worker.postMessage(req, [buf]);
    } else {
      const events = batch.map(({ event: e }) => ({
        id: e.id,
        pubkey: e.pubkey,
        created_at: e.created_at,
        kind: e.kind,
        tags: e.tags,
        content: e.content,
        sig: e.sig,
      }));
      const req: WorkerRequest = { seq, events };
      slot.worker.postMessage(req);
    }
  }

  private onReply(slot: Slot, msg: WorkerReply): void {
    if (msg.type !== 'raw' && msg.type !== 'event') return;
    const batch = slot.inflight.get(msg.seq);
    if (!batch) return;
    slot.inflight.delete(msg.seq);
    if (slot.inflight.size === 0) slot.worker.unref();
    if (msg.type === 'raw') {
      const res = new Uint8Array(msg.buf, msg.n * PACKED_RECORD, msg.n);
      for (let i = 0; i < batch.length; i++) batch[i].resolve(res[i] === 1);
      if (msg.buf.byteLength === BATCH_BYTES && this.bufPool.length < POOL_MAX) this.bufPool.push(msg.buf);
    } else {
      for (let i = 0; i < batch.length; i++) batch[i].resolve(msg.res[i] === 1);
    }
    this.flush();
  }

  /** A worker died: finish its batches here and carry on with the others (or the main thread). */
  private onWorkerDown(slot: Slot, why: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    this.degraded ??= why;
    for (const batch of slot.inflight.values()) for (const p of batch) p.resolve(this.sig.verifyEvent(p.event));
    slot.inflight.clear();
    this.flush();
  }

  private drainOnMainThread(): void {
    for (; this.head < this.queue.length; this.head++) {
      const p = this.queue[this.head];
      p.resolve(this.sig.verifyEvent(p.event));
    }
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.head < this.queue.length || this.slots.some((s) => s.inflight.size > 0)) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
    await Promise.all(
      this.slots.map(async (s) => {
        s.alive = false;
        await s.worker.terminate();
      }),
    );
  }
}

/** Flags a worker thread refuses (ERR_WORKER_INVALID_EXEC_ARGV): V8 heap and GC options. */
const V8_PROCESS_FLAG = /^--(max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|max[-_]young[-_]generation[-_]size|expose[-_]gc|stack[-_]size)/;

/**
 * A verifier worker holds no state: packed batches in, booleans out. Its young generation is
 * capped (V8 otherwise grows it to 16 MB semi-spaces under a steady stream of batches and keeps
 * them committed).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 };

function startWorker(backend: VerifyBackendName): Promise<Worker> {
  const init: WorkerInit = { backend };
  // workers inherit execArgv; --input-type (node -e scripts) would make the worker fail to load,
  // and V8 heap flags (node --max-semi-space-size=… bin/grasp-relay.js) make it refuse to start
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type') && !V8_PROCESS_FLAG.test(a));
  const url = new URL('./verify-worker.js', import.meta.url);
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData: init, execArgv, resourceLimits: WORKER_LIMITS });
  } catch (e) {
    // process-wide flags are refused in a worker (Node 24's test runner gives its children every
    // option explicitly, --secure-heap and the like): the worker needs none of them
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    worker = new Worker(url, { workerData: init, execArgv: [], resourceLimits: WORKER_LIMITS });
  }
  return new Promise<Worker>((resolve, reject) => {
    const onMessage = (msg: WorkerReply): void => {
      cleanup();
      if (msg.type === 'ready') {
        worker.unref();
        resolve(worker);
      } else {
        void worker.terminate();
        reject(new Error(msg.type === 'error' ? msg.message : 'verify worker: unexpected first message'));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`verify worker exited during start-up (code ${code})`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
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
