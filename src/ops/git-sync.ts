// Git sync (GRASP-02 git data, git.md §3) as operators see it: the `git.sync` section of GET
// /status built from the engine's GitSyncStatus — remote URLs failing first and capped, with the
// total and the count per state — and the one definition of a remote URL's state (ok, failing,
// dead) that the page, `grasp-relay status` and /metrics share.
import type { GitSync, GitSyncStatus, RemoteStatus } from '../git/sync/types.js';

export type { GitSyncStatus, RemoteStatus, ResyncProgress } from '../git/sync/types.js';

/** A remote URL's state: dead (failing for git.syncDeadAfterHours), failing (its last try failed), ok. */
export type RemoteState = 'ok' | 'failing' | 'dead';

export const REMOTE_STATES: readonly RemoteState[] = ['ok', 'failing', 'dead'];

/** Most remote URLs listed in a report (failing and dead ones first); the counts cover all of them. */
export const MAX_REMOTES = 200;

/** The `git.sync` section of a report: off, or the engine's status with the remote list capped. */
export type GitSyncReport =
  | { enabled: false }
  | (GitSyncStatus & {
      enabled: true;
      /** every remote URL the engine remembers (`remotes` lists at most MAX_REMOTES of them) */
      remotesTotal: number;
      /** remote URLs by state, all of them counted */
      remotesByState: Record<RemoteState, number>;
    });

export function remoteState(r: RemoteStatus): RemoteState {
  if (r.dead) return 'dead';
  // a retry pending means the last try failed; a success clears it (the last error stays visible)
  if (r.nextTryAt !== undefined) return 'failing';
  if (r.lastErrorClass !== undefined && (r.lastOkAt === undefined || (r.lastTryAt !== undefined && r.lastTryAt > r.lastOkAt))) return 'failing';
  return 'ok';
}

/** "class: message" for a remote's last error (the message without a "class: " it may already start with). */
export function remoteError(r: Pick<RemoteStatus, 'lastError' | 'lastErrorClass'>): string | undefined {
  if (r.lastErrorClass === undefined && r.lastError === undefined) return undefined;
  const cls = r.lastErrorClass ?? 'error';
  const m = r.lastError ?? '';
  const msg = m.startsWith(`${cls}: `) ? m.slice(cls.length + 2) : m;
  return msg === '' ? cls : `${cls}: ${msg}`;
}

const RANK: Record<RemoteState, number> = { failing: 0, dead: 1, ok: 2 };

/** Failing first (soonest retry first), then dead, then ok; by URL within a rank. */
export function sortRemotes(remotes: readonly RemoteStatus[]): RemoteStatus[] {
  const keyed = remotes.map((r) => ({ r, rank: RANK[remoteState(r)] }));
  keyed.sort(
    (a, b) =>
      a.rank - b.rank ||
      (a.rank === 0 ? (a.r.nextTryAt ?? Infinity) - (b.r.nextTryAt ?? Infinity) : 0) ||
      (a.r.url < b.r.url ? -1 : a.r.url > b.r.url ? 1 : 0),
  );
  return keyed.map((k) => k.r);
}

export function countRemotes(remotes: readonly RemoteStatus[]): Record<RemoteState, number> {
  const out: Record<RemoteState, number> = { ok: 0, failing: 0, dead: 0 };
  for (const r of remotes) out[remoteState(r)]++;
  return out;
}

/** The report section from the engine (undefined: git sync is off on this relay). */
export function gitSyncReport(sync: Pick<GitSync, 'status'> | undefined, max = MAX_REMOTES): GitSyncReport {
  if (sync === undefined) return { enabled: false };
  const s = sync.status();
  if (!s.enabled) return { enabled: false };
  return {
    ...s,
    enabled: true,
    fetches: { ...s.fetches },
    remotes: sortRemotes(s.remotes).slice(0, max),
    remotesTotal: s.remotes.length,
    remotesByState: countRemotes(s.remotes),
    ...(s.resync !== undefined ? { resync: { ...s.resync } } : {}),
  };
}
