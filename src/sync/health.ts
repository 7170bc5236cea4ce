// The one health and backoff model for everything that syncs from a remote: a Nostr peer relay
// (peer.ts keeps one per relay URL, plus one per peer for failed historic batches) and git sync
// (one per remote URL). Plain data and pure functions: time is passed in by callers, who read it
// from their injected clock. Must not hold timers, sockets or protocol knowledge (what counts as
// a failure or a rate limit is the caller's to decide).

export const DAY_MS = 24 * 3600 * 1000;

/** How a remote is retried after failures. */
export interface BackoffPolicy {
  /** delay after the first failure; doubles per further failure */
  baseMs: number;
  /** the doubling stops here */
  maxMs: number;
  /** failing this long without a success makes a remote dead: tried once a day (Infinity: never) */
  deadAfterMs: number;
}

/** One remote's health (JSON-safe plain data; replace it with what the functions return). */
export interface Health {
  /** failures since the last success */
  readonly failures: number;
  /** when the current run of failures began */
  readonly firstFailureAt: number | undefined;
  /** when the last try (success or failure) was recorded */
  readonly lastTryAt: number | undefined;
  /** when the next try is due (undefined: no failure pending) */
  readonly nextRetryAt: number | undefined;
  /** the last error seen (kept after a success, for operators) */
  readonly lastError: string | undefined;
  /** new work waits until then (rate limited) */
  readonly pausedUntil: number;
}

export const HEALTHY: Health = {
  failures: 0,
  firstFailureAt: undefined,
  lastTryAt: undefined,
  nextRetryAt: undefined,
  lastError: undefined,
  pausedUntil: 0,
};

/** The delay after the n-th failure in a row (n ≥ 1): base, 2 base, 4 base, … capped. */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 40));
}

/** Failing for `deadAfterMs` without a success. */
export function isDead(policy: BackoffPolicy, h: Health, now: number): boolean {
  return h.firstFailureAt !== undefined && now - h.firstFailureAt >= policy.deadAfterMs;
}

/** A try failed: one more failure, next try after the backoff delay (a day once dead). */
export function failed(policy: BackoffPolicy, h: Health, now: number, error: string): Health {
  const next: Health = { ...h, failures: h.failures + 1, firstFailureAt: h.firstFailureAt ?? now, lastTryAt: now, lastError: error };
  const delay = isDead(policy, next, now) ? DAY_MS : backoffDelay(policy, next.failures);
  return { ...next, nextRetryAt: now + delay };
}

/** A try succeeded: the backoff resets (the last error stays visible). */
export function succeeded(h: Health, now: number): Health {
  return { ...h, failures: 0, firstFailureAt: undefined, lastTryAt: now, nextRetryAt: undefined };
}

/** How long until the next try is due (0 when due now or nothing is pending). */
export function retryDelay(h: Health, now: number): number {
  return h.nextRetryAt === undefined ? 0 : Math.max(0, h.nextRetryAt - now);
}

/** The remote asked us to slow down: pause new work for `pauseMs` (never shortens a pause). */
export function rateLimited(h: Health, now: number, pauseMs: number): Health {
  return { ...h, pausedUntil: Math.max(h.pausedUntil, now + pauseMs) };
}

export function isPaused(h: Health, now: number): boolean {
  return now < h.pausedUntil;
}
