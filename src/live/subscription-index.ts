// The live subscription index: which open REQ subscriptions a new event must go to, without
// looping over every subscription. Each filter is filed under one key (id, author, tag value or
// kind, the most selective it has; filters with none go to a catch-all list); an event looks up
// only the keys it carries, then candidates are checked in full with matchFilter.
import type { Filter, NostrEvent } from '../nostr/event.js';
import { matchFilter } from '../nostr/filter.js';

/** A subscriber's handle: whatever the relay needs to deliver (a connection and a sub id). */
export interface LiveSubscription {
  readonly filters: Filter[];
  /** deliver a matching event */
  deliver(event: NostrEvent, raw: string): void;
}

interface Entry {
  sub: LiveSubscription;
  filter: Filter;
}

/** Index keys: "i:<id>", "a:<pubkey>", "t:<letter>:<value>", "k:<kind>". */
function indexKeys(filter: Filter): string[] | null {
  if (filter.ids !== undefined) return filter.ids.map((id) => 'i:' + id);
  if (filter.authors !== undefined) return filter.authors.map((a) => 'a:' + a);
  let best: string[] | null = null;
  for (const key in filter) {
    if (key.length === 2 && key[0] === '#') {
      const vals = filter[key as `#${string}`]!;
      if (best === null || vals.length < best.length) best = vals.map((v) => `t:${key[1]}:${v}`);
    }
  }
  if (best !== null) return best;
  if (filter.kinds !== undefined) return filter.kinds.map((k) => 'k:' + k);
  return null;
}

export class SubscriptionIndex {
  private readonly byKey = new Map<string, Set<Entry>>();
  private readonly catchAll = new Set<Entry>();
  private readonly entries = new Map<LiveSubscription, Entry[]>();

  get size(): number {
    return this.entries.size;
  }

  add(sub: LiveSubscription): void {
    const list: Entry[] = [];
    for (const filter of sub.filters) {
      const keys = indexKeys(filter);
      const entry: Entry = { sub, filter };
      list.push(entry);
      if (keys === null) {
        this.catchAll.add(entry);
        continue;
      }
      for (const k of keys) {
        let set = this.byKey.get(k);
        if (set === undefined) this.byKey.set(k, (set = new Set()));
        set.add(entry);
      }
    }
    this.entries.set(sub, list);
  }

  remove(sub: LiveSubscription): void {
    const list = this.entries.get(sub);
    if (list === undefined) return;
    this.entries.delete(sub);
    for (const entry of list) {
      const keys = indexKeys(entry.filter);
      if (keys === null) {
        this.catchAll.delete(entry);
        continue;
      }
      for (const k of keys) {
        const set = this.byKey.get(k);
        if (set === undefined) continue;
        set.delete(entry);
        if (set.size === 0) this.byKey.delete(k);
      }
    }
  }

  /** Subscriptions that match the event (each once). */
  match(event: NostrEvent): LiveSubscription[] {
    const out: LiveSubscription[] = [];
    const seen = new Set<LiveSubscription>();
    const consider = (set: Set<Entry> | undefined) => {
      if (set === undefined) return;
      for (const e of set) {
        if (seen.has(e.sub)) continue;
        if (matchFilter(e.filter, event)) {
          seen.add(e.sub);
          out.push(e.sub);
        }
      }
    };
    consider(this.byKey.get('i:' + event.id));
    consider(this.byKey.get('a:' + event.pubkey));
    consider(this.byKey.get('k:' + event.kind));
    for (const t of event.tags) {
      if (t.length > 1 && t[0]!.length === 1) consider(this.byKey.get(`t:${t[0]}:${t[1]}`));
    }
    consider(this.catchAll);
    return out;
  }

  /** Deliver an event to every matching subscription. Returns how many received it. */
  fanOut(event: NostrEvent, raw: string): number {
    const subs = this.match(event);
    for (const s of subs) s.deliver(event, raw);
    return subs.length;
  }
}
