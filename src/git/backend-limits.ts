// Admission for serving git processes (git.md §2.2 "Concurrency"): one semaphore of
// `git.maxProcesses` slots with a bounded, time-limited wait queue, and concurrent requests per
// client IP. Pure bookkeeping over an injected clock; the HTTP answers are backend.ts's.
import type { Clock, TimerHandle } from '../clock.js';

interface Waiter {
  resolve(got: boolean): void;
  timer: TimerHandle;
}

/** A counting semaphore whose waiters give up after `waitMs`; a full queue refuses at once. */
export class ProcessSlots {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
    private readonly waitMs: number,
    private readonly clock: Clock,
  ) {}

  get running(): number {
    return this.inUse;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Resolves true with a slot held (give it back with release()), false when the queue is full or
   * the wait timed out. `cancel` (set by the call) withdraws a waiting request: it resolves false.
   */
  acquire(): { got: Promise<boolean>; cancel: () => void } {
    if (this.inUse < this.max) {
      this.inUse++;
      return { got: Promise.resolve(true), cancel: () => {} };
    }
    if (this.waiters.length >= this.maxQueued) return { got: Promise.resolve(false), cancel: () => {} };
    let waiter: Waiter | undefined;
    const got = new Promise<boolean>((resolve) => {
      const w: Waiter = {
        resolve,
        timer: this.clock.setTimeout(() => this.drop(w, false), this.waitMs),
      };
      waiter = w;
      this.waiters.push(w);
    });
    return { got, cancel: () => waiter && this.drop(waiter, false) };
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) {
      next.timer.cancel();
      next.resolve(true); // the slot passes on: inUse unchanged
    } else {
      this.inUse = Math.max(0, this.inUse - 1);
    }
  }

  /** Refuse every waiter (shutdown). */
  rejectAll(): void {
    for (const w of [...this.waiters]) this.drop(w, false);
  }

  private drop(w: Waiter, got: boolean): void {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    w.timer.cancel();
    w.resolve(got);
  }
}

/** Concurrent requests per client IP. */
export class PerIpLimit {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** true and counted, or false when the IP is at its limit */
  enter(ip: string): boolean {
    const n = this.counts.get(ip) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(ip, n + 1);
    return true;
  }

  leave(ip: string): void {
    const n = (this.counts.get(ip) ?? 1) - 1;
    if (n <= 0) this.counts.delete(ip);
    else this.counts.set(ip, n);
  }
}
