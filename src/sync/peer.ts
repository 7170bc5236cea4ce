// One peer relay's lifecycle, wiring its parts: connect with backoff (health.ts), classify each
// connect as fresh / quick / stale, split the subscription budget, the daily full resync,
// persisted state and the operator's status. The parts own the rest: peer-socket.ts (connection,
// AUTH, message routing), peer-live.ts (live subscriptions), peer-intake.ts (events into the write
// path), peer-batches.ts (batches, deadlines), peer-historic.ts (what to read next, retries),
// peer-negentropy.ts (NIP-77 sessions), peer-fetch.ts (REQ paging, fetch by ids). Must not talk
// the protocol itself nor decide *what* to sync (computeActions does, in peer-historic.ts).
import type { Clock, TimerHandle } from '../clock.js';
import type { SyncConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NostrEvent } from '../nostr/event.js';
import type { Store } from '../store/types.js';
import { L1 } from './filters.js';
import { failed, HEALTHY, isDead, isPaused, rateLimited, retryDelay, succeeded, type BackoffPolicy, type Health } from './health.js';
import { Batches } from './peer-batches.js';
import { PeerFetch, type FetchStats } from './peer-fetch.js';
import { HistoricSync, type HistoricStats } from './peer-historic.js';
import { Intake, type PeerCounters, type SubmitOutcome } from './peer-intake.js';
import { PeerLive } from './peer-live.js';
import { PeerNegentropy, type NegentropyStats, type Nip77Support } from './peer-negentropy.js';
import { PeerSocket } from './peer-socket.js';
import type { PeerState as PersistedState, StateStore } from './state.js';

export type { PeerCounters, SubmitOutcome };
export type PeerStatusName = 'idle' | 'connecting' | 'connected' | 'backoff' | 'dead' | 'stopped';

export interface PeerStatus extends PeerCounters {
  url: string;
  state: PeerStatusName;
  bootstrap: boolean;
  lastConnectedAt: number | null;
  disconnectedAt: number | null;
  lastFullSyncAt: number | null;
  lastError: string | null;
  nextRetryAt: number | null;
  nip77: Nip77Support;
  pendingBatches: number;
  pendingItems: number;
  confirmedItems: number;
  repositories: number;
  roots: number;
  liveSubscriptions: number;
  pausedUntil: number | null;
}

/** Connects by mode and the daily timer (this file), and the work of the parts (tests read these). */
export interface PeerStats extends HistoricStats, NegentropyStats, FetchStats {
  fresh: number;
  quick: number;
  stale: number;
  daily: number;
}

export interface PeerDeps {
  url: string;
  sync: SyncConfig;
  clock: Clock;
  log: Logger;
  store: Store;
  states: StateStore;
  bootstrap: boolean;
  /** the items this relay should serve (L1, repository addresses, root ids), live */
  wanted: () => ReadonlySet<string>;
  /** how many repositories `wanted()` holds (the rest is L1 and roots) */
  repoCount: () => number;
  /** changes whenever `wanted()` changes */
  wantedVersion: () => number;
  /** run one received event through the write path (origin sync) with retry bookkeeping */
  submit: (event: NostrEvent, raw: string, peer: Peer) => Promise<SubmitOutcome>;
  /** ids already refused or waiting in the retry set: never fetched again */
  known: (id: string) => boolean;
  secretKey?: Uint8Array;
  random?: () => number;
  /** NIP-77 frame size limit of our messages (0 = none) */
  frameSizeLimit?: number;
  /** largest local set for a NIP-77 session before falling back to REQ */
  negMaxItems?: number;
}

export class Peer {
  readonly url: string;
  state: PeerStatusName = 'idle';
  /** items whose history is known complete from this relay */
  readonly confirmed = new Set<string>();
  readonly pendingItems = new Set<string>();
  /** set when a full (fresh, stale or daily) historic sync round completes its L1 */
  lastFullSync: number | undefined;
  lastConnected: number | undefined;
  disconnectedAt: number | undefined;
  lastConnectedAt: number | undefined;
  /** how the last connect was classified (tests and status read it) */
  lastMode: 'fresh' | 'quick' | 'stale' | undefined;

