// The remote git servers git sync fetches from (git.md §3 "Politeness and health"): per remote URL
// the one health/backoff model of src/sync/health.ts plus counters and the last error class; per
// host (lower-case host:port) a concurrency limit and a starts-per-minute limit. Bounded in memory
// (the oldest healthy URLs are forgotten first). Time comes from the caller's injected clock.
import { failed, HEALTHY, isDead, retryDelay, succeeded, type BackoffPolicy, type Health } from '../../sync/health.js';
import type { FetchErrorClass, FetchResult, RemoteStatus } from './types.js';

export interface RemotesOptions {
  backoff: BackoffPolicy;
  /** concurrent fetches per host (git.syncPerHostConcurrency) */
  perHostConcurrency: number;
  /** fetches started per host per minute (git.syncPerHostPerMinute) */
  perHostPerMinute: number;
  /** URLs remembered (default 5000) */
  maxUrls?: number;
  now(): number;
}

/** Whether a URL may be fetched now, and if not why and until when. */
export type TryVerdict =
  | { ok: true }
  | { ok: false; why: 'backoff'; until: number }
  | { ok: false; why: 'host-busy' }
  | { ok: false; why: 'host-rate'; until: number };

interface UrlState {
  url: string;
  host: string;
  health: Health;
  fetches: number;
  failures: number;
  lastOkAt?: number;
  lastErrorClass?: FetchErrorClass;
}

interface HostState {
  running: number;
  /** start times within the last minute, oldest first */
  starts: number[];
}

const MINUTE = 60_000;
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** lower-case host:port of an http(s) URL (the default port filled in); the URL itself when unparsable. */
export function hostKey(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port !== '' ? u.port : (DEFAULT_PORT[u.protocol] ?? '')}`;
  } catch {
    return url.toLowerCase();
  }
}

export class Remotes {
  private readonly urls = new Map<string, UrlState>();
  private readonly hosts = new Map<string, HostState>();
  private readonly maxUrls: number;

  constructor(private readonly opts: RemotesOptions) {
    this.maxUrls = opts.maxUrls ?? 5000;
  }

  /** May `url` be fetched now? Backoff first, then its host's concurrency and rate. */
  canTry(url: string): TryVerdict {
    const now = this.opts.now();
    const s = this.urls.get(url);
    if (s !== undefined && retryDelay(s.health, now) > 0) return { ok: false, why: 'backoff', until: s.health.nextRetryAt! };
    const h = this.host(hostKey(url), now);
    if (h.running >= this.opts.perHostConcurrency) return { ok: false, why: 'host-busy' };
    if (h.starts.length >= this.opts.perHostPerMinute) return { ok: false, why: 'host-rate', until: h.starts[0]! + MINUTE };
    return { ok: true };
  }

  /** A fetch from `url` starts (call only after canTry said ok); the returned function ends it with its result. */
  start(url: string): (result: FetchResult) => void {
    const now = this.opts.now();
    const key = hostKey(url);
    const h = this.host(key, now);
    h.running++;
    h.starts.push(now);
    let ended = false;
    return (result) => {
      if (ended) return;
      ended = true;
      h.running--;
      this.record(url, key, result);
    };
  }

  /** Operators' view, failing URLs first, then by URL. */
  status(): RemoteStatus[] {
    const now = this.opts.now();
    const out: RemoteStatus[] = [];
    for (const s of this.urls.values()) {
      const r: RemoteStatus = {
        url: s.url,
        host: s.host,
        fetches: s.fetches,
        failures: s.failures,
        dead: isDead(this.opts.backoff, s.health, now),
      };
      if (s.health.lastTryAt !== undefined) r.lastTryAt = s.health.lastTryAt;
      if (s.lastOkAt !== undefined) r.lastOkAt = s.lastOkAt;
      if (s.health.lastError !== undefined) r.lastError = s.health.lastError;
      if (s.lastErrorClass !== undefined) r.lastErrorClass = s.lastErrorClass;
      if (s.health.nextRetryAt !== undefined) r.nextTryAt = s.health.nextRetryAt;
      out.push(r);
    }
    return out.sort((a, b) => Number(b.nextTryAt !== undefined) - Number(a.nextTryAt !== undefined) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  }

  /** URLs remembered (bounded by maxUrls). */
  get size(): number {
    return this.urls.size;
  }

  private record(url: string, host: string, result: FetchResult): void {
    const now = this.opts.now();
    let s = this.urls.get(url);
    if (s === undefined) {
      s = { url, host, health: HEALTHY, fetches: 0, failures: 0 };
      this.urls.set(url, s);
    } else {
      // most recently used last: eviction walks from the oldest
      this.urls.delete(url);
      this.urls.set(url, s);
    }
    s.fetches++;
    if (result.error !== undefined && result.fetched.length === 0) {
      s.failures++;
      s.lastErrorClass = result.error.cls;
      s.health = failed(this.opts.backoff, s.health, now, `${result.error.cls}: ${result.error.message}`);
    } else {
      s.lastOkAt = now;
      s.health = succeeded(s.health, now);
    }
    this.evict(url);
  }

  /** Past maxUrls: forget the least recently used healthy URLs, then (if still over) the least recently used. */
  private evict(keep: string): void {
    let over = this.urls.size - this.maxUrls;
    if (over <= 0) return;
    for (const [k, s] of this.urls) {
      if (over <= 0) return;
      if (k !== keep && s.health.nextRetryAt === undefined) {
        this.urls.delete(k);
        over--;
      }
    }
    for (const k of this.urls.keys()) {
      if (over <= 0) return;
      if (k === keep) continue;
      this.urls.delete(k);
      over--;
    }
  }

  private host(key: string, now: number): HostState {
    let h = this.hosts.get(key);
    if (h === undefined) {
      h = { running: 0, starts: [] };
      this.hosts.set(key, h);
    }
    while (h.starts.length > 0 && h.starts[0]! <= now - MINUTE) h.starts.shift();
    // idle hosts are forgotten (their state is empty)
    if (h.running === 0 && h.starts.length === 0 && this.hosts.size > this.maxUrls) {
      for (const [k, o] of this.hosts) if (k !== key && o.running === 0 && o.starts.every((t) => t <= now - MINUTE)) this.hosts.delete(k);
    }
    return h;
  }
}
