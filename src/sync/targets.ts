// Sync targets, derived and never stored by hand: repository address → relays its announcement
// lists, root events (1617/1618/1621) → repositories, inverted to relay → {L1, repos, roots}.
// Built from the store at start and updated as events are accepted. No I/O beyond store reads.
import { eventAddress, type NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';
import { chunk, L1 } from './filters.js';
import { isSelf, normalizeRelayUrl } from './urls.js';

export const ROOT_KINDS = [1617, 1618, 1621];

/** The normalised relays an announcement lists (`relays` tags, one or many values each). */
export function announcementRelays(event: NostrEvent, hosts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of event.tags) {
    if (t[0] !== 'relays') continue;
    for (let i = 1; i < t.length; i++) {
      const u = normalizeRelayUrl(t[i]!);
      if (u !== undefined && !isSelf(u, hosts)) out.add(u);
    }
  }
  return [...out];
}

/** Repository addresses (`30617:…`) a root event tags with `a`. */
export function rootRepos(event: NostrEvent): string[] {
  const out: string[] = [];
  for (const t of event.tags) if (t[0] === 'a' && t[1] !== undefined && t[1].startsWith('30617:')) out.push(t[1]);
  return out;
}

export class Targets {
  private readonly repoRelays = new Map<string, { createdAt: number; relays: Set<string> }>();
  private readonly repoRoots = new Map<string, Set<string>>();
  /** relay → items (L1 first, then repos and roots in discovery order) */
  private readonly items = new Map<string, Set<string>>();
  /** relay → repos it serves (for root bookkeeping) */
  private readonly relayRepos = new Map<string, Set<string>>();
  private readonly bootstrap: string[];
  /** relay → change counter of its wanted set (lets peers skip work when nothing changed) */
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly hosts: readonly string[],
    bootstrap: readonly string[],
  ) {
    const b = new Set<string>();
    for (const u of bootstrap) {
      const n = normalizeRelayUrl(u);
      if (n !== undefined && !isSelf(n, hosts)) b.add(n);
    }
    this.bootstrap = [...b];
    for (const r of this.bootstrap) this.ensure(r);
  }

  get bootstrapRelays(): readonly string[] {
    return this.bootstrap;
  }

  /** relay → wanted items (always including L1). */
  get wanted(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.items;
  }

  relays(): string[] {
    return [...this.items.keys()];
  }

  wantedFor(relay: string): ReadonlySet<string> {
    return this.items.get(relay) ?? new Set();
  }

  /** Changes whenever the relay's wanted set changes. */
  versionOf(relay: string): number {
    return this.versions.get(relay) ?? 0;
  }

  private bump(relay: string): void {
    this.versions.set(relay, (this.versions.get(relay) ?? 0) + 1);
  }

  repoCount(relay: string): number {
    return this.relayRepos.get(relay)?.size ?? 0;
  }

  private ensure(relay: string): Set<string> {
    let s = this.items.get(relay);
    if (s === undefined) {
      s = new Set([L1]);
      this.items.set(relay, s);
      this.relayRepos.set(relay, new Set());
    }
    return s;
  }

  private addRepoTo(relay: string, repo: string): boolean {
    const s = this.ensure(relay);
    const repos = this.relayRepos.get(relay)!;
    if (repos.has(repo)) return false;
    this.bump(relay);
    repos.add(repo);
    s.add(repo);
    for (const r of this.repoRoots.get(repo) ?? []) s.add(r);
    return true;
  }

  private removeRepoFrom(relay: string, repo: string): void {
    const s = this.items.get(relay);
    const repos = this.relayRepos.get(relay);
    if (s === undefined || repos === undefined) return;
    this.bump(relay);
    repos.delete(repo);
    s.delete(repo);
    for (const root of this.repoRoots.get(repo) ?? []) {
      let still = false;
      for (const other of repos) if (this.repoRoots.get(other)?.has(root) === true) still = true;
      if (!still) s.delete(root);
    }
    if (repos.size === 0 && !this.bootstrap.includes(relay)) {
      this.items.delete(relay);
      this.relayRepos.delete(relay);
    }
  }

  /** Relays serving a repository: those its announcement lists, plus bootstrap relays. */
  relaysOf(repo: string): string[] {
    const r = this.repoRelays.get(repo);
    return [...new Set([...(r?.relays ?? []), ...this.bootstrap])];
  }

  /** Account for an accepted (or stored) event. Returns the relays whose wanted set changed. */
  onEvent(event: NostrEvent): string[] {
    if (event.kind === 30617) return this.onAnnouncement(event);
    if (ROOT_KINDS.includes(event.kind)) return this.onRoot(event);
    return [];
  }

  private onAnnouncement(event: NostrEvent): string[] {
    const addr = eventAddress(event)!;
    const prev = this.repoRelays.get(addr);
    if (prev !== undefined && prev.createdAt > event.created_at) return [];
    const relays = new Set([...announcementRelays(event, this.hosts), ...this.bootstrap]);
    this.repoRelays.set(addr, { createdAt: event.created_at, relays });
    const changed: string[] = [];
    if (prev !== undefined) {
      for (const r of prev.relays) {
        if (!relays.has(r)) {
          this.removeRepoFrom(r, addr);
          changed.push(r);
        }
      }
    }
    for (const r of relays) if (this.addRepoTo(r, addr)) changed.push(r);
    return changed;
  }

  private onRoot(event: NostrEvent): string[] {
    const changed = new Set<string>();
    for (const repo of rootRepos(event)) {
      let roots = this.repoRoots.get(repo);
      if (roots === undefined) this.repoRoots.set(repo, (roots = new Set()));
      if (roots.has(event.id)) continue;
      roots.add(event.id);
      const rr = this.repoRelays.get(repo);
      if (rr === undefined) continue;
      for (const relay of rr.relays) {
        const s = this.items.get(relay);
        if (s !== undefined && !s.has(event.id)) {
          s.add(event.id);
          this.bump(relay);
          changed.add(relay);
        }
      }
    }
    return [...changed];
  }

  /** Build from the store: every stored announcement, then the roots tagging them. */
  loadFromStore(store: StoreReader, max = 1_000_000): void {
    const anns = store.querySync({ kinds: [30617] }, max);
    for (const a of anns) this.onEvent(a.event);
    const addrs = [...this.repoRelays.keys()];
    for (const c of chunk(addrs, 100)) {
      for (const r of store.querySync({ kinds: ROOT_KINDS, '#a': c }, max)) this.onEvent(r.event);
    }
  }
}
