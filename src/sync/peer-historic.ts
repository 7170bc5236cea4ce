// The historic sync of one connected peer: what to read next (computeActions over wanted −
// pending − confirmed; L1 before repositories and roots, at most 4 batches at once, small batches
// aggregated), each filter by NIP-77 first and REQ paging as the fallback, the quick-reconnect
// catch-up, and retrying failed batches with backoff (health.ts) while rate-limit pauses hold.
// Must not own the connection or its persisted state: peer.ts wires both in.
import type { Clock, TimerHandle } from '../clock.js';
import type { SyncConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Filter } from '../nostr/event.js';
import { computeActions } from './actions.js';
import { itemFilters, itemKind, L1 } from './filters.js';
import { failed, HEALTHY, succeeded, type BackoffPolicy, type Health } from './health.js';
import type { Batch, Batches } from './peer-batches.js';
import type { PeerFetch } from './peer-fetch.js';
import type { PeerNegentropy } from './peer-negentropy.js';
import { mapLimit } from './wire.js';

const MAX_CONCURRENT_BATCHES = 4;
const FILTERS_PER_BATCH = 4;

export interface HistoricStats {
  batches: number;
  failedBatches: number;
}

export interface HistoricDeps {
  url: string;
  sync: SyncConfig;
  clock: Clock;
  log: Logger;
  batches: Batches;
  neg: PeerNegentropy;
  fetch: PeerFetch;
  /** the items this relay should serve from the peer, and its version (changes with it) */
  wanted: () => ReadonlySet<string>;
  wantedVersion: () => number;
  /** items whose history is known complete from this peer (the peer persists them) */
  confirmed: Set<string>;
  /** items in a running historic batch */
  pendingItems: Set<string>;
  /** connected and not stopped: new work may start */
  active: () => boolean;
  /** the connection generation (work from an earlier connection must not confirm items) */
  generation: () => number;
  /** new work waits until then (the peer rate-limited us) */
  pausedUntil: () => number;
  /** bring live subscriptions up to the wanted set (before any history is read) */
  replan: () => void;
  /** confirmed items changed: persist */
  save: () => void;
  /** a batch failed: the error for the status, and when it is retried (undefined: not) */
  batchFailed: (error: string, retryAt: number | undefined) => void;
}

export class HistoricSync {
  readonly stats: HistoricStats = { batches: 0, failedBatches: 0 };
  private readonly d: HistoricDeps;
  private readonly backoffPolicy: BackoffPolicy;
  /** failed historic batches in a row (one backoff per peer, not per item) */
  private backoff: Health = HEALTHY;
  private retryTimer: TimerHandle | undefined;
  private pauseTimer: TimerHandle | undefined;
  private kickQueued = false;
  private catchingUp = false;
  /** the last computeActions result still to be started, and when it must be recomputed */
  private todo = { l1: false, repos: [] as string[], roots: [] as string[], repoPos: 0, rootPos: 0 };
  private todoVersion = -1;
  private todoDirty = true;

  constructor(deps: HistoricDeps) {
    this.d = deps;
    const s = deps.sync;
    this.backoffPolicy = { baseMs: s.backoffBaseSeconds * 1000, maxMs: s.backoffMaxSeconds * 1000, deadAfterMs: Infinity };
  }

  /** A catch-up is running. */
  get busy(): boolean {
    return this.catchingUp;
  }

  /** A failed batch's retry is scheduled. */
  get retryPending(): boolean {
    return this.retryTimer !== undefined;
  }

  /** A new connection: everything is planned afresh and the batch backoff resets. */
  connected(): void {
    this.todoDirty = true;
    this.backoff = succeeded(this.backoff, this.d.clock.now());
  }

  /** Confirmed items were dropped (a full resync): plan again now, without waiting for a retry. */
  resync(): void {
    this.todoDirty = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.kickSoon();
  }

  stop(): void {
    this.retryTimer?.cancel();
    this.pauseTimer?.cancel();
  }

  kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      this.kick();
    });
  }

  /** Start historic sync for wanted − pending − confirmed (the one decision point). */
  private kick(): void {
    if (!this.d.active() || this.catchingUp || this.retryTimer !== undefined) return;
    const now = this.d.clock.now();
    const pausedUntil = this.d.pausedUntil();
    if (now < pausedUntil) {
      this.pauseTimer?.cancel();
      this.pauseTimer = this.d.clock.setTimeout(() => {
        this.pauseTimer = undefined;
        this.kick();
      }, pausedUntil - now);
      return;
    }
    // live subscriptions cover every wanted item before its history is read, so nothing stored
    // on the peer between the historic snapshot and the live REQ can fall through the gap
    this.d.replan();
    // computeActions is O(wanted): run it when the wanted set changed or items came back (a
    // failed batch, a resync); otherwise keep starting what it returned last time, in order
    const v = this.d.wantedVersion();
    if (this.todoDirty || v !== this.todoVersion) {
      const url = this.d.url;
      const fresh =
        computeActions(new Map([[url, this.d.wanted()]]), new Map([[url, this.d.pendingItems]]), new Map([[url, this.d.confirmed]])).get(url) ?? [];
      this.todo = { l1: fresh.includes(L1), repos: [], roots: [], repoPos: 0, rootPos: 0 };
      for (const i of fresh) {
        const k = itemKind(i);
        if (k === 'repo') this.todo.repos.push(i);
        else if (k === 'root') this.todo.roots.push(i);
      }
      this.todoVersion = v;
      this.todoDirty = false;
    }
    const t = this.todo;
    const batches = this.d.batches;
    if (t.l1) {
      t.l1 = false;
      this.startBatch([L1]);
      return;
    }
    if (this.d.pendingItems.has(L1)) return; // L2/L3 after L1's history
    const size = this.d.sync.filterChunk;
    for (const kind of ['repos', 'roots'] as const) {
      const pos = kind === 'repos' ? 'repoPos' : 'rootPos';
      const list = t[kind];
      while (t[pos] < list.length && batches.historicRunning() < MAX_CONCURRENT_BATCHES) {
        const g = list.slice(t[pos], t[pos] + size);
        // partial batches wait for running ones to finish so that small arrivals aggregate
        if (g.length < size && batches.historicRunning() > 0) break;
        t[pos] += g.length;
        this.startBatch(g);
      }
    }
  }

  private startBatch(items: string[]): void {
    const b = this.d.batches.create('historic', items);
    for (const i of items) this.d.pendingItems.add(i);
    this.stats.batches++;
    void this.runBatch(b);
  }

  private async runBatch(b: Batch): Promise<void> {
    const { batches, clock } = this.d;
    const gen = this.d.generation();
    try {
      const filters = itemFilters(b.items, this.d.sync.filterChunk);
      await mapLimit(filters, FILTERS_PER_BATCH, (f) => this.historic(f, b));
      // the network part is done: let the next batch start while the write path catches up
      // (backpressure: the socket pauses when too many submits are outstanding)
      b.draining = true;
      this.kickSoon();
      await batches.drain(b);
      if (b.failed !== undefined) throw b.failed;
      if (gen === this.d.generation()) {
        for (const i of b.items) this.d.confirmed.add(i);
        this.backoff = succeeded(this.backoff, clock.now());
        this.d.save();
      }
    } catch (e) {
      this.stats.failedBatches++;
      this.todoDirty = true;
      const err = e as Error;
      this.d.log.warn({ relay: this.d.url, items: b.items.length, err: err.message }, 'sync batch failed');
      let retryAt: number | undefined;
      if (gen === this.d.generation() && this.d.active()) {
        const now = clock.now();
        this.backoff = failed(this.backoffPolicy, this.backoff, now, err.message);
        retryAt = this.backoff.nextRetryAt;
        this.retryTimer?.cancel();
        this.retryTimer = clock.setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, (retryAt ?? now) - now);
      }
      this.d.batchFailed(err.message, retryAt);
    } finally {
      for (const i of b.items) this.d.pendingItems.delete(i);
      batches.finish(b);
      this.kickSoon();
    }
  }

  /** Quick reconnect: REQ with since for everything confirmed, then historic for what is new. */
  async catchUp(since: number): Promise<void> {
    const { batches } = this.d;
    const gen = this.d.generation();
    this.catchingUp = true;
    const items = [...this.d.confirmed];
    const b = batches.create('catchup', items);
    try {
      const filters = itemFilters(items, this.d.sync.filterChunk);
      await mapLimit(filters, FILTERS_PER_BATCH, (f) => this.d.fetch.reqPaged({ ...f, since }, b));
      await batches.drain(b);
      if (b.failed !== undefined) throw b.failed;
    } catch (e) {
      this.d.log.warn({ relay: this.d.url, err: (e as Error).message }, 'sync catch-up failed; those items get a full historic sync');
      if (gen === this.d.generation()) {
        for (const i of items) this.d.confirmed.delete(i);
        this.todoDirty = true;
        this.d.save();
      }
    } finally {
      batches.finish(b);
      this.catchingUp = false;
      this.kickSoon();
    }
  }

  /** One filter's history: NIP-77 unless the peer lacks it, REQ paging otherwise. */
  private async historic(f: Filter, b: Batch): Promise<void> {
    if (b.failed !== undefined) throw b.failed;
    if (this.d.neg.support !== 'no') {
      const r = await this.d.neg.reconcile(f, b);
      if (r !== 'fallback') {
        await this.d.fetch.fetchIds(r, b);
        return;
      }
    }
    await this.d.fetch.reqPaged(f, b);
  }
}
