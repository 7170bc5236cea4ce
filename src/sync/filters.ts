// Sync filters: L1 (per relay), L2 (per repository address), L3 (per root event id), value lists
// chunked (live subscriptions are planned in live.ts). Pure.
import type { Filter } from '../nostr/event.js';

export const L1 = 'L1';
export const L1_FILTER: Filter = { kinds: [30617, 10317] };

/** Split a list into chunks of at most `size`. */
export function chunk<T>(list: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

/** An item is the L1 marker, a repository address (`30617:pubkey:d`) or a root event id. */
export type ItemKind = 'l1' | 'repo' | 'root';
export function itemKind(item: string): ItemKind {
  if (item === L1) return 'l1';
  return item.includes(':') ? 'repo' : 'root';
}

/** d of a repository address `30617:<pubkey>:<d>` (d may contain ':'). */
export function dOfAddress(addr: string): string {
  const i = addr.indexOf(':');
  const j = addr.indexOf(':', i + 1);
  return j < 0 ? '' : addr.slice(j + 1);
}

/** L2 filters for a list of repository addresses, each value list at most `size` long. */
export function repoFilters(addrs: readonly string[], size: number): Filter[] {
  const out: Filter[] = [];
  for (const c of chunk(addrs, size)) {
    const ds = [...new Set(c.map(dOfAddress))];
    out.push({ kinds: [30618], '#d': ds });
    out.push({ '#a': c });
    out.push({ '#A': c });
    out.push({ '#q': c });
  }
  return out;
}

/** L3 filters for a list of root event ids. */
export function rootFilters(ids: readonly string[], size: number): Filter[] {
  const out: Filter[] = [];
  for (const c of chunk(ids, size)) {
    out.push({ '#e': c });
    out.push({ '#E': c });
    out.push({ '#q': c });
  }
  return out;
}

/** All historic filters for a set of items (L1 first). */
export function itemFilters(items: Iterable<string>, size: number): Filter[] {
  const repos: string[] = [];
  const roots: string[] = [];
  let l1 = false;
  for (const it of items) {
    const k = itemKind(it);
    if (k === 'l1') l1 = true;
    else if (k === 'repo') repos.push(it);
    else roots.push(it);
  }
  return [...(l1 ? [{ ...L1_FILTER }] : []), ...repoFilters(repos, size), ...rootFilters(roots, size)];
}
