// A manual clock for sync tests: time moves only when advance() is called, and due timers fire
// in time order (timers scheduled by a firing timer fire too if they fall inside the advance).
import type { Clock, TimerHandle } from '../../src/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Pending (not cancelled) timers, soonest first. */
  pending(): Array<{ at: number; inMs: number }> {
    return this.live().map((x) => ({ at: x.at, inMs: x.at - this.t }));
  }

  private live(): Timer[] {
    this.timers = this.timers.filter((x) => !x.cancelled);
    return [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Move time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.live().find((x) => x.at <= end);
      if (next === undefined) break;
      next.cancelled = true;
      if (next.at > this.t) this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
