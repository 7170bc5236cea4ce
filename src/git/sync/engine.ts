// The git sync scheduler (git.md §3): GitSync. When and how often each hosted repository is
// checked — hunts for purgatory events (delay, then 20 s → 2 min until they expire), the hourly
// jittered sweep, `resync --git` — at most git.syncConcurrency checks (so fetches) at once, one at
// a time per repository. A check (checkRepo) asks plan.ts what is missing, imports it locally
// from another hosted repository of the identifier first, then fetches from the source URLs in
// order through the RemoteFetcher, politely (remotes.ts), and lands the data under the lock.
import type { Clock, TimerHandle } from '../../clock.js';
import type { GitConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { dTag, type NostrEvent } from '../../nostr/event.js';
import type { HostSpec, Origin } from '../../policy/index.js';
import type { StoreReader } from '../../store/types.js';
import type { HostingView } from '../hosting.js';
import type { Purgatory } from '../../store/purgatory.js';
import { prRepos, type Releaser } from '../release.js';
import type { Repos } from '../repos.js';
import { KIND_PR, KIND_PR_UPDATE, KIND_REPO_STATE, parseState } from '../state.js';
import { repoKey, type RepoId } from '../types.js';
import { checkRepo, type CheckCounters, type CheckOutcome } from './check.js';
import { Remotes } from './remotes.js';
import type { GitSync, GitSyncStatus, RemoteFetcher, ResyncProgress } from './types.js';

/** Hunt retries after the first attempt (git.md §3): 20 s, 40 s, 80 s, then every 2 min. */
export const HUNT_BACKOFF_MS = [20_000, 40_000, 80_000, 120_000] as const;
/** How long close() waits for running checks (real time: a shutdown bound, not scheduling). */
const CLOSE_GRACE_MS = 5_000;
/** A hunted event counts as wanted for this long even if purgatory no longer lists it (released or expired meanwhile). */
const PENDING_MS = 60_000;

export interface GitSyncDeps {
  config: GitConfig;
  /** this service's hosts (service.hosts, parsed): their URLs are never fetched */
  hosts: HostSpec[];
  store: StoreReader;
  view: HostingView;
  repos: Repos;
  purgatory: Pick<Purgatory, 'get' | 'forD'>;
  releaser: Releaser;
  fetcher: RemoteFetcher;
  clock: Clock;
  log: Logger;
  /** the sweep's jitter source in [0, 1) (default Math.random; tests seed it) */
  random?: () => number;
}

interface Task {
  r: RepoId;
  key: string;
  phase: 'idle' | 'queued' | 'running';
  /** another check was asked for while this one runs */
  again: boolean;
  /** hunt retries done (undefined: no hunt active) */
  huntStep: number | undefined;
  /** bumped by every hunt() for this repository: a check that began before it does not end the new hunt */
  huntGen: number;
  timer: TimerHandle | undefined;
  timerAt: number;
  waiters: Array<(o: CheckOutcome) => void>;
}

const NOTHING: CheckOutcome = { missing: false, huntMissing: false, huntUntil: 0 };

export class GitSyncEngine implements GitSync {
  private readonly tasks = new Map<string, Task>();
  private readonly queue: Task[] = [];
  private running = 0;
  /** sweeps listing the hosted repositories now (idle() waits for them) */
  private listing = 0;
  /** identifiers with a check running */
  private readonly busyD = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly pending = new Map<string, { event: NostrEvent; at: number }>();
  private readonly remotes: Remotes;
  private readonly aborts = new Set<AbortController>();
  private readonly counters: CheckCounters = { fetches: { ok: 0, partial: 0, failed: 0, skipped: 0 }, objectsImported: 0, released: 0 };
  private readonly random: () => number;
  private sweepQueue: Array<{ at: number; r: RepoId }> = [];
  private sweepTimer: TimerHandle | undefined;
  private cycleTimer: TimerHandle | undefined;
  private lastSweepAt: number | undefined;
  private nextSweepAt: number | undefined;
  private progress: ResyncProgress | undefined;
  private closed = false;

  constructor(private readonly d: GitSyncDeps) {
    const c = d.config;
    this.random = d.random ?? Math.random;
    this.remotes = new Remotes({
      backoff: { baseMs: c.syncBackoffBaseSeconds * 1000, maxMs: c.syncBackoffMaxSeconds * 1000, deadAfterMs: c.syncDeadAfterHours * 3_600_000 },
      perHostConcurrency: c.syncPerHostConcurrency,
      perHostPerMinute: c.syncPerHostPerMinute,
      now: () => d.clock.now(),
    });
  }

  // ---- hunts -----------------------------------------------------------------------------

  hunt(event: NostrEvent, origin: Origin): void {
    if (this.closed) return;
    const { view } = this.d;
    let targets: RepoId[];
    if (event.kind === KIND_REPO_STATE) {
      if (parseState(event) === undefined) return;
      targets = view.reposOf(dTag(event)).filter((h) => view.maintainers(h).has(event.pubkey));
    } else if (event.kind === KIND_PR || event.kind === KIND_PR_UPDATE) {
      targets = prRepos(event).filter((r) => view.hosted(r.owner, r.d) !== undefined);
    } else return;
    if (targets.length === 0) return;
    const now = this.d.clock.now();
    for (const [id, p] of this.pending) if (now - p.at >= PENDING_MS) this.pending.delete(id);
    this.pending.set(event.id, { event, at: now });
    const c = this.d.config;
    const delay = (origin === 'client' ? c.syncUserEventDelaySeconds : c.syncSyncedEventDelaySeconds) * 1000;
    for (const r of targets) {
      const t = this.task(r);
      t.huntStep = 0; // a new event resets the backoff
      t.huntGen++;
      this.arm(t, delay, true);
    }
  }

  // ---- the sweep ---------------------------------------------------------------------------

  /** Start the hourly sweep: each hosted repository checked once at a random offset within the interval. */
  start(): void {
    if (this.closed || this.cycleTimer !== undefined) return;
    void this.cycle();
  }

  async sweep(): Promise<void> {
    this.lastSweepAt = this.d.clock.now();
    await Promise.all((await this.hostedRepos()).map((r) => this.request(this.task(r))));
  }

  resync(): ResyncProgress {
    if (this.progress !== undefined && !this.progress.finished) return { ...this.progress };
    const p: ResyncProgress = { total: 0, done: 0, aligned: 0, missing: 0, finished: false };
    this.progress = p;
    void (async () => {
      const all = await this.hostedRepos();
      p.total = all.length;
      await Promise.all(
        all.map(async (r) => {
          const o = await this.request(this.task(r));
          p.done++;
          if (o.missing) p.missing++;
          else p.aligned++;
        }),
      );
    })()
      .catch((e: unknown) => this.d.log.error({ err: e }, 'git resync failed'))
      .finally(() => (p.finished = true));
    return { ...p };
  }

  private async cycle(): Promise<void> {
    if (this.closed) return;
    const interval = this.d.config.syncIntervalMinutes * 60_000;
    const t0 = this.d.clock.now();
    this.lastSweepAt = t0;
    this.nextSweepAt = t0 + interval;
    this.cycleTimer = this.d.clock.setTimeout(() => void this.cycle(), interval);
    let list: RepoId[] = [];
    // the listing counts as work in progress: idle() does not resolve between a sweep's start and its checks
    this.listing++;
    try {
      list = await this.hostedRepos();
    } catch (e) {
      this.d.log.error({ err: e }, 'git sync sweep: listing repositories failed');
    } finally {
      this.listing--;
    }
    if (this.closed) return this.pump();
    this.sweepQueue = list.map((r) => ({ at: t0 + Math.floor(this.random() * interval), r })).sort((a, b) => a.at - b.at);
    this.armSweep();
    this.pump();
  }

  private armSweep(): void {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    if (this.closed) return;
    // checks already due start now (not through a 0 ms timer, which an injected clock fires late)
    const now = this.d.clock.now();
    while (this.sweepQueue.length > 0 && this.sweepQueue[0]!.at <= now) void this.request(this.task(this.sweepQueue.shift()!.r));
    const next = this.sweepQueue[0];
    if (next === undefined) return;
    this.sweepTimer = this.d.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      this.armSweep();
    }, next.at - now);
  }

  /** Hosted repositories that take new data (read-write and archived; retired ones are only served). */
  private async hostedRepos(): Promise<RepoId[]> {
    const out: RepoId[] = [];
    for (const r of await this.d.repos.list()) {
      const h = this.d.view.hosted(r.owner, r.d);
      if (h !== undefined && h.hosting !== 'retired') out.push(r);
    }
    return out;
  }

  // ---- status ------------------------------------------------------------------------------

  status(): GitSyncStatus {
    let timers = 0;
    for (const t of this.tasks.values()) if (t.timer !== undefined) timers++;
    const s: GitSyncStatus = {
      enabled: true,
      queued: this.queue.length + timers + this.sweepQueue.length,
      running: this.running,
      fetches: { ...this.counters.fetches },
      objectsImported: this.counters.objectsImported,
      released: this.counters.released,
      remotes: this.remotes.status(),
    };
    if (this.lastSweepAt !== undefined) s.lastSweepAt = this.lastSweepAt;
    if (this.nextSweepAt !== undefined) s.nextSweepAt = this.nextSweepAt;
    if (this.progress !== undefined) s.resync = { ...this.progress };
    return s;
  }

  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0 && this.listing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cycleTimer?.cancel();
    this.sweepTimer?.cancel();
    this.sweepQueue = [];
    for (const t of this.tasks.values()) {
      t.timer?.cancel();
      t.timer = undefined;
    }
    for (const t of this.queue.splice(0)) this.finish(t, NOTHING);
    for (const a of this.aborts) a.abort();
    // a fetcher that does not honour the abort keeps its child until its own timeout: shutdown
    // does not wait for it past a grace period (nothing lands after close, see check.ts)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    if (this.running > 0) this.d.log.warn({ running: this.running }, 'git sync closed with fetches still running');
  }

  // ---- tasks -------------------------------------------------------------------------------

  private task(r: RepoId): Task {
    const key = repoKey(r);
    let t = this.tasks.get(key);
    if (t === undefined) {
      t = { r: { owner: r.owner, d: r.d }, key, phase: 'idle', again: false, huntStep: undefined, huntGen: 0, timer: undefined, timerAt: 0, waiters: [] };
      this.tasks.set(key, t);
    }
    return t;
  }

  /** A timed check of t in `ms`; an earlier timer stays unless `replace`. */
  private arm(t: Task, ms: number, replace = false): void {
    if (this.closed) return;
    const at = this.d.clock.now() + ms;
    if (t.timer !== undefined) {
      if (!replace && t.timerAt <= at) return;
      t.timer.cancel();
    }
    t.timerAt = at;
    t.timer = this.d.clock.setTimeout(() => {
      t.timer = undefined;
      void this.request(t);
    }, ms);
  }

  /** Check t as soon as a slot is free; resolves with the outcome of a check that started after this call. */
  private request(t: Task): Promise<CheckOutcome> {
    if (this.closed) return Promise.resolve(NOTHING);
    const p = new Promise<CheckOutcome>((resolve) => t.waiters.push(resolve));
    if (t.phase === 'running') t.again = true;
    else if (t.phase === 'idle') {
      t.phase = 'queued';
      this.queue.push(t);
      this.pump();
    }
    return p;
  }

  /**
   * Start queued checks up to git.syncConcurrency, one identifier at a time: the repositories of
   * one d (forks) are checked one after the other, so the second imports locally what the first
   * fetched instead of fetching it again.
   */
  private pump(): void {
    while (!this.closed && this.running < this.d.config.syncConcurrency) {
      const i = this.queue.findIndex((q) => !this.busyD.has(q.r.d));
      if (i < 0) break;
      const t = this.queue.splice(i, 1)[0]!;
      t.phase = 'running';
      this.running++;
      this.busyD.add(t.r.d);
      const waiters = t.waiters.splice(0);
      const gen = t.huntGen;
      void this.run(t)
        .then((o) => {
          this.running--;
          this.busyD.delete(t.r.d);
          for (const w of waiters) w(o);
          this.after(t, o, gen !== t.huntGen);
        })
        .finally(() => this.pump());
    }
    if (this.queue.length === 0 && this.running === 0 && this.listing === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(t: Task): Promise<CheckOutcome> {
    try {
      return await checkRepo(t.r, {
        ...this.d,
        remotes: this.remotes,
        counters: this.counters,
        pending: () => this.pendingEvents(),
        closed: () => this.closed,
        abortable: (ac) => {
          this.aborts.add(ac);
          return () => this.aborts.delete(ac);
        },
      });
    } catch (e) {
      this.d.log.warn({ err: e, repo: t.key }, 'git sync check failed');
      return { missing: true, huntMissing: t.huntStep !== undefined, huntUntil: 0 };
    }
  }

  /**
   * After a check: run again if asked meanwhile, retry a blocked host, continue or end the hunt
   * (unless a new event restarted it during the check: its own first attempt stands).
   */
  private after(t: Task, o: CheckOutcome, restarted: boolean): void {
    t.phase = 'idle';
    if (this.closed) return this.finish(t, NOTHING);
    if (t.again) {
      t.again = false;
      t.phase = 'queued';
      this.queue.push(t);
      return;
    }
    const now = this.d.clock.now();
    if (t.huntStep !== undefined && !restarted) {
      if (o.huntMissing && now < o.huntUntil) {
        const ms = HUNT_BACKOFF_MS[Math.min(t.huntStep, HUNT_BACKOFF_MS.length - 1)]!;
        // an earlier timer is a new event's first attempt (hunt() during this check): it stands
        if (t.timer === undefined || t.timerAt > now + ms) {
          this.arm(t, ms, true);
          t.huntStep++;
        }
      } else t.huntStep = undefined;
    }
    if (o.missing && o.blockedUntil !== undefined) this.arm(t, Math.max(1000, o.blockedUntil - now));
    if (t.huntStep === undefined && t.timer === undefined && t.waiters.length === 0) this.tasks.delete(t.key);
  }

  private finish(t: Task, o: CheckOutcome): void {
    t.phase = 'idle';
    for (const w of t.waiters.splice(0)) w(o);
  }

  private pendingEvents(): NostrEvent[] {
    const now = this.d.clock.now();
    const out: NostrEvent[] = [];
    for (const [id, p] of this.pending) {
      if (now - p.at >= PENDING_MS) this.pending.delete(id);
      else out.push(p.event);
    }
    return out;
  }
}
