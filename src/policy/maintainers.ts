// Repository announcements as the policy sees them: which service a 30617 lists, its maintainers,
// the stored announcements sharing a `d`, and recursive maintainer sets (cycle-protected).
import { dTag, isHex64, type NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';
import { urlIsService, type HostSpec } from './urls.js';

export const KIND_ANNOUNCEMENT = 30617;
export const KIND_STATE = 30618;

/**
 * Most announcements sharing one `d` the policy looks at. Forks keep the upstream's `d`, so
 * popular names gather many; beyond this the maintainer search may miss some (reported as a gap:
 * the store contract has no index on `maintainers` values).
 */
export const MAX_ANNOUNCEMENTS_PER_D = 2000;

/** All values of all tags named `name` (one tag with many values, or many tags, or both). */
export function tagValues(event: NostrEvent, name: string): string[] {
  const out: string[] = [];
  for (const t of event.tags) {
    if (t[0] !== name) continue;
    for (let i = 1; i < t.length; i++) {
      const v = t[i]!.trim();
      if (v !== '') out.push(v);
    }
  }
  return out;
}

/** The `maintainers` of an announcement as lower-case hex pubkeys (others ignored). */
export function maintainersOf(event: NostrEvent): string[] {
  const out: string[] = [];
  for (const v of tagValues(event, 'maintainers')) {
    const pk = v.toLowerCase();
    if (isHex64(pk)) out.push(pk);
  }
  return out;
}

export interface ServiceListing {
  clone: string[];
  relays: string[];
  inClone: boolean;
  inRelays: boolean;
}

/** Whether an announcement lists the service in an http(s) `clone` URL and a ws(s) `relays` URL. */
export function serviceListing(event: NostrEvent, hosts: readonly HostSpec[]): ServiceListing {
  const clone = tagValues(event, 'clone');
  const relays = tagValues(event, 'relays');
  return {
    clone,
    relays,
    inClone: clone.some((u) => urlIsService(u, ['http:', 'https:'], hosts)),
    inRelays: relays.some((u) => urlIsService(u, ['ws:', 'wss:'], hosts)),
  };
}

export const listsService = (event: NostrEvent, hosts: readonly HostSpec[]): boolean => {
  const l = serviceListing(event, hosts);
  return l.inClone && l.inRelays;
};

/**
 * The stored announcements with identifier `d`, by author. One index lookup (`#d` with kind
 * 30617); events whose first `d` differs (a second `d` tag matched) are dropped.
 */
export function announcementsForD(store: StoreReader, d: string): Map<string, NostrEvent> {
  const out = new Map<string, NostrEvent>();
  for (const s of store.querySync({ kinds: [KIND_ANNOUNCEMENT], '#d': [d] }, MAX_ANNOUNCEMENTS_PER_D)) {
    const ev = s.event;
    if (ev.kind !== KIND_ANNOUNCEMENT || dTag(ev) !== d) continue;
    const prev = out.get(ev.pubkey);
    if (prev === undefined || prev.created_at < ev.created_at) out.set(ev.pubkey, ev);
  }
  return out;
}

export interface MaintainerSet {
  /** every pubkey reached: the roots, their maintainers, those maintainers' maintainers, … */
  members: Set<string>;
  /** members with no stored announcement for this `d` (their announcement could extend the set) */
  unannounced: Set<string>;
}

/**
 * The recursive maintainer set rooted at `roots` (owners of stored announcements): owner ∪ its
 * maintainers ∪ the maintainers listed in those maintainers' own announcements for the same `d`,
 * and so on. Each pubkey is expanded once, so cycles (A lists B, B lists A) terminate.
 */
export function recursiveMaintainers(roots: Iterable<string>, byAuthor: ReadonlyMap<string, NostrEvent>): MaintainerSet {
  const members = new Set<string>();
  const unannounced = new Set<string>();
  const queue: string[] = [];
  for (const r of roots) {
    if (!members.has(r)) {
      members.add(r);
      queue.push(r);
    }
  }
  while (queue.length > 0) {
    const pk = queue.pop()!;
    const ann = byAuthor.get(pk);
    if (ann === undefined) {
      unannounced.add(pk);
      continue;
    }
    for (const m of maintainersOf(ann)) {
      if (!members.has(m)) {
        members.add(m);
        queue.push(m);
      }
    }
  }
  return { members, unannounced };
}

export const announcementAddress = (pubkey: string, d: string): string => `${KIND_ANNOUNCEMENT}:${pubkey}:${d}`;