  private readonly d: PeerDeps;
  private readonly policy: BackoffPolicy;
  private h: Health = HEALTHY;
  private readonly modes = { fresh: 0, quick: 0, stale: 0, daily: 0 };
  private readonly socket: PeerSocket;
  private readonly intake: Intake;
  private readonly batches: Batches;
  private readonly neg: PeerNegentropy;
  private readonly fetch: PeerFetch;
  private readonly historic: HistoricSync;
  private readonly live: PeerLive;
  private stopped = false;
  private connectTimer: TimerHandle | undefined;
  private dailyTimer: TimerHandle | undefined;

  constructor(deps: PeerDeps) {
    this.d = deps;
    this.url = deps.url;
    const s = deps.sync;
    this.policy = { baseMs: s.backoffBaseSeconds * 1000, maxMs: s.backoffMaxSeconds * 1000, deadAfterMs: s.deadAfterHours * 3600_000 };
    const st = deps.states.load(this.url);
    for (const c of st.confirmed) this.confirmed.add(c);
    this.lastConnected = st.lastConnected;
    this.disconnectedAt = st.disconnectedAt;
    this.lastFullSync = st.lastFullSync;

    // what every part is told: which peer, the clock, the log, the sync settings
    const base = { url: deps.url, clock: deps.clock, log: deps.log, sync: s };
    const { store, wanted, wantedVersion, known } = deps;
    const has = (id: string): boolean => store.has(id);
    const active = (): boolean => this.state === 'connected' && !this.stopped;
    this.socket = new PeerSocket({
      ...base,
      ...(deps.secretKey !== undefined ? { secretKey: deps.secretKey } : {}),
      hooks: {
        opened: () => this.opened(),
        closed: (why) => this.closed(why),
        otherEvent: (sub, ev, raw) => {
          if (this.live.owns(sub)) this.intake.receive(ev, raw, undefined);
        },
        otherClosed: (sub, message) => this.live.closedByPeer(sub, message),
        rateLimited: () => this.rateLimited(),
      },
    });
    const socket = this.socket;
    this.live = new PeerLive({ ...base, send: (msg) => socket.send(msg), wanted, wantedVersion, active });
    this.intake = new Intake({
      ...base,
      has,
      known,
      submit: (ev, raw) => deps.submit(ev, raw, this),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    });
    const batches = (this.batches = new Batches(base));
    this.neg = new PeerNegentropy({
      ...base,
      store,
      socket,
      batches,
      support: st.nip77 ?? 'unknown',
      changed: () => this.save(),
      ...(deps.frameSizeLimit !== undefined ? { frameSizeLimit: deps.frameSizeLimit } : {}),
      ...(deps.negMaxItems !== undefined ? { negMaxItems: deps.negMaxItems } : {}),
    });
    this.fetch = new PeerFetch({ ...base, socket, batches, intake: this.intake, has, known });
    this.historic = new HistoricSync({
      ...base,
      batches,
      neg: this.neg,
      fetch: this.fetch,
      wanted,
      wantedVersion,
      confirmed: this.confirmed,
      pendingItems: this.pendingItems,
      active,
      generation: () => socket.generation,
      pausedUntil: () => this.h.pausedUntil,
      replan: () => this.live.replan(),
      save: () => this.save(),
      // the status shows a failed batch's error and, while connected, when it is retried
      batchFailed: (error, retryAt) => (this.h = { ...this.h, lastError: error, nextRetryAt: retryAt ?? this.h.nextRetryAt }),
    });
  }

  /** Connection health: failures, backoff, last error, rate-limit pause (plain data). */
  get health(): Health {
    return this.h;
  }

