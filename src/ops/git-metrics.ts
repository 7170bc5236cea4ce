// Prometheus series of the git half (registered only when git.enabled): requests by service and
// outcome, body bytes, request durations, pushes, refused pushes by reason code, releases by kind,
// purgatory sizes, git process / queue gauges and the repositories on disk; with git sync on, its
// fetches by outcome, imports, releases, work gauges, remote URLs by state and the failing URLs.
// Counters are read at scrape time from the GitService; only the duration histogram is fed as
// requests end. Every label comes from a closed set (services, backend outcomes, RefusalCode, event
// kinds, fetch outcomes, FetchErrorClass) except `url`, which is bounded (MAX_URL_SERIES).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GitSyncStatus } from '../git/sync/types.js';
import { REMOTE_STATES, countRemotes, remoteState, sortRemotes } from './git-sync.js';
import type { GitPurgatoryCounts } from './status.js';

/** Most remote URLs with their own series (only failing and dead ones; failing first, soonest retry first). */
export const MAX_URL_SERIES = 100;
/** Longest `url` label value (longer ones are cut, ending in …). */
const MAX_URL_LABEL = 200;

/** What the git series read; installOps builds it from RelayHandle.git and the store's purgatory. */
export interface GitMetricsSource {
  stats(): { running: number; queued: number; requests: Readonly<Record<string, number>>; bytesIn: number; bytesOut: number };
  readonly counters: {
    readonly releases: Readonly<Record<string, number>>;
    readonly refusedPushes: Readonly<Partial<Record<string, number>>>;
    readonly pushes: number;
  };
  purgatory(): GitPurgatoryCounts;
  /** repositories on disk with a hosted announcement and their total size (may be cached) */
  repositories(): Promise<{ count: number; bytes: number }>;
  /** called when an admitted git request ends (GitBackend.onRequestDone) */
  onRequestDone(listener: (service: string, outcome: string, seconds: number) => void): () => void;
  /** git sync's status (GitService.sync); absent when git sync is off, and so are its series */
  syncStatus?(): GitSyncStatus;
}

/** Register the git series; returns the unhook of the duration listener. */
export function registerGitMetrics(git: GitMetricsSource, registers: Registry[]): () => void {
  new Counter({
    name: 'grasp_relay_git_requests_total',
    help: 'Git smart-HTTP requests by service (info-refs, upload-pack, receive-pack) and outcome (ok, refused, busy, rate_limited, timeout, aborted, too_large, bad_request, not_found, git_error, …).',
    labelNames: ['service', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of Object.entries(git.stats().requests)) {
        const i = key.indexOf(':');
        this.inc({ service: key.slice(0, i), outcome: key.slice(i + 1) }, n);
      }
    },
  });
  new Counter({
    name: 'grasp_relay_git_bytes_total',
    help: 'Git request and response body bytes, by direction (in: request bodies after gzip decoding, out: responses).',
    labelNames: ['direction'],
    registers,
    collect() {
      const s = git.stats();
      this.reset();
      this.inc({ direction: 'in' }, s.bytesIn);
      this.inc({ direction: 'out' }, s.bytesOut);
    },
  });
  const duration = new Histogram({
    name: 'grasp_relay_git_request_duration_seconds',
    help: 'Time from admission to the last byte of a git request (queue wait included), by service, in seconds.',
    labelNames: ['service'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  new Counter({
    name: 'grasp_relay_git_pushes_total',
    help: 'Pushes authorised and applied (receive-pack ran and refs were aligned).',
    registers,
    collect() {
      this.reset();
      this.inc(git.counters.pushes);
    },
  });
  new Counter({
    name: 'grasp_relay_git_pushes_refused_total',
    help: 'Pushes refused before git ran, by reason code: no-state, state-mismatch, stale, missing-object, namespace, nostr-ref, read-only.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(git.counters.refusedPushes)) if (n !== undefined) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'grasp_relay_git_released_total',
    help: 'Events released from purgatory into the store, by event kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(git.counters.releases)) this.inc({ kind }, n);
    },
  });

  // one purgatory count per scrape, shared by the purgatory gauges (the gauges of one scrape are
  // collected in the same turn; the next scrape counts afresh — a time-based cache served stale
  // counts to a scrape right after a change)
  let cached: GitPurgatoryCounts | undefined;
  const counts = (): GitPurgatoryCounts => {
    if (cached === undefined) {
      cached = git.purgatory();
      setImmediate(() => (cached = undefined));
    }
    return cached;
  };
  new Gauge({
    name: 'grasp_relay_git_purgatory_events',
    help: 'Events held in purgatory waiting for their git data, by event kind (dormant announcements not included).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(counts().byKind)) this.set({ kind }, n);
    },
  });
  const scalar = (name: string, help: string, value: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  };
  scalar('grasp_relay_git_purgatory_dormant', 'Announcements in purgatory that went dormant (no push within git.dormantHours).', () => counts().dormant);
  scalar('grasp_relay_git_purgatory_expired', 'Ids expired from purgatory and still remembered (sync does not fetch them again for git.expiredRetryHours).', () => counts().expired);
  scalar('grasp_relay_git_nostr_ref_placeholders', 'refs/nostr/<id> refs pushed before their PR event arrived (removed after git.nostrRefTtlMinutes).', () => counts().nostrRefs);
  scalar('grasp_relay_git_processes', 'git processes running (at most git.maxProcesses).', () => git.stats().running);
  scalar('grasp_relay_git_queued', 'git requests waiting for a process slot (at most git.maxQueued).', () => git.stats().queued);

  // one listing per scrape, shared by both gauges; a failed listing leaves them out of that scrape
  type Listing = { count: number; bytes: number } | undefined;
  let repos: Promise<Listing> | undefined;
  const repositories = (): Promise<Listing> =>
    (repos ??= git
      .repositories()
      .catch((): Listing => undefined)
      .finally(() => setImmediate(() => (repos = undefined))));
  new Gauge({
    name: 'grasp_relay_git_repositories',
    help: 'Git repositories on disk with a hosted announcement (purgatory ones included).',
    registers,
    async collect() {
      this.reset();
      const l = await repositories();
      if (l !== undefined) this.set(l.count);
    },
  });
  new Gauge({
    name: 'grasp_relay_git_repositories_bytes',
    help: 'Total size of the hosted git repositories on disk in bytes.',
    registers,
    async collect() {
      this.reset();
      const l = await repositories();
      if (l !== undefined) this.set(l.bytes);
    },
  });

  if (git.syncStatus !== undefined) registerGitSyncMetrics(git.syncStatus.bind(git), registers);
  return git.onRequestDone((service, _outcome, seconds) => duration.observe({ service }, seconds));
}

