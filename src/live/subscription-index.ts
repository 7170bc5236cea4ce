// The live subscription index: which open REQ subscriptions a new event must go to, without
// looping over every subscription. Each filter is filed under one key (id, author, tag value or
// kind, the most selective it has; filters with none go to a catch-all list); an event looks up
// only the keys it carries, then candidates are checked against the filter's other conditions,
// compiled once when the filter is filed (value sets, tag conditions as a list; the condition the
// filing key already guarantees is left out) — the same answers as matchFilter, without its
// per-call walk over the filter's keys.
// Hot path (every stored event): lookups use the event's own strings and numbers as map keys (no
// key strings built per event, and V8 caches a string's hash), a subscription already taken for
// this event is recognised by a per-event stamp (no Set per event), and fanOut delivers as it
// matches (no array per event).
import type { Filter, NostrEvent } from '../nostr/event.js';
import { tagConditions } from '../nostr/filter.js';
import { EventBytes } from './frames.js';

/** A subscriber's handle: whatever the relay needs to deliver (a connection and a sub id). */
export interface LiveSubscription {
  readonly filters: Filter[];
  /** deliver a matching event; `bytes` is `raw` as UTF-8, encoded once for all subscriptions */
  deliver(event: NostrEvent, raw: string, bytes: EventBytes): void;
}

/** One subscription's state in the index: the stamp of the last event it was taken for. */
interface Slot {
  readonly sub: LiveSubscription;
  stamp: number;
}

interface Entry {
  readonly slot: Slot;
  readonly filter: Filter;
  readonly check: Check;
}

/** A filter's conditions other than the one its filing key guarantees, ready to test. */
interface Check {
  readonly ids: Set<string> | undefined;
  readonly authors: Set<string> | undefined;
  readonly kinds: Set<number> | undefined;
  readonly since: number | undefined;
  readonly until: number | undefined;
  readonly tags: ReadonlyArray<{ readonly letter: string; readonly values: Set<string> }>;
}

function compile(filter: Filter, place: Place): Check {
  const tagLetter = place.on === 'tag' ? place.letter : undefined;
  return {
    ids: filter.ids !== undefined && place.on !== 'id' ? new Set(filter.ids) : undefined,
    authors: filter.authors !== undefined && place.on !== 'author' ? new Set(filter.authors) : undefined,
    kinds: filter.kinds !== undefined && place.on !== 'kind' ? new Set(filter.kinds) : undefined,
    since: filter.since,
    until: filter.until,
    tags: tagConditions(filter)
      .filter(([letter]) => letter !== tagLetter)
      .map(([letter, values]) => ({ letter, values: new Set(values) })),
  };
}

