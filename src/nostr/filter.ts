// NIP-01 filter matching of one event against one filter (or any of several). Used on candidates
// only: the store and the live index narrow by index first, then call this for the rest.
import type { Filter, NostrEvent } from './event.js';

/** The `#x` keys of a filter, as [letter, values] pairs. */
export function tagConditions(filter: Filter): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const key in filter) {
    if (key.length === 2 && key.charCodeAt(0) === 35 /* # */) {
      const v = filter[key as `#${string}`];
      if (v !== undefined) out.push([key[1]!, v]);
    }
  }
  return out;
}

function eventHasTag(event: NostrEvent, letter: string, values: string[]): boolean {
  for (const t of event.tags) {
    if (t[0] === letter && t.length > 1 && values.includes(t[1]!)) return true;
  }
  return false;
}

export function matchFilter(filter: Filter, event: NostrEvent): boolean {
  if (filter.ids !== undefined && !filter.ids.includes(event.id)) return false;
  if (filter.kinds !== undefined && !filter.kinds.includes(event.kind)) return false;
  if (filter.authors !== undefined && !filter.authors.includes(event.pubkey)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  for (const key in filter) {
    if (key.length === 2 && key.charCodeAt(0) === 35) {
      const values = filter[key as `#${string}`];
      if (values !== undefined && !eventHasTag(event, key[1]!, values)) return false;
    }
  }
  return true;
}

export function matchFilters(filters: Filter[], event: NostrEvent): boolean {
  for (const f of filters) if (matchFilter(f, event)) return true;
  return false;
}