  get counters(): PeerCounters {
    return this.intake.counters;
  }

  get nip77(): Nip77Support {
    return this.neg.support;
  }

  get stats(): PeerStats {
    return { ...this.modes, ...this.historic.stats, ...this.neg.stats, ...this.fetch.stats };
  }

  private get log(): Logger {
    return this.d.log;
  }
  private now(): number {
    return this.d.clock.now();
  }

  private persisted(): PersistedState {
    const s: PersistedState = { confirmed: [...this.confirmed] };
    if (this.lastConnected !== undefined) s.lastConnected = this.lastConnected;
    if (this.disconnectedAt !== undefined) s.disconnectedAt = this.disconnectedAt;
    if (this.lastFullSync !== undefined) s.lastFullSync = this.lastFullSync;
    if (this.nip77 !== 'unknown') s.nip77 = this.nip77;
    return s;
  }
  private save(): void {
    this.d.states.save(this.url, () => this.persisted());
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.connectTimer?.cancel();
    this.dailyTimer?.cancel();
    this.historic.stop();
    if (this.state === 'connected') {
      this.disconnectedAt = this.now();
      this.save();
    }
    this.failAll(new Error('stopped'));
    await this.socket.close();
    this.state = 'stopped';
  }

  private connect(): void {
    if (this.stopped) return;
    this.connectTimer = undefined;
    this.state = 'connecting';
    this.socket.connect();
  }

  private opened(): void {
    const now = this.now();
    this.h = succeeded(this.h, now);
    this.state = 'connected';
    this.lastConnectedAt = now;
    const budget = Math.max(2, Math.min(this.d.sync.subscriptionBudget, this.socket.remote.maxSubs ?? Infinity));
    const reserved = Math.max(1, Math.min(10, Math.floor(budget / 3)));
    this.fetch.connected(reserved);
    this.neg.connected();
    this.live.connected(budget - reserved, this.d.sync.filterChunk);
    this.historic.connected();

    const staleMs = this.d.sync.staleMinutes * 60_000;
    let mode: 'fresh' | 'quick' | 'stale';
    if (this.lastConnected === undefined) mode = 'fresh';
    else if (this.disconnectedAt !== undefined && now - this.disconnectedAt <= staleMs) mode = 'quick';
    else mode = 'stale';
    const dailyDue = this.lastFullSync !== undefined && now - this.lastFullSync >= this.d.sync.dailyResyncMaxHours * 3600_000;
    if (mode === 'quick' && dailyDue) mode = 'stale';
    this.lastMode = mode;
    this.modes[mode]++;
    const since = this.disconnectedAt !== undefined ? Math.floor((this.disconnectedAt - staleMs) / 1000) : 0;
    this.log.info({ relay: this.url, mode }, 'sync peer connected');

    this.lastConnected = now;
    this.disconnectedAt = undefined;
    if (mode !== 'quick') this.beginFullSync(now);
    this.save();
    this.scheduleDaily();

    // live first (limit:0, no gap), then catch-up or historic
    this.live.replan();
    if (mode === 'quick' && this.confirmed.size > 0) void this.historic.catchUp(since);
    else this.historic.kickSoon();
  }

  /** Clear confirmed state: everything wanted gets a fresh historic sync. */
  private beginFullSync(now: number): void {
    this.confirmed.clear();
    this.lastFullSync = now;
  }

  private scheduleDaily(): void {
    this.dailyTimer?.cancel();
    if (this.lastFullSync === undefined) return;
    const { dailyResyncMinHours: min, dailyResyncMaxHours: max } = this.d.sync;
    const r = (this.d.random ?? Math.random)();
    const at = this.lastFullSync + (min + r * Math.max(0, max - min)) * 3600_000;
    this.dailyTimer = this.d.clock.setTimeout(() => {
      this.dailyTimer = undefined;
      this.modes.daily++;
      this.resync('daily');
    }, Math.max(0, at - this.now()));
  }

