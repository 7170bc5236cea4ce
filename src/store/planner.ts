// Per-filter index choice: turns a NIP-01 filter into index ranges (prefixes + created_at bounds),
// the checks the index value can answer, and whether candidates must be loaded and matched.
// Pure planning over key encodings; walking the ranges is cursor.ts / query.ts / count.ts.
import { type Filter } from '../nostr/event.js';
import { tagConditions } from '../nostr/filter.js';
import type { Dbs, IndexDb } from './dbs.js';
import {
  EMPTY,
  MAX_TS,
  hexToBytes,
  isIndexableKind,
  isIndexableLetter,
  kindBytes,
  pubkeyKindPrefix,
  tagPrefix,
  isHex64,
  rangeHigh,
  rangeLow,
} from './keys.js';
import { countRange } from './cursor.js';

export const DEFAULT_MAX_LIMIT = 5000;
/** authors × kinds above this walk the pubkey index (kind checked from the value) instead. */
const MAX_CROSS_RANGES = 256;

export interface IdsPlan {
  type: 'ids';
  ids: Buffer[];
  filter: Filter;
  limit: number;
}

export interface RangePlan {
  type: 'ranges';
  db: IndexDb;
  /** one key range per prefix, each bounded by [since, until] */
  prefixes: Buffer[];
  since: number;
  until: number;
  /** condition answered from the index entry's value (kind / pubkey), if any */
  valueCheck: ((value: Buffer) => boolean) | undefined;
  /** candidates must be loaded and checked with matchFilter */
  postFilter: boolean;
  /** the same event may appear under several prefixes (several tag values) */
  overlapping: boolean;
  filter: Filter;
  limit: number;
}

export type Plan = IdsPlan | RangePlan | { type: 'empty' };

/** The filter's limit capped by maxLimit (no limit → maxLimit; limit 0 → nothing). */
export function resolveLimit(filter: Filter, maxLimit: number): number {
  const l = filter.limit;
  if (typeof l !== 'number' || !(l >= 0)) return maxLimit;
  return Math.min(Math.floor(l), maxLimit);
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const it of items) {
    const k = key(it);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(it);
    }
  }
  return out;
}