function passes(c: Check, event: NostrEvent): boolean {
  if (c.ids !== undefined && !c.ids.has(event.id)) return false;
  if (c.kinds !== undefined && !c.kinds.has(event.kind)) return false;
  if (c.authors !== undefined && !c.authors.has(event.pubkey)) return false;
  if (c.since !== undefined && event.created_at < c.since) return false;
  if (c.until !== undefined && event.created_at > c.until) return false;
  for (let i = 0; i < c.tags.length; i++) {
    const { letter, values } = c.tags[i]!;
    let found = false;
    for (const t of event.tags) {
      if (t[0] === letter && t.length > 1 && values.has(t[1]!)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

type Bucket = Set<Entry>;

/** Where a filter is filed: one family of keys and its values. */
type Place = { on: 'id' | 'author'; keys: string[] } | { on: 'tag'; letter: string; keys: string[] } | { on: 'kind'; keys: number[] } | { on: 'all' };

function placeOf(filter: Filter): Place {
  if (filter.ids !== undefined) return { on: 'id', keys: filter.ids };
  if (filter.authors !== undefined) return { on: 'author', keys: filter.authors };
  let best: { letter: string; keys: string[] } | null = null;
  for (const key in filter) {
    if (key.length === 2 && key[0] === '#') {
      const vals = filter[key as `#${string}`]!;
      if (best === null || vals.length < best.keys.length) best = { letter: key[1]!, keys: vals };
    }
  }
  if (best !== null) return { on: 'tag', ...best };
  if (filter.kinds !== undefined) return { on: 'kind', keys: filter.kinds };
  return { on: 'all' };
}

function addTo<K>(map: Map<K, Bucket>, key: K, entry: Entry): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(entry);
}

function removeFrom<K>(map: Map<K, Bucket>, key: K, entry: Entry): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) map.delete(key);
}

export class SubscriptionIndex {
  private readonly byId = new Map<string, Bucket>();
  private readonly byAuthor = new Map<string, Bucket>();
  private readonly byKind = new Map<number, Bucket>();
  /** tag letter → tag value → entries */
  private readonly byTag = new Map<string, Map<string, Bucket>>();
  private readonly catchAll: Bucket = new Set();
  private readonly entries = new Map<LiveSubscription, Entry[]>();
  private stamp = 0;

  get size(): number {
    return this.entries.size;
  }

  add(sub: LiveSubscription): void {
    this.remove(sub);
    const slot: Slot = { sub, stamp: 0 };
    const list: Entry[] = [];
    for (const filter of sub.filters) {
      const place = placeOf(filter);
      const entry: Entry = { slot, filter, check: compile(filter, place) };
      list.push(entry);
      this.file(entry, place, true);
    }
    this.entries.set(sub, list);
  }

  remove(sub: LiveSubscription): void {
    const list = this.entries.get(sub);
    if (list === undefined) return;
    this.entries.delete(sub);
    for (const entry of list) this.file(entry, placeOf(entry.filter), false);
  }

  private file(entry: Entry, place: Place, add: boolean): void {
    const op = add ? addTo : removeFrom;
    switch (place.on) {
      case 'id':
        for (const k of place.keys) op(this.byId, k, entry);
        return;
      case 'author':
        for (const k of place.keys) op(this.byAuthor, k, entry);
        return;
      case 'kind':
        for (const k of place.keys) op(this.byKind, k, entry);
        return;
      case 'tag': {
        let m = this.byTag.get(place.letter);
        if (m === undefined) {
          if (!add) return;
          this.byTag.set(place.letter, (m = new Map()));
        }
        for (const k of place.keys) op(m, k, entry);
        if (m.size === 0) this.byTag.delete(place.letter);
        return;
      }
      case 'all':
        if (add) this.catchAll.add(entry);
        else this.catchAll.delete(entry);
    }
  }

  /**
   * Calls `each` once for every subscription that matches the event; returns how many. A
   * subscription removed by an earlier `each` call (its socket closed) is not called after.
   */
  private visit(event: NostrEvent, each: (sub: LiveSubscription) => void): number {
    const stamp = ++this.stamp;
    let n = 0;
    const consider = (set: Bucket | undefined): void => {
      if (set === undefined) return;
      for (const e of set) {
        const slot = e.slot;
        if (slot.stamp === stamp) continue;
        if (passes(e.check, event)) {
          slot.stamp = stamp;
          n++;
          each(slot.sub);
        }
      }
    };
    if (this.byId.size > 0) consider(this.byId.get(event.id));
    if (this.byAuthor.size > 0) consider(this.byAuthor.get(event.pubkey));
    if (this.byKind.size > 0) consider(this.byKind.get(event.kind));
    if (this.byTag.size > 0) {
      for (const t of event.tags) {
        if (t.length > 1) {
          const m = this.byTag.get(t[0]!);
          if (m !== undefined) consider(m.get(t[1]!));
        }
      }
    }
    if (this.catchAll.size > 0) consider(this.catchAll);
    return n;
  }

  /** Subscriptions that match the event (each once). */
  match(event: NostrEvent): LiveSubscription[] {
    const out: LiveSubscription[] = [];
    this.visit(event, (s) => out.push(s));
    return out;
  }

  /** Deliver an event to every matching subscription. Returns how many received it. */
  fanOut(event: NostrEvent, raw: string): number {
    const bytes = new EventBytes(raw);
    return this.visit(event, (s) => s.deliver(event, raw, bytes));
  }
}
