// Prometheus series of the git half (registered only when git.enabled): requests by service and
// outcome, body bytes, request durations, pushes, refused pushes by reason code, releases by kind,
// purgatory sizes, git process / queue gauges and the repositories on disk. Counters are read at
// scrape time from the GitService; only the duration histogram is fed as requests end. Every label
// comes from a closed set (services, backend outcomes, RefusalCode, event kinds).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GitPurgatoryCounts } from './status.js';

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

  return git.onRequestDone((service, _outcome, seconds) => duration.observe({ service }, seconds));
}