export function planFilter(dbs: Dbs, filter: Filter, limit: number): Plan {
  if (limit <= 0) return { type: 'empty' };
  let since = 0;
  let until = MAX_TS;
  if (typeof filter.since === 'number') since = Math.max(0, Math.ceil(filter.since));
  if (typeof filter.until === 'number') {
    if (filter.until < 0) return { type: 'empty' };
    until = Math.min(MAX_TS, Math.floor(filter.until));
  }
  if (since > until) return { type: 'empty' };

  const notList = (v: unknown): boolean => v !== undefined && !Array.isArray(v);
  if (notList(filter.ids) || notList(filter.authors) || notList(filter.kinds)) return { type: 'empty' };
  const tags = tagConditions(filter);
  for (const [, values] of tags) if (!Array.isArray(values) || values.length === 0) return { type: 'empty' };

  if (filter.ids !== undefined) {
    const ids = [...new Set(filter.ids.filter(isHex64))].map(hexToBytes);
    if (ids.length === 0) return { type: 'empty' };
    return { type: 'ids', ids, filter, limit };
  }

  let authors: Buffer[] | undefined;
  if (filter.authors !== undefined) {
    authors = [...new Set(filter.authors.filter(isHex64))].map(hexToBytes);
    if (authors.length === 0) return { type: 'empty' };
  }
  let kinds: number[] | undefined;
  if (filter.kinds !== undefined) {
    kinds = [...new Set(filter.kinds.filter(isIndexableKind))];
    if (kinds.length === 0) return { type: 'empty' };
  }

  const base = { type: 'ranges' as const, since, until, filter, limit, overlapping: false };

  const indexable = tags.filter(([letter]) => isIndexableLetter(letter));
  const tagPlan = indexable.length > 0 ? planTag(dbs, indexable, tags.length, authors, kinds, base) : undefined;

  if (authors && kinds && authors.length * kinds.length <= MAX_CROSS_RANGES) {
    const prefixes: Buffer[] = [];
    for (const a of authors) for (const k of kinds) prefixes.push(pubkeyKindPrefix(a, k));
    const pkPlan: RangePlan = { ...base, db: dbs.byPubkeyKind, prefixes, valueCheck: undefined, postFilter: tags.length > 0 };
    if (tagPlan === undefined) return pkPlan;
    // Both apply. pubkey+kind candidates must each be loaded and parsed to check the tags, while
    // tag-index candidates are checked for author and kind from the index value (~10× cheaper),
    // so count the pubkey+kind entries (natively) and walk at most 8× as many tag keys to decide.
    let nPk = 0;
    for (const p of prefixes) nPk += countRange(dbs.byPubkeyKind, p, since, until);
    const cap = 8 * nPk;
    let nTag = 0;
    for (const p of tagPlan.prefixes) {
      if (nTag >= cap) break;
      nTag += boundedCount(dbs.byTag, p, since, until, cap - nTag);
    }
    return nTag < cap ? tagPlan : pkPlan;
  }

  if (tagPlan !== undefined) return tagPlan;

  if (authors) {
    const kindSet = kinds ? new Set(kinds) : undefined;
    return {
      ...base,
      db: dbs.byPubkey,
      prefixes: authors,
      valueCheck: kindSet ? (v: Buffer): boolean => kindSet.has(v.readUInt32BE(0)) : undefined,
      postFilter: tags.length > 0,
    };
  }
  if (kinds) {
    return { ...base, db: dbs.byKind, prefixes: kinds.map(kindBytes), valueCheck: undefined, postFilter: tags.length > 0 };
  }
  return { ...base, db: dbs.byCreated, prefixes: [EMPTY], valueCheck: undefined, postFilter: tags.length > 0 };
}

/** The tag-index plan for the most selective indexable tag condition. */
function planTag(
  dbs: Dbs,
  indexable: Array<[string, string[]]>,
  tagCount: number,
  authors: Buffer[] | undefined,
  kinds: number[] | undefined,
  base: Pick<RangePlan, 'type' | 'since' | 'until' | 'filter' | 'limit' | 'overlapping'>,
): RangePlan {
  // most selective first: all-hex values (ids, pubkeys) before free text, then fewer values
  const score = ([, values]: [string, string[]]): number =>
    (values.every((v) => isHex64(v)) ? 0 : 1e6) + values.length;
  const [letter, values] = indexable.reduce((best, t) => (score(t) < score(best) ? t : best));
  const encoded = uniqueBy(
    values.filter((v) => typeof v === 'string').map((v) => tagPrefix(letter, v)),
    (p) => p.prefix.toString('latin1'),
  );
  const kindSet = kinds ? new Set(kinds) : undefined;
  const authorSet = authors ? new Set(authors.map((a) => a.toString('latin1'))) : undefined;
  const valueCheck =
    kindSet || authorSet
      ? (v: Buffer): boolean =>
          (kindSet === undefined || kindSet.has(v.readUInt32BE(0))) &&
          (authorSet === undefined || authorSet.has(v.toString('latin1', 4, 36)))
      : undefined;
  return {
    ...base,
    db: dbs.byTag,
    prefixes: encoded.map((p) => p.prefix),
    valueCheck,
    postFilter: tagCount > 1 || encoded.some((p) => !p.exact),
    overlapping: encoded.length > 1,
  };
}

/** Keys of one prefix within [since, until], counting at most `cap` (walks keys only). */
function boundedCount(db: IndexDb, prefix: Buffer, since: number, until: number, cap: number): number {
  let n = 0;
  for (const _k of db.getKeys({ start: rangeLow(prefix, since), end: rangeHigh(prefix, until), limit: cap })) n++;
  return n;
}
