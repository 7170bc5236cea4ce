// One peer relay's lifecycle: connect with backoff, fresh / quick / stale / daily sync, live
// subscriptions under the budget, historic batches (NIP-77 first, REQ+EOSE paging fallback,
// fetch by ids), rate-limit pauses, NIP-42 AUTH. Decisions on *what* to sync come from
// computeActions; this class only carries them out over one WebSocket.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import WebSocket from 'ws';
import { finalizeEvent } from 'nostr-tools/pure';
import { makeAuthEvent } from 'nostr-tools/nip42';
import type { Clock, TimerHandle } from '../clock.js';
import type { SyncConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { isHex64, type Filter, type NostrEvent } from '../nostr/event.js';
import type { Store } from '../store/types.js';
import { computeActions } from './actions.js';
import { chunk, itemFilters, itemKind, L1 } from './filters.js';
import { LivePlan } from './live.js';
import { Backoff, Health, isRateLimitMessage } from './health.js';
import { negentropySession, type NegSession } from './neg.js';
import type { PeerState as PersistedState, StateStore } from './state.js';
import { nip11Url } from './urls.js';
import { deferred, parseRelayMessage, Semaphore, type RelayMessage } from './wire.js';

export type PeerStatusName = 'idle' | 'connecting' | 'connected' | 'backoff' | 'dead' | 'stopped';
export type SubmitOutcome = 'accepted' | 'duplicate' | 'rejected';

export interface PeerCounters {
  received: number;
  accepted: number;
  rejected: number;
  duplicate: number;
}

export interface PeerStatus extends PeerCounters {
  url: string;
  state: PeerStatusName;
  bootstrap: boolean;
  lastConnectedAt: number | null;
  disconnectedAt: number | null;
  lastFullSyncAt: number | null;
  lastError: string | null;
  nextRetryAt: number | null;
  nip77: 'yes' | 'no' | 'unknown';
  pendingBatches: number;
  pendingItems: number;
  confirmedItems: number;
  repositories: number;
  roots: number;
  liveSubscriptions: number;
  pausedUntil: number | null;
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

type BatchKind = 'historic' | 'catchup' | 'fetch';

interface Batch {
  id: number;
  kind: BatchKind;
  items: string[];
  since?: number;
  failed?: Error;
  cancels: Set<(e: Error) => void>;
  lastActivity: number;
  deadline?: TimerHandle;
  outstanding: number;
  drained?: () => void;
  /** all requests answered; waiting for the write path to finish its events */
  draining?: boolean;
}

interface Sub {
  batch?: Batch;
  onEvent?(event: unknown, raw: string): void;
  onEose?(): void;
  onClosed?(message: string): void;
  onNegMsg?(hex: string): void;
  onNegErr?(message: string): void;
  onNotice?(message: string): void;
}


const NEG_NOTICE = /NEG-|negentropy|unknown|unsupported|not supported/i;
const MAX_CONCURRENT_BATCHES = 4;
const FILTERS_PER_BATCH = 4;
const FETCH_PARALLEL = 4;
/** concurrent NIP-77 sessions per peer (grasp-relay allows 4 by default); lowered when refused */
const NEG_SESSIONS = 4;
const TOO_MANY_SESSIONS = /too many (concurrent )?(nip-77 |negentropy )?sessions/i;
const PAUSE_AT = 2000;
const RESUME_AT = 500;

async function mapLimit<T>(list: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (i < list.length && firstError === undefined) {
      const x = list[i++]!;
      try {
        await fn(x);
      } catch (e) {
        firstError ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, list.length) }, worker));
  if (firstError !== undefined) throw firstError;
}

export class Peer {
  readonly url: string;
  readonly health: Health;
  readonly counters: PeerCounters = { received: 0, accepted: 0, rejected: 0, duplicate: 0 };
  state: PeerStatusName = 'idle';
  nip77: 'yes' | 'no' | 'unknown' = 'unknown';
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
  /** historic syncs started, by mode (tests read these) */
  readonly stats = { fresh: 0, quick: 0, stale: 0, daily: 0, batches: 0, failedBatches: 0, negSessions: 0, negSkippedEmpty: 0, reqPages: 0, fetchReqs: 0, fetchRetries: 0 };