  /** Forget what is confirmed and sync everything again (daily timer, operators). */
  resync(reason = 'operator'): void {
    this.log.info({ relay: this.url, reason }, 'sync peer full resync');
    this.beginFullSync(this.now());
    this.neg.askAgain();
    this.save();
    this.scheduleDaily();
    this.historic.resync();
  }

  /** Fetch these ids again (a waiting event's dependency arrived after the event was dropped). */
  refetch(ids: string[]): void {
    if (this.state !== 'connected' || ids.length === 0) return;
    const b = this.batches.create('fetch', []);
    void this.fetch
      .fetchIds(ids, b)
      .catch((e: unknown) => this.log.debug({ relay: this.url, err: (e as Error).message }, 'sync refetch failed'))
      .finally(() => this.batches.finish(b));
  }

  private closed(why: string): void {
    const wasConnected = this.state === 'connected';
    this.failAll(new Error(`disconnected: ${why}`));
    this.live.reset();
    if (this.stopped) {
      this.state = 'stopped';
      return;
    }
    const now = this.now();
    if (wasConnected) {
      this.disconnectedAt = now;
      this.save();
      this.log.warn({ relay: this.url, why }, 'sync peer disconnected');
    }
    this.h = failed(this.policy, this.h, now, why);
    this.state = isDead(this.policy, this.h, now) ? 'dead' : 'backoff';
    this.connectTimer = this.d.clock.setTimeout(() => this.connect(), retryDelay(this.h, now));
  }

  /** Every batch fails with `err`, then every open subscription hears it ended. */
  private failAll(err: Error): void {
    this.batches.failAll(err);
    this.socket.failSubs(err);
  }

  private rateLimited(): void {
    this.h = rateLimited(this.h, this.now(), this.d.sync.rateLimitPauseSeconds * 1000);
    this.log.warn({ relay: this.url, until: this.h.pausedUntil }, 'sync peer rate-limited us; pausing new work');
  }

  // ---- live subscriptions and status ---------------------------------------------------------

  /** The wanted set changed: update live subscriptions and start historic sync for what is new. */
  wantedChanged(): void {
    if (this.state !== 'connected') return;
    this.live.replanSoon();
    this.historic.kickSoon();
  }

  get liveCount(): number {
    return this.live.count;
  }

  /** Connected, no batch or catch-up running, and everything wanted is confirmed. */
  get idle(): boolean {
    if (this.state !== 'connected' || this.batches.size > 0 || this.historic.busy) return false;
    for (const i of this.d.wanted()) if (!this.confirmed.has(i)) return false;
    return true;
  }

  status(): PeerStatus {
    const wanted = this.d.wanted();
    const repositories = this.d.repoCount();
    const roots = Math.max(0, wanted.size - repositories - (wanted.has(L1) ? 1 : 0));
    const n = (v: number | undefined): number | null => (v === undefined ? null : v);
    const h = this.h;
    return {
      url: this.url,
      state: this.state,
      bootstrap: this.d.bootstrap,
      lastConnectedAt: n(this.lastConnectedAt),
      disconnectedAt: n(this.disconnectedAt),
      lastFullSyncAt: n(this.lastFullSync),
      lastError: h.lastError ?? null,
      // while connected, the next retry is a failed batch's (if one is scheduled)
      nextRetryAt: this.state === 'connected' ? (this.historic.retryPending ? n(h.nextRetryAt) : null) : n(h.nextRetryAt),
      nip77: this.nip77,
      ...this.counters,
      pendingBatches: this.batches.pending(),
      pendingItems: this.pendingItems.size,
      confirmedItems: this.confirmed.size,
      repositories,
      roots,
      liveSubscriptions: this.live.count,
      pausedUntil: isPaused(h, this.now()) ? h.pausedUntil : null,
    };
  }
}
