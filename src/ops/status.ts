// The status report behind GET /status, the HTML page and `grasp-relay status`: relay info (the
// NIP-11 document's public fields), uptime, counts, the repositories hosted (30617 announcements
// in the store), the git half (processes, requests, pushes, purgatory, repositories on disk) and
// the sync engine's per-peer status; git sync's section is built in git-sync.ts. Holds no secrets,
// no client addresses.
import { npubEncode } from 'nostr-tools/nip19';
import type { GitService, RepoStatus } from '../git/index.js';
import type { Filter, NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';
import { gitSyncReport, type GitSyncReport } from './git-sync.js';
import { emptySyncTotals, type PeerStatus, type SyncStatus } from '../sync/index.js';
import type { MemorySplit } from './memory.js';

export interface RepositoryInfo {
  /** the `name` tag, or the `d` when there is none */
  name: string;
  d: string;
  /** owner as npub (bech32) and hex */
  owner: string;
  ownerHex: string;
  description: string;
  /** every `clone` value (http/https URLs of the git half) */
  clone: string[];
  /** every `relays` value */
  relays: string[];
  /** unix seconds of the announcement in force */
  createdAt: number;
}

export interface RelayInfo {
  name: string;
  description: string;
  software: string;
  version: string;
  /** WebSocket URL of this relay as the canonical host (service.hosts[0]) */
  url: string;
  hosts: string[];
  supportedNips: number[];
  supportedGrasps: string[];
  transport: string;
  verifyBackend: string;
  policyMode: string;
  negentropy: boolean;
  /** unix seconds */
  startedAt: number;
  uptimeSeconds: number;
}

export interface StatusReport {
  /** unix seconds when the report was made */
  now: number;
  relay: RelayInfo;
  connections: number;
  store: { events: number; bytes: number };
  /** resident memory: anonymous (heaps, workers, buffers) and file-backed (LMDB's map), bytes */
  memory: MemorySplit;
  /** write-path outcomes since start (stored, duplicate, policy, …) */
  ingest: Record<string, number>;
  repositories: { total: number; items: RepositoryInfo[] };
  git: GitStatus;
  sync: SyncStatus;
}

export interface GitPurgatoryCounts {
  byKind: Record<string, number>;
  dormant: number;
  expired: number;
  nostrRefs: number;
}

/** A repository on disk with a hosted announcement (GitService.repositories()). */
export type GitRepositoryInfo = RepoStatus;

/** The git half: off, or its counters since start, gauges now and the repositories on disk. */
export type GitStatus =
  | { enabled: false }
  | {
      enabled: true;
      /** where repositories live on disk */
      root: string;
      /** git processes running and requests waiting for one */
      processes: { running: number; queued: number };
      /** requests since start by service (info-refs, upload-pack, receive-pack), then outcome */
      requests: Record<string, Record<string, number>>;
      /** request body bytes read (decoded) and response bytes written */
      bytes: { in: number; out: number };
      /** pushes authorised and applied */
      pushes: number;
      /** pushes refused before git ran, by reason code (authorize.ts RefusalCode) */
      refusedPushes: Record<string, number>;
      /** events released from purgatory by kind */
      releases: Record<string, number>;
      /** purgatory now: events waiting by kind, dormant announcements, expired ids remembered, refs/nostr placeholders */
      purgatory: GitPurgatoryCounts;
      /** repositories on disk (at most MAX_REPOSITORIES listed, largest first); total counts all */
      repositories: { total: number; bytes: number; items: GitRepositoryInfo[] };
      /** GRASP-02 git sync: fetches, imports, releases, resync progress, remote URLs failing first (capped) */
      sync: GitSyncReport;
    };

/** The git section of a report from the service's counters and a (cached) repository listing. */
export function gitStatus(
  git: Pick<GitService, 'backend' | 'counters' | 'root' | 'sync'> | undefined,
  purgatory: { counts(): GitPurgatoryCounts },
  repos: readonly RepoStatus[] = [],
  max = MAX_REPOSITORIES,
): GitStatus {
  if (git === undefined) return { enabled: false };
  const st = git.backend.stats();
  const requests: Record<string, Record<string, number>> = {};
  for (const [key, n] of Object.entries(st.requests)) {
    const i = key.indexOf(':');
    const service = key.slice(0, i);
    (requests[service] ??= {})[key.slice(i + 1)] = n;
  }
  const items = [...repos].sort((a, b) => b.bytes - a.bytes || (a.npub < b.npub ? -1 : a.npub > b.npub ? 1 : a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
  return {
    enabled: true,
    root: git.root,
    processes: { running: st.running, queued: st.queued },
    requests,
    bytes: { in: st.bytesIn, out: st.bytesOut },
    pushes: git.counters.pushes,
    refusedPushes: { ...git.counters.refusedPushes },
    releases: { ...git.counters.releases },
    purgatory: purgatory.counts(),
    repositories: { total: repos.length, bytes: repos.reduce((t, r) => t + r.bytes, 0), items: items.slice(0, max) },
    sync: gitSyncReport(git.sync),
  };
}

/** Most announcements listed (newest first); `total` still counts all of them. */
export const MAX_REPOSITORIES = 1000;

const ANNOUNCEMENTS: Filter = { kinds: [30617] };

function tagValues(ev: NostrEvent, name: string): string[] {
  const out: string[] = [];
  for (const t of ev.tags) if (t[0] === name) for (const v of t.slice(1)) if (v !== '') out.push(v);
  return out;
}

function firstTag(ev: NostrEvent, name: string): string | undefined {
  for (const t of ev.tags) if (t[0] === name && typeof t[1] === 'string') return t[1];
  return undefined;
}

/** Repository info from one announcement. */
export function repositoryFromEvent(ev: NostrEvent): RepositoryInfo {
  const d = firstTag(ev, 'd') ?? '';
  let owner = ev.pubkey;
  try {
    owner = npubEncode(ev.pubkey);
  } catch {
    // keep hex for a malformed key (cannot happen for a verified event)
  }
  return {
    name: firstTag(ev, 'name') || d,
    d,
    owner,
    ownerHex: ev.pubkey,
    description: firstTag(ev, 'description') ?? '',
    clone: tagValues(ev, 'clone'),
    relays: tagValues(ev, 'relays'),
    createdAt: ev.created_at,
  };
}

/** The repositories hosted: announcements in the store, newest first, at most `max`. */
export function listRepositories(store: Pick<StoreReader, 'querySync' | 'count'>, max = MAX_REPOSITORIES): StatusReport['repositories'] {
  const items = store.querySync({ ...ANNOUNCEMENTS, limit: max }, max).map((s) => repositoryFromEvent(s.event));
  const total = Math.max(items.length, store.count([ANNOUNCEMENTS]));
  return { total, items };
}

/** The sync status to report when sync is off. */
export function disabledSync(): SyncStatus {
  return { enabled: false, peers: [], totals: emptySyncTotals() };
}

/** Peers sorted for display: connected first, then by URL. */
export function sortPeers(peers: readonly PeerStatus[]): PeerStatus[] {
  const rank = (p: PeerStatus) => (p.state === 'connected' ? 0 : p.state === 'connecting' ? 1 : 2);
  return [...peers].sort((a, b) => rank(a) - rank(b) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/** A NIP-11 document's public fields, read defensively (it is a plain JSON object). */
export function relayInfoFromNip11(
  doc: Record<string, unknown>,
  extra: { url: string; hosts: string[]; policyMode: string; startedAt: number; now: number },
): RelayInfo {
  const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
  const gr = (doc.grasp_relay ?? {}) as Record<string, unknown>;
  const nips = Array.isArray(doc.supported_nips) ? doc.supported_nips.filter((n): n is number => typeof n === 'number') : [];
  const grasps = Array.isArray(doc.supported_grasps) ? doc.supported_grasps.filter((n): n is string => typeof n === 'string') : [];
  return {
    name: str(doc.name),
    description: str(doc.description),
    software: str(doc.software),
    version: str(doc.version),
    url: extra.url,
    hosts: extra.hosts,
    supportedNips: nips,
    supportedGrasps: grasps,
    transport: str(gr.transport, 'unknown'),
    verifyBackend: str(gr.signature_backend, 'unknown'),
    policyMode: extra.policyMode,
    negentropy: nips.includes(77),
    startedAt: extra.startedAt,
    uptimeSeconds: Math.max(0, extra.now - extra.startedAt),
  };
}
