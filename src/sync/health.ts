// Relay health: reconnect backoff (base doubling to a cap, dead after a day of failures → once a
// day), rate-limit pauses, and the classification of rate-limit wording. Time comes from callers.

export interface HealthConfig {
  baseMs: number;
  maxMs: number;
  deadAfterMs: number;
  rateLimitPauseMs: number;
}

export const DAY_MS = 24 * 3600 * 1000;

export class Health {
  failures = 0;
  firstFailureAt: number | undefined;
  nextRetryAt: number | undefined;
  pausedUntil = 0;
  lastError: string | undefined;

  constructor(private readonly cfg: HealthConfig) {}

  /** Record a failed connect (or a lost connection); returns the delay before the next try. */
  failure(now: number, error: string): number {
    this.lastError = error;
    this.failures++;
    this.firstFailureAt ??= now;
    let delay: number;
    if (this.dead(now)) delay = DAY_MS;
    else delay = Math.min(this.cfg.maxMs, this.cfg.baseMs * 2 ** Math.min(this.failures - 1, 40));
    this.nextRetryAt = now + delay;
    return delay;
  }

  /** A connect succeeded: backoff resets. */
  success(): void {
    this.failures = 0;
    this.firstFailureAt = undefined;
    this.nextRetryAt = undefined;
  }

  /** Failing for `deadAfterMs` without a success. */
  dead(now: number): boolean {
    return this.firstFailureAt !== undefined && now - this.firstFailureAt >= this.cfg.deadAfterMs;
  }

  rateLimited(now: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, now + this.cfg.rateLimitPauseMs);
  }

  paused(now: number): boolean {
    return now < this.pausedUntil;
  }
}

const RATE_LIMIT = /rate-limited:|rate limit|slow down|too many/i;

/** Whether a NOTICE / CLOSED / OK message says the relay is rate limiting us. */
export function isRateLimitMessage(msg: string): boolean {
  return RATE_LIMIT.test(msg);
}

/** A simple doubling backoff (failed historic batches): base, 2 base, … capped. */
export class Backoff {
  attempts = 0;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}
  next(): number {
    const d = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempts, 40));
    this.attempts++;
    return d;
  }
  reset(): void {
    this.attempts = 0;
  }
}
