// The store as the write policy sees it for announcements and states (git.md §2.4 "Visibility"):
// stored events plus purgatory 30617s (dormant ones included: a late state revives them), so a
// 30618 for a repository whose announcement is still in purgatory is authorised by it. `get` also
// finds purgatory events so their author can delete them by id (kind 5). Every other lookup is
// the plain store: PRs and other events still need a stored announcement.
import type { Filter } from '../nostr/event.js';
import { matchFilter } from '../nostr/filter.js';
import { KIND_ANNOUNCEMENT, newerThan, type Purgatory } from './purgatory.js';
import type { StoreReader, StoredEvent } from './types.js';

export function withPurgatory(store: StoreReader, purgatory: Purgatory): StoreReader {
  return {
    get(id: string): StoredEvent | undefined {
      const s = store.get(id);
      if (s !== undefined) return s;
      const e = purgatory.get(id);
      return e === undefined ? undefined : { event: e.event, raw: e.raw };
    },
    has: (id) => store.has(id),
    getReplaceable(kind, pubkey, d) {
      const s = store.getReplaceable(kind, pubkey, d);
      if (kind !== KIND_ANNOUNCEMENT) return s;
      const p = purgatory.getAddress(kind, pubkey, d);
      if (p === undefined || (s !== undefined && !newerThan(p.event, s.event))) return s;
      return { event: p.event, raw: p.raw };
    },
    hasTagValue: (letter, value) => store.hasTagValue(letter, value),
    isDeleted: (event) => store.isDeleted(event),
    query: (filters, opts) => store.query(filters, opts),
    querySync(filter: Filter, max: number): StoredEvent[] {
      const stored = store.querySync(filter, max);
      const ds = filter['#d'];
      if (filter.kinds === undefined || !filter.kinds.includes(KIND_ANNOUNCEMENT) || ds === undefined) return stored;
      const seen = new Set(stored.map((s) => s.event.id));
      const out = [...stored];
      for (const d of ds) {
        for (const e of purgatory.forD(d)) {
          if (e.event.kind !== KIND_ANNOUNCEMENT || seen.has(e.id) || !matchFilter(filter, e.event)) continue;
          seen.add(e.id);
          out.push({ event: e.event, raw: e.raw });
        }
      }
      if (out.length === stored.length) return stored;
      out.sort((a, b) => b.event.created_at - a.event.created_at || (a.event.id < b.event.id ? -1 : 1));
      return out.slice(0, max);
    },
    count: (filters) => store.count(filters),
    negentropyItems: (filter, max) => store.negentropyItems(filter, max),
    stats: () => store.stats(),
  };
}
