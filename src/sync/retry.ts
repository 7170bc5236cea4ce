// The bounded retry set: events from sync that the policy rejected because something they depend
// on is not stored yet (full events for minutes, ids for days), plus ids refused outright so they
// are not downloaded again every round. Pure data structure; the engine re-runs ingest.
import { dTag, eventAddress, type NostrEvent } from '../nostr/event.js';

export interface RetryOptions {
  /** full events kept at most */
  maxEvents: number;
  /** ids (waiting or refused) kept at most */
  maxIds: number;
  /** how long a full event is kept */
  fullTtlMs: number;
  /** how long a waiting id is remembered */
  idTtlMs: number;
  /** how long a refused id is remembered (not fetched again) */
  refusedTtlMs: number;
}

export const defaultRetryOptions: RetryOptions = {
  maxEvents: 10_000,
  maxIds: 200_000,
  fullTtlMs: 5 * 60_000,
  idTtlMs: 3 * 24 * 3600_000,
  refusedTtlMs: 24 * 3600_000,
};

interface Entry {
  id: string;
  createdAt: number;
  keys: string[];
  event: NostrEvent | undefined;
  raw: string | undefined;
  relay: string | undefined;
  fullUntil: number;
  until: number;
}

/** What to do for a dependent once its dependency is accepted. */
export interface Dependent {
  id: string;
  /** present while the full event is still held: re-submit it */
  event?: NostrEvent;
  raw?: string;
  /** the relay it came from (fetched again from there by id when only the id is left) */
  relay?: string;
}

const dKey = (d: string): string => `d:${d}`;

export class RetrySet {
  private readonly entries = new Map<string, Entry>(); // insertion order = age
  private readonly byKey = new Map<string, Set<string>>();
  private readonly refused = new Map<string, number>(); // id → until
  private fullCount = 0;
  readonly opts: RetryOptions;

  constructor(opts: Partial<RetryOptions> = {}) {
    this.opts = { ...defaultRetryOptions, ...opts };
  }

  get waitingSize(): number {
    return this.entries.size;
  }
  get fullSize(): number {
    return this.fullCount;
  }
  get refusedSize(): number {
    return this.refused.size;
  }

  /** Keep an event the policy rejected while waiting for `waitingFor` (addresses or ids). */
  addWaiting(event: NostrEvent, raw: string, waitingFor: readonly string[], relay: string | undefined, now: number): void {
    this.remove(event.id);
    const keys = new Set(waitingFor);
    // a maintainer's announcement or a state may depend on any announcement with the same d
    if (event.kind === 30617 || event.kind === 30618) keys.add(dKey(dTag(event)));
    const e: Entry = {
      id: event.id,
      createdAt: event.created_at,
      keys: [...keys],
      event,
      raw,
      relay,
      fullUntil: now + this.opts.fullTtlMs,
      until: now + this.opts.idTtlMs,
    };
    this.entries.set(e.id, e);
    this.fullCount++;
    for (const k of e.keys) {
      let s = this.byKey.get(k);
      if (s === undefined) this.byKey.set(k, (s = new Set()));
      s.add(e.id);
    }
    this.prune(now);
  }

  /** Remember an id the policy refused for good (not worth downloading again soon). */
  addRefused(id: string, now: number): void {
    this.refused.delete(id);
    this.refused.set(id, now + this.opts.refusedTtlMs);
    this.prune(now);
  }

  /** Whether this id is already known here (waiting or refused): do not fetch it again. */
  known(id: string, now: number): boolean {
    const e = this.entries.get(id);
    if (e !== undefined && e.until > now) return true;
    const r = this.refused.get(id);
    return r !== undefined && r > now;
  }

  /** The waiting entries that `accepted` may unblock; they are removed (callers re-run them). */
  dependents(accepted: NostrEvent, now: number): Dependent[] {
    if (this.entries.size === 0) return [];
    const keys = [accepted.id];
    const addr = eventAddress(accepted);
    if (addr !== undefined) keys.push(addr);
    if (accepted.kind === 30617) keys.push(dKey(dTag(accepted)));
    const out: Dependent[] = [];
    for (const k of keys) {
      const ids = this.byKey.get(k);
      if (ids === undefined) continue;
      for (const id of [...ids]) {
        const e = this.entries.get(id);
        if (e === undefined) continue;
        this.remove(id);
        if (e.until <= now) continue;
        const relay = e.relay !== undefined ? { relay: e.relay } : {};
        if (e.event !== undefined && e.raw !== undefined && e.fullUntil > now) out.push({ id, event: e.event, raw: e.raw, ...relay });
        else out.push({ id, ...relay });
      }
    }
    return out;
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    if (e.event !== undefined) this.fullCount--;
    for (const k of e.keys) {
      const s = this.byKey.get(k);
      if (s === undefined) continue;
      s.delete(id);
      if (s.size === 0) this.byKey.delete(k);
    }
  }

  /** Drop expired entries, demote old full events to ids, and enforce the bounds. */
  prune(now: number): void {
    // full events: oldest first (insertion order)
    if (this.fullCount > 0) {
      for (const e of this.entries.values()) {
        if (e.event === undefined) continue;
        if (e.fullUntil > now && this.fullCount <= this.opts.maxEvents) break;
        e.event = undefined;
        e.raw = undefined;
        this.fullCount--;
      }
    }
    for (const e of this.entries.values()) {
      if (e.until > now && this.entries.size + this.refused.size <= this.opts.maxIds) break;
      this.remove(e.id);
    }
    for (const [id, until] of this.refused) {
      if (until > now && this.entries.size + this.refused.size <= this.opts.maxIds) break;
      this.refused.delete(id);
    }
  }
}
