// The verifier's worker pool: signatures checked on worker threads in packed batches (shape and
// id on the main thread first), a small inline budget so one event in flight skips the thread
// hop, workers that die replaced by the main thread, and starting a worker safely under any
// execArgv. Which backend and how many workers is verify.ts's (with the measurements).
import { Worker } from 'node:worker_threads';
import type { NostrEvent } from '../nostr/event.js';
import { packEvent, PACKED_RECORD, type SigBackend, type VerifyBackendName } from './backends.js';
import { checkIdAndFormat } from './serialize.js';
import type { Verifier } from './verify.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './verify-worker.js';

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

interface Pending {
  event: NostrEvent;
  resolve: (ok: boolean) => void;
}

interface Slot {
  worker: Worker;
  alive: boolean;
  inflight: Map<number, Pending[]>;
}

export class PoolVerifier implements Verifier {
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

export function startWorker(backend: VerifyBackendName): Promise<Worker> {
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
