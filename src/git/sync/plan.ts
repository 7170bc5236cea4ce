// What a hosted repository misses and where to look for it (git.md §3): pure functions over
// plain data gathered by the engine (refs, A(R), waiting states, PRs, announcements). Which
// object ids to check, which are missing per work item, what can be fixed without any fetch, and
// the ordered, normalised, de-duplicated source URLs of an item. No I/O, no clock.
import type { NostrEvent } from '../../nostr/event.js';
import { normalizeServiceUrl, tagValues, urlIsService, type HostSpec } from '../../policy/index.js';
import { isAligned } from '../release.js';
import type { Oid, StateRefs } from '../types.js';

/** A PR (1618) or PR update (1619) naming the repository in an `a` tag. */
export interface PrFacts {
  id: string;
  /** its `c` tip */
  tip: Oid;
  /** its own `clone` tags (tried before the repository's URLs) */
  clone: string[];
  /** waiting in purgatory (true) or stored (false) */
  inPurgatory: boolean;
  /** purgatory expiry (ms) */
  expiresAt?: number;
}

/** A waiting state (purgatory, by a member of M(R), newer than A(R)) and its expiry. */
export interface WaitingState {
  state: StateRefs;
  expiresAt: number;
}

/** What the engine knows of one repository R right now. */
export interface RepoFacts {
  refs: ReadonlyMap<string, Oid>;
  head: string | undefined;
  /** A(R) */
  authoritative: StateRefs | undefined;
  /** purgatory states newer than A(R), newest first */
  waiting: WaitingState[];
  prs: PrFacts[];
}

/** One thing R lacks: a state's objects or a PR tip. */
export interface MissingItem {
  kind: 'state' | 'pr';
  /** the state's or the PR's event id */
  id: string;
  /** the ids R lacks for it */
  oids: Oid[];
  /** a purgatory event waits for it (a hunt keeps trying until it expires) */
  purgatory: boolean;
  /** the purgatory expiry (ms), when purgatory */
  expiresAt?: number;
  /** the PR's own clone URLs (kind 'pr') */
  prClone?: string[];
}

export interface Plan {
  items: MissingItem[];
  /**
   * something can be done without fetching: A(R) or a waiting state is fully held but R is not
   * aligned with it, or a PR's tip is held without its refs/nostr/<id>
   */
  fix: boolean;
}

const nostrRef = (id: string): string => `refs/nostr/${id}`;

/**
 * The object ids whose presence decides what R misses (one `cat-file --batch-check`). Empty when
 * R is aligned with A(R), no state or PR waits, and every stored PR has its refs/nostr ref: a
 * repository with nothing to do costs no object check at all.
 */
export function oidsToCheck(f: RepoFacts): Oid[] {
  const out = new Set<Oid>();
  if (f.authoritative !== undefined && !isAligned(f.refs, f.head, f.authoritative)) {
    for (const o of f.authoritative.refs.values()) out.add(o);
  }
  for (const w of f.waiting) for (const o of w.state.refs.values()) out.add(o);
  for (const p of f.prs) if (p.inPurgatory || f.refs.get(nostrRef(p.id)) !== p.tip) out.add(p.tip);
  return [...out];
}

/** Given which of oidsToCheck(f) R lacks: the items still missing (waiting states newest first, A(R), then PRs) and whether a local fix is due. */
export function planMissing(f: RepoFacts, missing: ReadonlySet<Oid>): Plan {
  const items: MissingItem[] = [];
  let fix = false;
  const lacking = (s: StateRefs): Oid[] => [...new Set([...s.refs.values()].filter((o) => missing.has(o)))];
  for (const w of f.waiting) {
    const oids = lacking(w.state);
    if (oids.length === 0) fix = true; // its data is here: settle releases it
    else items.push({ kind: 'state', id: w.state.id, oids, purgatory: true, expiresAt: w.expiresAt });
  }
  const a = f.authoritative;
  if (a !== undefined && !isAligned(f.refs, f.head, a)) {
    const oids = lacking(a);
    if (oids.length === 0) fix = true; // e.g. a ref deleted or moved on disk: realign
    else items.push({ kind: 'state', id: a.id, oids, purgatory: false });
  }
  for (const p of f.prs) {
    if (missing.has(p.tip)) {
      items.push({
        kind: 'pr',
        id: p.id,
        oids: [p.tip],
        purgatory: p.inPurgatory,
        prClone: p.clone,
        ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
      });
    } else if (p.inPurgatory || f.refs.get(nostrRef(p.id)) !== p.tip) fix = true;
  }
  return { items, fix };
}

/** Options of source URL selection. */
export interface SourceOptions {
  /** this service's hosts (service.hosts, parsed): URLs naming them are local data, never fetched */
  hosts: readonly HostSpec[];
  /** also http:// (git.syncAllowHttp) */
  allowHttp: boolean;
  /** at most this many URLs per item (git.syncMaxUrlsPerItem) */
  max: number;
}

/**
 * The comparison form of a clone URL when it may be fetched from: http(s) only (http when
 * allowed), no credentials, scheme and host lower-case, default port and trailing slashes
 * dropped, fragment dropped. Undefined otherwise.
 */
export function normalizeCloneUrl(url: string, allowHttp: boolean): string | undefined {
  const t = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t)?.[1]?.toLowerCase();
  if (scheme !== 'https' && !(allowHttp && scheme === 'http')) return undefined;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return undefined;
  }
  if (u.username !== '' || u.password !== '') return undefined;
  return normalizeServiceUrl(t);
}

/**
 * The repository's source URLs in order: `clone` URLs of the announcements by members of M(R)
 * (the owner's first, then the other members by pubkey), then those of the other announcements
 * for d (by pubkey). Normalised, de-duplicated, URLs naming this service excluded; not truncated.
 */
export function repoSources(owner: string, members: ReadonlySet<string>, announcements: ReadonlyMap<string, NostrEvent>, opts: SourceOptions): string[] {
  const authors = [...announcements.keys()].sort();
  const order = [
    ...(announcements.has(owner) ? [owner] : []),
    ...authors.filter((a) => a !== owner && members.has(a)),
    ...authors.filter((a) => a !== owner && !members.has(a)),
  ];
  const urls: string[] = [];
  for (const a of order) urls.push(...tagValues(announcements.get(a)!, 'clone'));
  return sourceList(urls, opts, Infinity);
}

/** An item's URLs: a PR's own clone URLs first (issue 10), then the repository's; at most opts.max. */
export function itemSources(item: Pick<MissingItem, 'prClone'>, repoUrls: readonly string[], opts: SourceOptions): string[] {
  return sourceList([...(item.prClone ?? []), ...repoUrls], opts, opts.max);
}

function sourceList(urls: readonly string[], opts: SourceOptions, max: number): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of urls) {
    if (out.length >= max) break;
    const n = normalizeCloneUrl(raw, opts.allowHttp);
    if (n === undefined || seen.has(n)) continue;
    seen.add(n);
    if (urlIsService(n, ['http:', 'https:'], opts.hosts)) continue;
    out.push(n);
  }
  return out;
}
