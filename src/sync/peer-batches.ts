// The batches of one peer: a batch is a unit of historic work (a historic sync of some items, a
// quick-reconnect catch-up, or a fetch by ids) with a deadline that moves with progress, a way to
// fail it (cancelling every wait it is in), and a drain of its events through the write path.
// Must not decide what to sync, retry anything or talk to the socket: callers do.
import type { Clock, TimerHandle } from '../clock.js';
import type { SyncConfig } from '../config/schema.js';
import type { SubHandlers } from './peer-socket.js';
import { deferred, type Semaphore } from './wire.js';

export type BatchKind = 'historic' | 'catchup' | 'fetch';

export interface Batch {
  readonly id: number;
  readonly kind: BatchKind;
  readonly items: readonly string[];
  /** set once: the batch failed (its waits were cancelled with this error) */
  failed?: Error;
  readonly cancels: Set<(e: Error) => void>;
  lastActivity: number;
  deadline?: TimerHandle;
  /** its events still in the write path */
  outstanding: number;
  drained?: () => void;
  /** all requests answered; waiting for the write path to finish its events */
  draining?: boolean;
}

export interface BatchesDeps {
  clock: Clock;
  /** `batchTimeoutSeconds`: a batch without progress for this long fails */
  sync: Pick<SyncConfig, 'batchTimeoutSeconds'>;
}

export class Batches {
  private readonly d: BatchesDeps;
  private readonly open = new Map<number, Batch>();
  private seq = 0;

  constructor(deps: BatchesDeps) {
    this.d = deps;
  }

  /** Batches open now. */
  get size(): number {
    return this.open.size;
  }

  /** Open batches that are historic or catch-up work (status: pending batches). */
  pending(): number {
    let n = 0;
    for (const b of this.open.values()) if (b.kind !== 'fetch') n++;
    return n;
  }

  /** Historic batches still talking to the peer (draining ones do not count). */
  historicRunning(): number {
    let n = 0;
    for (const b of this.open.values()) if (b.kind === 'historic' && b.draining !== true) n++;
    return n;
  }

  create(kind: BatchKind, items: readonly string[]): Batch {
    const b: Batch = { id: ++this.seq, kind, items, cancels: new Set(), lastActivity: this.d.clock.now(), outstanding: 0 };
    this.open.set(b.id, b);
    this.armDeadline(b);
    return b;
  }

  /** Progress: the deadline moves. */
  touch(b: Batch): void {
    b.lastActivity = this.d.clock.now();
  }

  fail(b: Batch, err: Error): void {
    if (b.failed !== undefined) return;
    b.failed = err;
    for (const c of [...b.cancels]) c(err);
  }

  failAll(err: Error): void {
    for (const b of [...this.open.values()]) this.fail(b, err);
  }

  finish(b: Batch): void {
    b.deadline?.cancel();
    this.open.delete(b.id);
  }

  /** Resolves when every event of the batch has been through the write path. */
  async drain(b: Batch): Promise<void> {
    if (b.outstanding === 0) return;
    await new Promise<void>((resolve) => (b.drained = resolve));
  }

  /** Take a slot of `sem`, giving up (throwing) when the batch fails while waiting. */
  async acquire(sem: Semaphore, b: Batch): Promise<void> {
    if (b.failed !== undefined) throw b.failed;
    const d = deferred<void>();
    const cancel = (e: Error): void => d.reject(e);
    b.cancels.add(cancel);
    void sem.acquire().then(() => {
      if (d.settled) sem.release();
      else d.resolve();
    });
    try {
      await d.promise;
    } finally {
      b.cancels.delete(cancel);
    }
  }

  /** Subscription handlers working for `b`: its traffic is progress; a NOTICE naming it fails it. */
  bind(b: Batch, h: Omit<SubHandlers, 'onActivity'>): SubHandlers {
    return {
      ...h,
      onActivity: () => this.touch(b),
      onNotice: (message, namesThis) => {
        h.onNotice?.(message, namesThis);
        if (namesThis) this.fail(b, new Error(`NOTICE: ${message}`));
      },
    };
  }

  private armDeadline(b: Batch): void {
    const ms = this.d.sync.batchTimeoutSeconds * 1000;
    const wait = Math.max(1, b.lastActivity + ms - this.d.clock.now());
    b.deadline = this.d.clock.setTimeout(() => {
      if (b.failed !== undefined || !this.open.has(b.id)) return;
      if (this.d.clock.now() - b.lastActivity >= ms) this.fail(b, new Error(`batch timed out after ${this.d.sync.batchTimeoutSeconds} s without progress`));
      else this.armDeadline(b);
    }, wait);
  }
}