  private readonly d: PeerDeps;
  private ws: WebSocket | undefined;
  private generation = 0;
  private stopped = false;
  private seq = 0;
  private readonly subs = new Map<string, Sub>();
  private live = new LivePlan({ budget: 60, chunk: 100, maxValues: 1000 });
  private readonly batches = new Map<number, Batch>();
  private readonly inflight = new Set<string>();
  /** ids in a fetch REQ right now */
  private readonly requested = new Set<string>();
  private outstanding = 0;
  private paused = false;
  private connectTimer: TimerHandle | undefined;
  private dailyTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private pauseTimer: TimerHandle | undefined;
  private kickQueued = false;
  /** wanted version the live plan was last brought up to (-1: replan) */
  private plannedVersion = -1;
  /** the last computeActions result still to be started, and when it must be recomputed */
  private todo = { l1: false, repos: [] as string[], roots: [] as string[], repoPos: 0, rootPos: 0 };
  private todoVersion = -1;
  private todoDirty = true;
  private replanQueued = false;
  private catchingUp = false;
  private warnedNoNip77 = false;
  private readonly batchBackoff: Backoff;
  private reqSlots = new Semaphore(8);
  private negCapacity = NEG_SESSIONS;
  private negSlots = new Semaphore(NEG_SESSIONS);
  private remote: { maxSubs?: number; maxFilters?: number; maxLimit?: number } = {};
  private maxPageSeen = 0;
  private authChallenge: string | undefined;
  private authOk: Promise<boolean> | undefined;
  private authResolve: ((ok: boolean) => void) | undefined;
  private authEventId: string | undefined;
  private closedWaiter: (() => void) | undefined;