const FETCH_OUTCOMES = ['ok', 'partial', 'failed', 'skipped'] as const;

/** Git sync's series, read from one status() per scrape. */
export function registerGitSyncMetrics(syncStatus: () => GitSyncStatus, registers: Registry[]): void {
  let cached: GitSyncStatus | undefined;
  const status = (): GitSyncStatus => {
    if (cached === undefined) {
      cached = syncStatus();
      setImmediate(() => (cached = undefined));
    }
    return cached;
  };
  new Counter({
    name: 'grasp_relay_git_sync_fetches_total',
    help: 'Git sync fetches from remote URLs by outcome: ok (every wanted object arrived), partial, failed, skipped (backoff, quota, no source).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const f = status().fetches;
      for (const o of FETCH_OUTCOMES) this.inc({ outcome: o }, f[o]);
    },
  });
  new Counter({
    name: 'grasp_relay_git_sync_objects_imported_total',
    help: 'Git objects git sync imported into hosted repositories (wanted ids delivered).',
    registers,
    collect() {
      this.reset();
      this.inc(status().objectsImported);
    },
  });
  new Counter({
    name: 'grasp_relay_git_sync_released_total',
    help: 'Events released from purgatory because git sync brought their git data.',
    registers,
    collect() {
      this.reset();
      this.inc(status().released);
    },
  });
  const scalar = (name: string, help: string, value: (s: GitSyncStatus) => number | undefined): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const v = value(status());
        if (v !== undefined) this.set(v);
      },
    });
  };
  scalar('grasp_relay_git_sync_queued', 'Git sync work items waiting (hunts, sweep checks, resync).', (s) => s.queued);
  scalar('grasp_relay_git_sync_running', 'Git sync fetches running now (at most git.syncConcurrency).', (s) => s.running);
  scalar('grasp_relay_git_sync_last_sweep_timestamp_seconds', 'When the last git sync sweep began (unix seconds); absent before the first.', (s) =>
    s.lastSweepAt === undefined ? undefined : s.lastSweepAt / 1000,
  );
  new Gauge({
    name: 'grasp_relay_git_sync_remotes',
    help: 'Remote git URLs git sync remembers, by state: ok, failing (the last try failed), dead (failing for git.syncDeadAfterHours, tried once a day).',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      const by = countRemotes(status().remotes);
      for (const st of REMOTE_STATES) this.set({ state: st }, by[st]);
    },
  });
  // bounded: only failing and dead URLs, at most MAX_URL_SERIES of them, the label cut to MAX_URL_LABEL
  const failing = () =>
    sortRemotes(status().remotes)
      .filter((r) => remoteState(r) !== 'ok')
      .slice(0, MAX_URL_SERIES);
  const urlLabel = (url: string) => (url.length > MAX_URL_LABEL ? url.slice(0, MAX_URL_LABEL - 1) + '…' : url);
  const bound = `Only failing and dead URLs have a series, at most ${MAX_URL_SERIES} (failing first, soonest retry first; grasp_relay_git_sync_remotes counts all)`;
  new Gauge({
    name: 'grasp_relay_git_sync_remote_failing',
    help: `1 for a remote git URL whose last fetch failed, labelled with its error class (bad-url, forbidden-address, dns, tls, refused, http, not-found, timeout, too-large, protocol, git) and state (failing, dead). ${bound}.`,
    labelNames: ['url', 'class', 'state'],
    registers,
    collect() {
      this.reset();
      for (const r of failing()) this.set({ url: urlLabel(r.url), class: r.lastErrorClass ?? 'git', state: remoteState(r) }, 1);
    },
  });
  new Gauge({
    name: 'grasp_relay_git_sync_remote_next_try_timestamp_seconds',
    help: `When git sync tries a failing remote git URL next (unix seconds). ${bound}.`,
    labelNames: ['url'],
    registers,
    collect() {
      this.reset();
      for (const r of failing()) if (r.nextTryAt !== undefined) this.set({ url: urlLabel(r.url) }, r.nextTryAt / 1000);
    },
  });
}
