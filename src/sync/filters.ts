// Sync filters: L1 (per relay), L2 (per repository address), L3 (per root event id), value lists
// chunked, and the consolidation of live filters under a peer's subscription budget. Pure.
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

/** The value-list key of a filter (its single `#x` or `ids` list), if it has exactly one. */
function listKey(f: Filter): string | undefined {
  let key: string | undefined;
  for (const k of Object.keys(f)) {
    if (k === 'ids' || (k.length === 2 && k[0] === '#')) {
      if (key !== undefined) return undefined;
      key = k;
    }
  }
  return key;
}

/**
 * Merge filters that differ only in one value list (same kinds, same tag letter) so that at most
 * `maxFilters` remain, growing each list from `size` by doubling up to `maxValues`. Filters that
 * cannot be merged are kept as they are. Order of values is preserved (stable for appended items).
 */
export function consolidate(filters: readonly Filter[], maxFilters: number, size: number, maxValues: number): Filter[] {
  if (filters.length <= maxFilters) return filters.map((f) => ({ ...f }));
  const groups = new Map<string, { base: Filter; key: string; values: string[]; seen: Set<string> }>();
  const fixed: Filter[] = [];
  for (const f of filters) {
    const key = listKey(f);
    if (key === undefined) {
      fixed.push({ ...f });
      continue;
    }
    const base: Record<string, unknown> = { ...f };
    delete base[key];
    const gk = key + '|' + JSON.stringify(base);
    let g = groups.get(gk);
    if (g === undefined) {
      g = { base: base as Filter, key, values: [], seen: new Set() };
      groups.set(gk, g);
    }
    for (const v of (f as Record<string, unknown>)[key] as string[]) {
      if (!g.seen.has(v)) {
        g.seen.add(v);
        g.values.push(v);
      }
    }
  }
  let n = Math.max(1, size);
  for (;;) {
    const out: Filter[] = [...fixed];
    for (const g of groups.values()) {
      for (const c of chunk(g.values, n)) out.push({ ...g.base, [g.key]: c } as Filter);
    }
    if (out.length <= maxFilters || n >= maxValues) return out;
    n = Math.min(maxValues, n * 2);
  }
}

/**
 * Live subscriptions for a peer: every filter with `limit: 0`, consolidated and packed into at
 * most `budget` REQs of at most `filtersPerReq` filters each (when at all possible).
 */
export function planLive(
  filters: readonly Filter[],
  opts: { budget: number; filtersPerReq: number; size: number; maxValues: number },
): Filter[][] {
  const per = Math.max(1, opts.filtersPerReq);
  const merged = consolidate(filters, Math.max(1, opts.budget) * per, opts.size, opts.maxValues);
  return chunk(
    merged.map((f) => ({ ...f, limit: 0 })),
    per,
  );
}
