// The contracts of GRASP-02 git sync (git.md §3), shared by its parts: the fetcher (one remote URL
// into a scratch repository), the scheduler (hunts, the hourly sweep, politeness, per-URL health)
// and the operators' views (status, page, CLI, metrics). Plain data and interfaces only.
import type { NostrEvent } from '../../nostr/event.js';
import type { Origin } from '../../policy/index.js';
import type { Oid, RepoId } from '../types.js';

/** Why a fetch from one remote URL failed (what operators see per URL). */
export type FetchErrorClass =
  /** not http(s), not parseable, credentials in it, or a scheme the config refuses */
  | 'bad-url'
  /** the host resolves to a loopback/private/link-local/multicast/unspecified address */
  | 'forbidden-address'
  | 'dns'
  | 'tls'
  /** connection refused or reset */
  | 'refused'
  /** an HTTP error status other than 404 */
  | 'http'
  /** 404, or the remote holds none of the wanted objects */
  | 'not-found'
  /** total or low-speed timeout */
  | 'timeout'
  /** the scratch repository grew past the repository's remaining quota */
  | 'too-large'
  /** the remote spoke something git rejected (bad pack, fsck failure, protocol error) */
  | 'protocol'
  /** anything else git reported */
  | 'git';

export interface FetchFailure {
  cls: FetchErrorClass;
  /** one line for logs and the status page (never the remote's full output) */
  message: string;
  /** the HTTP status when cls is 'http' or 'not-found' */
  status?: number;
}

/** One fetch: these object ids of `repo`, from one remote URL. */
export interface FetchJob {
  url: string;
  repo: RepoId;
  want: Oid[];
  /** bytes the scratch repository may grow to (the repository's remaining quota; Infinity: no cap) */
  quotaBytes: number;
  /** aborted when git sync closes: the fetch ends early (its child killed, the scratch removed) */
  signal?: AbortSignal;
}

export interface FetchResult {
  /** the ids of `want` the remote delivered (they were handed to `land`) */
  fetched: Oid[];
  /** bytes the scratch repository grew by */
  bytes: number;
  durationMs: number;
  /** set when nothing usable arrived, or when the fetch ended early (fetched may still be non-empty) */
  error?: FetchFailure;
}

/**
 * Fetches from remote git servers. `land(scratchDir, present)` is called (once, at most) with the
 * scratch repository and the wanted ids it now holds, before the scratch is deleted: the caller
 * imports them into the repository under its lock and runs the release path. A failed or hostile
 * fetch never touches the repository itself.
 */
export interface RemoteFetcher {
  fetch(job: FetchJob, land: (scratchDir: string, present: Oid[]) => Promise<void>): Promise<FetchResult>;
}

/** One remote URL's health, as operators see it (GET /status, the page, the CLI, /metrics). */
export interface RemoteStatus {
  url: string;
  /** lower-case host:port */
  host: string;
  fetches: number;
  failures: number;
  lastTryAt?: number;
  lastOkAt?: number;
  lastError?: string;
  lastErrorClass?: FetchErrorClass;
  nextTryAt?: number;
  /** failing for git.syncDeadAfterHours: tried once a day */
  dead: boolean;
}

/** Git sync as a whole, for operators. Times are ms since the epoch (the injected clock). */
export interface GitSyncStatus {
  enabled: boolean;
  /** work items waiting (hunts and sweep checks) */
  queued: number;
  /** fetches running now */
  running: number;
  lastSweepAt?: number;
  nextSweepAt?: number;
  /** fetches by outcome since start: ok (all wanted ids arrived), partial, failed, skipped (backoff, quota, no source) */
  fetches: { ok: number; partial: number; failed: number; skipped: number };
  /** objects imported into hosted repositories since start */
  objectsImported: number;
  /** events released from purgatory by git sync since start */
  released: number;
  remotes: RemoteStatus[];
  /** the last `resync --git` (absent if none since start) */
  resync?: ResyncProgress;
}

/** Progress of `hunt every repository now` (grasp-relay resync --git). */
export interface ResyncProgress {
  total: number;
  done: number;
  /** repositories that ended aligned with their authoritative state (or with nothing to align) */
  aligned: number;
  /** repositories still missing objects after every source was tried */
  missing: number;
  finished: boolean;
}

/** The git sync engine as the rest of the relay sees it (src/git/sync/engine.ts implements it). */
export interface GitSync {
  /** an event entered purgatory (the git gate calls this): hunt its objects after the delay of git.md §2.7 */
  hunt(event: NostrEvent, origin: Origin): void;
  /** check every hosted repository now (what the hourly timer runs); resolves when that work is done */
  sweep(): Promise<void>;
  /** `grasp-relay resync --git`: hunt every hosted repository now; progress in status().resync */
  resync(): ResyncProgress;
  status(): GitSyncStatus;
  /** resolves once nothing is queued or running (tests await it) */
  idle(): Promise<void>;
  close(): Promise<void>;
}