  constructor(deps: PeerDeps) {
    this.d = deps;
    this.url = deps.url;
    const s = deps.sync;
    this.health = new Health({
      baseMs: s.backoffBaseSeconds * 1000,
      maxMs: s.backoffMaxSeconds * 1000,
      deadAfterMs: s.deadAfterHours * 3600_000,
      rateLimitPauseMs: s.rateLimitPauseSeconds * 1000,
    });
    this.batchBackoff = new Backoff(s.backoffBaseSeconds * 1000, s.backoffMaxSeconds * 1000);
    const st = deps.states.load(this.url);
    for (const c of st.confirmed) this.confirmed.add(c);
    this.lastConnected = st.lastConnected;
    this.disconnectedAt = st.disconnectedAt;
    this.lastFullSync = st.lastFullSync;
    if (st.nip77 !== undefined) this.nip77 = st.nip77;
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
    for (const t of [this.connectTimer, this.dailyTimer, this.retryTimer, this.pauseTimer]) t?.cancel();
    const ws = this.ws;
    if (ws !== undefined && this.state === 'connected') {
      this.disconnectedAt = this.now();
      this.save();
    }
    this.failAll(new Error('stopped'));
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => (this.closedWaiter = resolve));
      ws.close();
      const t = setTimeout(() => ws.terminate(), 1000);
      await closed;
      clearTimeout(t);
    }
    this.ws = undefined;
    this.state = 'stopped';
  }

  private connect(): void {
    if (this.stopped) return;
    this.connectTimer = undefined;
    this.state = 'connecting';
    const gen = ++this.generation;
    void this.fetchNip11().finally(() => {
      if (gen === this.generation && !this.stopped) this.openSocket(gen);
    });
  }

  /** NIP-11 limits of the peer (one short request, no pooled keep-alive connection left open). */
  private async fetchNip11(): Promise<void> {
    try {
      const url = nip11Url(this.url);
      const get = url.startsWith('https:') ? httpsGet : httpGet;
      const body = await new Promise<string>((resolve, reject) => {
        const req = get(url, { headers: { Accept: 'application/nostr+json' }, agent: false, timeout: 3000 }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`HTTP ${res.statusCode}`));
            return;
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            if (text.length > 1_000_000) req.destroy(new Error('NIP-11 document too large'));
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('NIP-11 timeout')));
        req.on('error', reject);
      });
      const doc = JSON.parse(body) as { limitation?: Record<string, unknown> };
      const l = doc.limitation ?? {};
      const num = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
      this.remote = { maxSubs: num(l.max_subscriptions), maxFilters: num(l.max_filters), maxLimit: num(l.max_limit) };
    } catch {
      // no NIP-11: defaults apply
    }
  }

  private openSocket(gen: number): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { handshakeTimeout: 10_000, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
    } catch (e) {
      this.onClose(gen, (e as Error).message);
      return;
    }
    this.ws = ws;
    let error: string | undefined;
    ws.on('open', () => this.onOpen(gen));
    ws.on('message', (data: WebSocket.RawData) => {
      if (gen !== this.generation) return;
      this.onMessage(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString('utf8'));
    });
    ws.on('error', (e: Error) => (error = e.message));
    ws.on('close', (code: number) => {
      this.closedWaiter?.();
      this.onClose(gen, error ?? `connection closed (${code})`);
    });
  }

  private onOpen(gen: number): void {
    if (gen !== this.generation || this.stopped) return;
    const now = this.now();
    this.health.success();
    this.state = 'connected';
    this.lastConnectedAt = now;
    this.maxPageSeen = 0;
    const budget = Math.max(2, Math.min(this.d.sync.subscriptionBudget, this.remote.maxSubs ?? Infinity));
    const reserved = Math.max(1, Math.min(10, Math.floor(budget / 3)));
    this.reqSlots = new Semaphore(reserved);
    this.negSlots = new Semaphore(this.negCapacity);
    this.live = new LivePlan({ budget: budget - reserved, chunk: this.d.sync.filterChunk, maxValues: 1000 });
    this.plannedVersion = -1;
    this.todoDirty = true;
    this.batchBackoff.reset();

    const staleMs = this.d.sync.staleMinutes * 60_000;
    let mode: 'fresh' | 'quick' | 'stale';
    if (this.lastConnected === undefined) mode = 'fresh';
    else if (this.disconnectedAt !== undefined && now - this.disconnectedAt <= staleMs) mode = 'quick';
    else mode = 'stale';
    const dailyDue = this.lastFullSync !== undefined && now - this.lastFullSync >= this.d.sync.dailyResyncMaxHours * 3600_000;
    if (mode === 'quick' && dailyDue) mode = 'stale';
    this.lastMode = mode;
    this.stats[mode]++;
    const since = this.disconnectedAt !== undefined ? Math.floor((this.disconnectedAt - staleMs) / 1000) : 0;
    this.log.info({ relay: this.url, mode }, 'sync peer connected');

    this.lastConnected = now;
    this.disconnectedAt = undefined;
    if (mode !== 'quick') this.beginFullSync(now);
    this.save();
    this.scheduleDaily();

    // live first (limit:0, no gap), then catch-up or historic
    this.replan();
    if (mode === 'quick' && this.confirmed.size > 0) void this.catchUp(since);
    else this.kickSoon();
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
      this.stats.daily++;
      this.resync('daily');
    }, Math.max(0, at - this.now()));
  }

  /** Forget what is confirmed and sync everything again (daily timer, operators). */
  resync(reason = 'operator'): void {
    this.log.info({ relay: this.url, reason }, 'sync peer full resync');
    this.beginFullSync(this.now());
    this.todoDirty = true;
    // a relay without NIP-77 is asked again after the daily timer (or an operator's resync)
    if (this.nip77 === 'no') this.nip77 = 'unknown';
    this.warnedNoNip77 = false;
    this.save();
    this.scheduleDaily();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.kickSoon();
  }

  private onClose(gen: number, why: string): void {
    if (gen !== this.generation) return;
    const wasConnected = this.state === 'connected';
    this.ws = undefined;
    this.paused = false;
    this.failAll(new Error(`disconnected: ${why}`));
    this.live.reset();
    this.authChallenge = undefined;
    this.authResolve?.(false);
    this.authOk = undefined;
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
    const delay = this.health.failure(now, why);
    this.state = this.health.dead(now) ? 'dead' : 'backoff';
    this.connectTimer = this.d.clock.setTimeout(() => this.connect(), delay);
  }

  // ---- wire -----------------------------------------------------------------------------------

  private send(msg: unknown[]): void {
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  private onMessage(data: string): void {
    const m = parseRelayMessage(data);
    if (m === undefined) {
      this.log.debug({ relay: this.url, data: data.slice(0, 200) }, 'sync peer sent garbage');
      return;
    }
    this.dispatch(m);
  }

  private dispatch(m: RelayMessage): void {
    switch (m.type) {
      case 'EVENT': {
        const sub = this.subs.get(m.sub);
        if (sub?.batch !== undefined) this.touch(sub.batch);
        if (sub?.onEvent !== undefined) sub.onEvent(m.event, m.raw);
        else if (this.live.open.has(m.sub)) this.handleEvent(m.event, m.raw, undefined);
        return;
      }
      case 'EOSE': {
        const sub = this.subs.get(m.sub);
        if (sub?.batch !== undefined) this.touch(sub.batch);
        sub?.onEose?.();
        return;
      }
      case 'CLOSED': {
        if (isRateLimitMessage(m.message)) this.rateLimited();
        const sub = this.subs.get(m.sub);
        if (sub !== undefined) sub.onClosed?.(m.message);
        else if (this.live.open.has(m.sub)) {
          this.live.dropped(m.sub);
          this.plannedVersion = -1;
          this.log.warn({ relay: this.url, sub: m.sub, message: m.message }, 'sync peer closed a live subscription');
        }
        return;
      }
      case 'NOTICE': {
        this.log.info({ relay: this.url, notice: m.message.slice(0, 300) }, 'sync peer notice');
        if (isRateLimitMessage(m.message)) this.rateLimited();
        for (const [id, sub] of [...this.subs]) {
          sub.onNotice?.(m.message);
          if (sub.batch !== undefined && m.message.includes(id)) this.failBatch(sub.batch, new Error(`NOTICE: ${m.message}`));
        }
        return;
      }
      case 'NEG-MSG': {
        const sub = this.subs.get(m.sub);
        if (sub?.batch !== undefined) this.touch(sub.batch);
        sub?.onNegMsg?.(m.message);
        return;
      }
      case 'NEG-ERR':
        this.subs.get(m.sub)?.onNegErr?.(m.message);
        return;
      case 'AUTH':
        this.answerAuth(m.challenge);
        return;
      case 'OK':
        if (m.id === this.authEventId) {
          this.authResolve?.(m.ok);
          if (!m.ok) this.log.warn({ relay: this.url, message: m.message }, 'sync peer refused our AUTH');
        }
        return;
    }
  }

  private answerAuth(challenge: string): void {
    this.authChallenge = challenge;
    const sk = this.d.secretKey;
    if (sk === undefined) return;
    const ev = finalizeEvent(makeAuthEvent(this.url, challenge), sk);
    this.authEventId = ev.id;
    this.authOk = new Promise<boolean>((resolve) => (this.authResolve = resolve));
    this.send(['AUTH', ev]);
  }

  private rateLimited(): void {
    this.health.rateLimited(this.now());
    this.log.warn({ relay: this.url, until: this.health.pausedUntil }, 'sync peer rate-limited us; pausing new work');
  }

  // ---- events ---------------------------------------------------------------------------------

  private handleEvent(ev: unknown, raw: string, batch: Batch | undefined): void {
    this.counters.received++;
    const e = ev as Partial<NostrEvent>;
    if (!isHex64(e.id) || typeof e.created_at !== 'number') {
      this.counters.rejected++;
      return;
    }
    const id = e.id;
    if (this.inflight.has(id) || this.d.store.has(id)) {
      this.counters.duplicate++;
      return;
    }
    if (this.d.known(id)) {
      this.counters.rejected++;
      return;
    }
    this.inflight.add(id);
    this.outstanding++;
    if (batch !== undefined) batch.outstanding++;
    if (this.outstanding >= PAUSE_AT && !this.paused && this.ws !== undefined) {
      this.paused = true;
      this.ws.pause();
    }
    this.d
      .submit(ev as NostrEvent, raw, this)
      .then(
        (r) => void this.counters[r]++,
        (err: unknown) => {
          this.counters.rejected++;
          this.log.error({ relay: this.url, err }, 'sync submit failed');
        },
      )
      .finally(() => {
        this.inflight.delete(id);
        this.outstanding--;
        if (this.paused && this.outstanding <= RESUME_AT) {
          this.paused = false;
          this.ws?.resume();
        }
        if (batch !== undefined && --batch.outstanding === 0) batch.drained?.();
      });
  }

  // ---- live subscriptions ---------------------------------------------------------------------

  /** The wanted set changed: update live subscriptions and start historic sync for what is new. */
  wantedChanged(): void {
    if (this.state !== 'connected') return;
    if (!this.replanQueued) {
      this.replanQueued = true;
      setImmediate(() => {
        this.replanQueued = false;
        this.replan();
      });
    }
    this.kickSoon();
  }

  /** Bring live subscriptions up to the wanted set (incremental: usually one REQ or none). */
  private replan(): void {
    if (this.state !== 'connected' || this.stopped) return;
    const v = this.d.wantedVersion();
    if (v === this.plannedVersion) return;
    this.plannedVersion = v;
    const { send, close } = this.live.update(this.d.wanted());
    for (const [id, filters] of send) this.send(['REQ', id, ...filters]);
    for (const id of close) this.send(['CLOSE', id]);
  }

  get liveCount(): number {
    return this.live.open.size;
  }

  // ---- historic batches -----------------------------------------------------------------------

  private kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      this.kick();
    });
  }

  /** Start historic sync for wanted − pending − confirmed (the one decision point). */
  private kick(): void {
    if (this.stopped || this.state !== 'connected' || this.catchingUp || this.retryTimer !== undefined) return;
    const now = this.now();
    if (this.health.paused(now)) {
      this.pauseTimer?.cancel();
      this.pauseTimer = this.d.clock.setTimeout(() => {
        this.pauseTimer = undefined;
        this.kick();
      }, this.health.pausedUntil - now);
      return;
    }
    // live subscriptions cover every wanted item before its history is read, so nothing stored
    // on the peer between the historic snapshot and the live REQ can fall through the gap
    this.replan();
    // computeActions is O(wanted): run it when the wanted set changed or items came back (a
    // failed batch, a resync); otherwise keep starting what it returned last time, in order
    const v = this.d.wantedVersion();
    if (this.todoDirty || v !== this.todoVersion) {
      const url = this.url;
      const fresh =
        computeActions(new Map([[url, this.d.wanted()]]), new Map([[url, this.pendingItems]]), new Map([[url, this.confirmed]])).get(url) ?? [];
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
    if (t.l1) {
      t.l1 = false;
      this.startBatch('historic', [L1]);
      return;
    }
    if (this.pendingItems.has(L1)) return; // L2/L3 after L1's history
    const size = this.d.sync.filterChunk;
    for (const kind of ['repos', 'roots'] as const) {
      const pos = kind === 'repos' ? 'repoPos' : 'rootPos';
      const list = t[kind];
      while (t[pos] < list.length && this.historicBatches() < MAX_CONCURRENT_BATCHES) {
        const g = list.slice(t[pos], t[pos] + size);
        // partial batches wait for running ones to finish so that small arrivals aggregate
        if (g.length < size && this.historicBatches() > 0) break;
        t[pos] += g.length;
        this.startBatch('historic', g);
      }
    }
  }

  private historicBatches(): number {
    let n = 0;
    for (const b of this.batches.values()) if (b.kind === 'historic' && b.draining !== true) n++;
    return n;
  }

  private newBatch(kind: BatchKind, items: string[]): Batch {
    const b: Batch = { id: ++this.seq, kind, items, cancels: new Set(), lastActivity: this.now(), outstanding: 0 };
    this.batches.set(b.id, b);
    this.armDeadline(b);
    return b;
  }

  private armDeadline(b: Batch): void {
    const ms = this.d.sync.batchTimeoutSeconds * 1000;
    const wait = Math.max(1, b.lastActivity + ms - this.now());
    b.deadline = this.d.clock.setTimeout(() => {
      if (b.failed !== undefined || !this.batches.has(b.id)) return;
      if (this.now() - b.lastActivity >= ms) this.failBatch(b, new Error(`batch timed out after ${this.d.sync.batchTimeoutSeconds} s without progress`));
      else this.armDeadline(b);
    }, wait);
  }

  private touch(b: Batch): void {
    b.lastActivity = this.now();
  }

  private failBatch(b: Batch, err: Error): void {
    if (b.failed !== undefined) return;
    b.failed = err;
    for (const c of [...b.cancels]) c(err);
  }

  private failAll(err: Error): void {
    for (const b of [...this.batches.values()]) this.failBatch(b, err);
    for (const sub of [...this.subs.values()]) sub.onClosed?.(`error: ${err.message}`);
    this.subs.clear();
  }

  private finishBatch(b: Batch): void {
    b.deadline?.cancel();
    this.batches.delete(b.id);
  }

  private async drain(b: Batch): Promise<void> {
    if (b.outstanding === 0) return;
    await new Promise<void>((resolve) => (b.drained = resolve));
  }

  private startBatch(kind: 'historic', items: string[]): void {
    const b = this.newBatch(kind, items);
    for (const i of items) this.pendingItems.add(i);
    this.stats.batches++;
    void this.runBatch(b);
  }

  private async runBatch(b: Batch): Promise<void> {
    const gen = this.generation;
    try {
      const filters = itemFilters(b.items, this.d.sync.filterChunk);
      await mapLimit(filters, FILTERS_PER_BATCH, (f) => this.historic(f, b));
      // the network part is done: let the next batch start while the write path catches up
      // (backpressure: the socket pauses when too many submits are outstanding)
      b.draining = true;
      this.kickSoon();
      await this.drain(b);
      if (b.failed !== undefined) throw b.failed;
      if (gen === this.generation) {
        for (const i of b.items) this.confirmed.add(i);
        this.batchBackoff.reset();
        this.save();
      }
    } catch (e) {
      this.stats.failedBatches++;
      this.todoDirty = true;
      const err = e as Error;
      this.health.lastError = err.message;
      this.log.warn({ relay: this.url, items: b.items.length, err: err.message }, 'sync batch failed');
      if (gen === this.generation && this.state === 'connected' && !this.stopped) {
        const delay = this.batchBackoff.next();
        this.retryTimer?.cancel();
        this.retryTimer = this.d.clock.setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay);
        this.health.nextRetryAt = this.now() + delay;
      }
    } finally {
      for (const i of b.items) this.pendingItems.delete(i);
      this.finishBatch(b);
      this.kickSoon();
    }
  }

  /** Quick reconnect: REQ with since for everything confirmed, then historic for what is new. */
  private async catchUp(since: number): Promise<void> {
    const gen = this.generation;
    this.catchingUp = true;
    const items = [...this.confirmed];
    const b = this.newBatch('catchup', items);
    b.since = since;
    try {
      const filters = itemFilters(items, this.d.sync.filterChunk);
      await mapLimit(filters, FILTERS_PER_BATCH, (f) => this.reqPaged({ ...f, since }, b));
      await this.drain(b);
      if (b.failed !== undefined) throw b.failed;
    } catch (e) {
      this.log.warn({ relay: this.url, err: (e as Error).message }, 'sync catch-up failed; those items get a full historic sync');
      if (gen === this.generation) {
        for (const i of items) this.confirmed.delete(i);
        this.todoDirty = true;
        this.save();
      }
    } finally {
      this.finishBatch(b);
      this.catchingUp = false;
      this.kickSoon();
    }
  }

  /** Fetch these ids again (a waiting event's dependency arrived after the event was dropped). */
  refetch(ids: string[]): void {
    if (this.state !== 'connected' || ids.length === 0) return;
    const b = this.newBatch('fetch', []);
    void this.fetchIds(ids, b)
      .catch((e: unknown) => this.log.debug({ relay: this.url, err: (e as Error).message }, 'sync refetch failed'))
      .finally(() => this.finishBatch(b));
  }

  private async historic(f: Filter, b: Batch): Promise<void> {
    if (b.failed !== undefined) throw b.failed;
    if (this.nip77 !== 'no') {
      const r = await this.negSync(f, b);
      if (r !== 'fallback') {
        await this.fetchIds(r, b);
        return;
      }
    }
    await this.reqPaged(f, b);
  }

  private markNoNip77(why: string): void {
    if (this.nip77 !== 'no') {
      this.nip77 = 'no';
      this.save();
    }
    if (!this.warnedNoNip77) {
      this.warnedNoNip77 = true;
      this.log.warn({ relay: this.url, why }, 'sync peer does not support NIP-77; using REQ+EOSE until the next daily resync');
    }
  }

  /** Take a slot of `sem`, giving up (throwing) when the batch fails while waiting. */
  private async acquire(sem: Semaphore, b: Batch): Promise<void> {
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

  /** NIP-77 reconcile of one filter: the ids the peer has and we need, or 'fallback'. */
  private async negSync(filter: Filter, b: Batch): Promise<string[] | 'fallback'> {
    const items = this.d.store.negentropyItems(filter, this.d.negMaxItems ?? 1_000_000);
    if (items === 'too-many') return 'fallback';
    // Nothing held locally for this filter: NIP-77 would report every id as needed and cost two
    // extra round trips (reconcile, then fetch by id) over a plain REQ. Same result, cheaper
    // (events already refused or waiting are dropped on arrival without touching the write path).
    if (items.count === 0) {
      this.stats.negSkippedEmpty++;
      return 'fallback';
    }
    const slots = this.negSlots;
    await this.acquire(slots, b);
    const id = `n${++this.seq}`;
    const done = deferred<string[] | 'fallback'>();
    let timer: TimerHandle | undefined;
    try {
      if (b.failed !== undefined) throw b.failed;
      let session: NegSession;
      try {
        session = negentropySession(items, this.d.frameSizeLimit ?? 0);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'NIP-77 unavailable locally');
        return 'fallback';
      }
      this.stats.negSessions++;
      let answered = false;
      const need: string[] = [];
      const unsupported = (why: string): void => {
        if (done.settled) return;
        this.markNoNip77(why);
        done.resolve('fallback');
      };
      const cancel = (e: Error): void => done.reject(e);
      b.cancels.add(cancel);
      this.subs.set(id, {
        batch: b,
        onNegMsg: (hex) => {
          if (done.settled) return;
          answered = true;
          let r: { output: string | null; need: string[] };
          try {
            r = session.reconcile(hex);
          } catch (e) {
            // a message we cannot reconcile: REQ for this filter rather than failing the batch
            this.send(['NEG-CLOSE', id]);
            this.log.warn({ relay: this.url, err: (e as Error).message }, 'unusable NEG-MSG from peer; REQ for this filter');
            done.resolve('fallback');
            return;
          }
          if (this.nip77 !== 'yes') {
            this.nip77 = 'yes';
            this.save();
          }
          for (const n of r.need) need.push(n);
          if (r.output === null) {
            this.send(['NEG-CLOSE', id]);
            done.resolve(need);
          } else this.send(['NEG-MSG', id, r.output]);
        },
        onNegErr: (msg) => {
          if (done.settled) return;
          if (!answered && TOO_MANY_SESSIONS.test(msg) && this.negCapacity > 1) {
            // the peer allows fewer sessions than we use: use one fewer from now on
            this.negCapacity--;
            slots.setCapacity(-1);
            this.log.info({ relay: this.url, sessions: this.negCapacity }, 'sync peer allows fewer NIP-77 sessions; lowering ours');
          }
          if (!answered && !msg.startsWith('blocked:')) unsupported(`NEG-ERR ${msg}`);
          else {
            this.log.info({ relay: this.url, msg }, 'NIP-77 session refused; REQ for this filter');
            done.resolve('fallback');
          }
        },
        onClosed: (msg) => {
          if (msg.startsWith('error: disconnected') || msg.startsWith('error: stopped')) done.reject(new Error(msg));
          else if (!answered) unsupported(`CLOSED ${msg}`);
          else done.resolve('fallback');
        },
        onNotice: (msg) => {
          if (!answered && NEG_NOTICE.test(msg)) unsupported(`NOTICE ${msg}`);
        },
      });
      timer = this.d.clock.setTimeout(() => {
        if (!answered) unsupported('no answer to NEG-OPEN');
      }, this.d.sync.negentropyTimeoutSeconds * 1000);
      this.send(['NEG-OPEN', id, filter, session.initiate()]);
      const r = await done.promise;
      b.cancels.delete(cancel);
      return r;
    } finally {
      timer?.cancel();
      this.subs.delete(id);
      slots.release();
    }
  }

  /** Fetch ids in chunks; an id counts as received when its event arrives (any policy outcome). */
  private async fetchIds(ids: readonly string[], b: Batch): Promise<void> {
    // Skip ids another filter is already fetching (a comment matches #e and #E; a status #a and
    // #e) or that arrived and are on their way through the write path. If that other fetch
    // fails, its batch fails and is retried, and its filter covers these ids again.
    let missing = ids.filter((id) => !this.requested.has(id) && !this.inflight.has(id) && !this.d.store.has(id) && !this.d.known(id));
    while (missing.length > 0) {
      const want = new Set(missing);
      await mapLimit(chunk(missing, this.d.sync.fetchChunk), FETCH_PARALLEL, async (c) => {
        for (const id of c) this.requested.add(id);
        this.stats.fetchReqs++;
        try {
          await this.reqOnce([{ ids: c }], b, (id) => want.delete(id));
        } finally {
          for (const id of c) this.requested.delete(id);
        }
      });
      if (want.size === missing.length) {
        this.log.warn({ relay: this.url, missing: want.size }, 'sync peer did not send ids it listed; giving up on them this round');
        return;
      }
      missing = [...want];
      this.stats.fetchRetries++;
    }
  }

  /** REQ+EOSE history of one filter, paging backwards with until = oldest seen. */
  private async reqPaged(filter: Filter, b: Batch): Promise<void> {
    const seen = new Set<string>();
    let until = filter.until;
    for (;;) {
      const f: Filter = { ...filter };
      if (until !== undefined) f.until = until;
      let page = 0;
      let fresh = 0;
      let oldest = Infinity;
      this.stats.reqPages++;
      const r = await this.reqOnce([f], b, (id, createdAt) => {
        page++;
        if (createdAt < oldest) oldest = createdAt;
        if (!seen.has(id)) {
          seen.add(id);
          fresh++;
        }
      });
      if (r === 'refused') return;
      this.maxPageSeen = Math.max(this.maxPageSeen, page);
      const apparent = this.remote.maxLimit ?? this.maxPageSeen;
      if (page === 0 || page < apparent || !Number.isFinite(oldest)) return;
      until = fresh === 0 ? oldest - 1 : oldest;
      if (filter.since !== undefined && until < filter.since) return;
    }
  }

  /** One REQ until EOSE. Resolves 'refused' when the relay requires AUTH we cannot give. */
  private async reqOnce(filters: Filter[], b: Batch, onEvent?: (id: string, createdAt: number) => void): Promise<'eose' | 'refused'> {
    const slots = this.reqSlots;
    await this.acquire(slots, b);
    const id = `r${++this.seq}`;
    const done = deferred<'eose' | 'refused'>();
    const cancel = (e: Error): void => done.reject(e);
    let closedByRelay = false;
    try {
      if (b.failed !== undefined) throw b.failed;
      b.cancels.add(cancel);
      let authRetried = false;
      this.subs.set(id, {
        batch: b,
        onEvent: (ev, raw) => {
          const e = ev as { id?: unknown; created_at?: unknown };
          if (onEvent !== undefined && typeof e.id === 'string' && typeof e.created_at === 'number') onEvent(e.id, e.created_at);
          this.handleEvent(ev, raw, b);
        },
        onEose: () => done.resolve('eose'),
        onClosed: (msg) => {
          closedByRelay = true;
          if (msg.startsWith('auth-required:')) {
            if (this.d.secretKey !== undefined && this.authOk !== undefined && !authRetried) {
              authRetried = true;
              void this.authOk.then((ok) => {
                if (ok && !done.settled) {
                  closedByRelay = false;
                  this.send(['REQ', id, ...filters]);
                } else done.resolve('refused');
              });
              return;
            }
            this.log.info({ relay: this.url, msg }, 'sync peer requires AUTH for a filter; treated as refused');
            done.resolve('refused');
            return;
          }
          done.reject(new Error(`CLOSED ${msg}`));
        },
      });
      this.send(['REQ', id, ...filters]);
      return await done.promise;
    } finally {
      b.cancels.delete(cancel);
      this.subs.delete(id);
      if (!closedByRelay) this.send(['CLOSE', id]);
      slots.release();
    }
  }

  /** Connected, no batch or catch-up running, and everything wanted is confirmed. */
  get idle(): boolean {
    if (this.state !== 'connected' || this.batches.size > 0 || this.catchingUp) return false;
    for (const i of this.d.wanted()) if (!this.confirmed.has(i)) return false;
    return true;
  }

  // ---- status ---------------------------------------------------------------------------------

  status(): PeerStatus {
    const wanted = this.d.wanted();
    const repositories = this.d.repoCount();
    const roots = Math.max(0, wanted.size - repositories - (wanted.has(L1) ? 1 : 0));
    const n = (v: number | undefined): number | null => (v === undefined ? null : v);
    return {
      url: this.url,
      state: this.state,
      bootstrap: this.d.bootstrap,
      lastConnectedAt: n(this.lastConnectedAt),
      disconnectedAt: n(this.disconnectedAt),
      lastFullSyncAt: n(this.lastFullSync),
      lastError: this.health.lastError ?? null,
      nextRetryAt: this.state === 'connected' ? (this.retryTimer !== undefined ? n(this.health.nextRetryAt) : null) : n(this.health.nextRetryAt),
      nip77: this.nip77,
      ...this.counters,
      pendingBatches: [...this.batches.values()].filter((b) => b.kind !== 'fetch').length,
      pendingItems: this.pendingItems.size,
      confirmedItems: this.confirmed.size,
      repositories,
      roots,
      liveSubscriptions: this.live.open.size,
      pausedUntil: this.health.paused(this.now()) ? this.health.pausedUntil : null,
    };
  }
}
