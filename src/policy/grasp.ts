// The GRASP-01 write policy rules (design/grasp.md §2): blocked authors, announcements (30617),
// state (30618), 10317, deletions (kind 5) and the related-event rule for every other kind.
// Pure: a function of (event, read-only store, compiled config); every lookup is an index lookup.
import { dTag, eventAddress, isHex64, kindClass, parseAddress, type Filter, type NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';
import type { PolicyConfig, ServiceConfig } from '../config/schema.js';
import type { PolicyDecision, RejectCode, RejectPrefix } from './types.js';
import { parsePubkeyList, RepoList } from './lists.js';
import { parseHostSpec, urlIsService, type HostSpec } from './urls.js';
import {
  announcementAddress,
  announcementsForD,
  KIND_ANNOUNCEMENT,
  KIND_STATE,
  listsService,
  maintainersOf,
  recursiveMaintainers,
  serviceListing,
} from './maintainers.js';

export const KIND_DELETION = 5;
/** NIP-62 request to vanish */
export const KIND_VANISH = 62;
export const KIND_GRASP_LIST = 10317;

/** Longest `waitingFor` list handed to the sync engine. */
const MAX_WAITING_FOR = 64;

/** The config, parsed once: host specs and lists. */
export interface CompiledPolicy {
  mode: 'grasp' | 'open';
  hosts: HostSpec[];
  canonicalHost: string;
  blockedPubkeys: Set<string>;
  repoAllowlist: RepoList;
  repoBlocklist: RepoList;
  archive: 'off' | 'allowlist' | 'all';
  archiveAllowlist: RepoList;
}

/** Parse the policy config. Throws (PolicyListError or Error) on an unusable entry. */
export function compilePolicy(cfg: { service: ServiceConfig; policy: PolicyConfig }): CompiledPolicy {
  const hosts: HostSpec[] = [];
  for (const h of cfg.service.hosts) {
    const spec = parseHostSpec(h);
    if (spec === undefined) throw new Error(`service.hosts: "${h}" is not a host name (with optional :port)`);
    hosts.push(spec);
  }
  return {
    mode: cfg.policy.mode,
    hosts,
    canonicalHost: cfg.service.hosts[0] ?? '',
    blockedPubkeys: parsePubkeyList(cfg.policy.blockedPubkeys, 'blockedPubkeys'),
    repoAllowlist: new RepoList(cfg.policy.repoAllowlist, 'repoAllowlist'),
    repoBlocklist: new RepoList(cfg.policy.repoBlocklist, 'repoBlocklist'),
    archive: cfg.policy.archive,
    archiveAllowlist: new RepoList(cfg.policy.archiveAllowlist, 'archiveAllowlist'),
  };
}

const ACCEPT: PolicyDecision = { action: 'accept' };

function reject(prefix: RejectPrefix, code: RejectCode, text: string, waitingFor?: Iterable<string>): PolicyDecision {
  const d: PolicyDecision = { action: 'reject', prefix, message: `${prefix}: ${text}`, code };
  if (waitingFor !== undefined) {
    const list = [...new Set(waitingFor)].slice(0, MAX_WAITING_FOR);
    if (list.length > 0) d.waitingFor = list;
  }
  return d;
}

/** A short, bounded rendering of untrusted values for a message: `[a, b, … (+3 more)]`. */
function showList(values: readonly string[]): string {
  const shown = values.slice(0, 5).map((v) => (v.length > 100 ? `${v.slice(0, 100)}…` : v));
  const more = values.length > 5 ? `, … (+${values.length - 5} more)` : '';
  return `[${shown.join(', ')}${more}]`;
}

const showId = (d: string): string => JSON.stringify(d.length > 100 ? `${d.slice(0, 100)}…` : d);

/** A repository identifier usable as a path component: non-empty, no `/`, `\`, NUL, not `.`/`..`. */
export function isValidRepoIdentifier(d: string): boolean {
  return d !== '' && d !== '.' && d !== '..' && !/[/\\\0]/.test(d);
}

/** The whole policy (mode `grasp`; mode `open` accepts every event of a non-blocked author). */
export function checkEvent(c: CompiledPolicy, event: NostrEvent, store: StoreReader): PolicyDecision {
  // in every mode and from every author (even a blocked one: it only erases)
  if (event.kind === KIND_VANISH) return checkVanish(c, event);
  if (c.blockedPubkeys.has(event.pubkey)) return reject('blocked', 'blocked-pubkey', 'author is blocked on this relay');
  if (c.mode === 'open') return ACCEPT;
  try {
    switch (event.kind) {
      case KIND_ANNOUNCEMENT:
        return checkAnnouncement(c, event, store);
      case KIND_STATE:
        return checkState(c, event, store);
      case KIND_GRASP_LIST:
        return ACCEPT;
      case KIND_DELETION:
        return checkDeletion(event, store);
      default:
        return checkRelated(event, store);
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return reject('error', 'internal-error', `could not check the event against the write policy (${why.slice(0, 200)})`);
  }
}

// ---- 62 ------------------------------------------------------------------------------------

/** NIP-62: a request to vanish is for the relays its `relay` tags name (or ALL_RELAYS). */
function checkVanish(c: CompiledPolicy, ev: NostrEvent): PolicyDecision {
  for (const t of ev.tags) {
    if (!Array.isArray(t) || t[0] !== 'relay' || typeof t[1] !== 'string') continue;
    if (t[1] === 'ALL_RELAYS' || urlIsService(t[1], ['ws:', 'wss:'], c.hosts)) return ACCEPT;
  }
  return reject('invalid', 'vanish-other-relay', `a request to vanish (NIP-62) must name this relay (wss://${c.canonicalHost}) or ALL_RELAYS in a relay tag`);
}

// ---- 30617 ---------------------------------------------------------------------------------

function checkAnnouncement(c: CompiledPolicy, ev: NostrEvent, store: StoreReader): PolicyDecision {
  const d = dTag(ev);
  if (!isValidRepoIdentifier(d)) {
    return reject(
      'invalid',
      'bad-identifier',
      `repository identifier (d tag) must be non-empty, must not contain "/", "\\" or NUL and must not be "." or ".."; got ${showId(d)}`,
    );
  }
  if (c.repoBlocklist.matches(ev.pubkey, d)) return reject('blocked', 'blocked-repo', `repository ${showId(d)} of this author is blocked on this relay`);

  // The stored announcements with this d, looked up at most once and only when needed.
  let stored: Map<string, NostrEvent> | undefined;
  const byAuthor = (): Map<string, NostrEvent> => (stored ??= announcementsForD(store, d));
  /** Whether the author is in the recursive maintainer set rooted at stored announcements passing `root`. */
  const maintainerOf = (root: (a: NostrEvent) => boolean): { member: boolean; unannounced: Set<string> } => {
    const m = byAuthor();
    const roots: string[] = [];
    for (const a of m.values()) if (root(a)) roots.push(a.pubkey);
    if (roots.length === 0) return { member: false, unannounced: new Set() };
    const set = recursiveMaintainers(roots, m);
    return { member: set.members.has(ev.pubkey), unannounced: set.unannounced };
  };

  if (c.repoAllowlist.size > 0 && !c.repoAllowlist.matches(ev.pubkey, d)) {
    // A maintainer's announcement of an allowed repository is the same repository.
    if (!maintainerOf((a) => c.repoAllowlist.matches(a.pubkey, d)).member) {
      return reject('restricted', 'not-allowed-repo', `repository ${showId(d)} is not on this relay's allowlist`);
    }
  }

  const listing = serviceListing(ev, c.hosts);
  if (listing.inClone && listing.inRelays) return ACCEPT;

  // Maintainer exception: the author is (recursively) a maintainer of, or the owner of, a stored
  // announcement with this d that lists the service.
  const exception = maintainerOf((a) => listsService(a, c.hosts));
  if (exception.member) return ACCEPT;

  // GRASP-05 archive mode.
  if (c.archive === 'all') return ACCEPT;
  if (c.archive === 'allowlist') {
    if (c.archiveAllowlist.matches(ev.pubkey, d)) return ACCEPT;
    if (maintainerOf((a) => c.archiveAllowlist.matches(a.pubkey, d)).member) return ACCEPT;
  }

  // What could make it acceptable later: the announcements of the maintainers it names (usually
  // the owner, listed first by ngit), a new version of a stored one with this d, or the
  // announcement of a maintainer already in a listing set.
  const waiting: string[] = [];
  for (const pk of maintainersOf(ev)) if (pk !== ev.pubkey) waiting.push(announcementAddress(pk, d));
  for (const pk of byAuthor().keys()) if (pk !== ev.pubkey) waiting.push(announcementAddress(pk, d));
  for (const pk of exception.unannounced) if (pk !== ev.pubkey) waiting.push(announcementAddress(pk, d));
  return reject(
    'restricted',
    'service-not-listed',
    `announcement must list this service (${c.canonicalHost}) in both clone and relays; found clone=${showList(listing.clone)} relays=${showList(listing.relays)}`,
    waiting,
  );
}

// ---- 30618 ---------------------------------------------------------------------------------

function checkState(c: CompiledPolicy, ev: NostrEvent, store: StoreReader): PolicyDecision {
  const d = dTag(ev);
  if (c.repoBlocklist.matches(ev.pubkey, d)) return reject('blocked', 'blocked-repo', `repository ${showId(d)} of this author is blocked on this relay`);
  // Fast path: the author's own announcement is stored.
  if (store.getReplaceable(KIND_ANNOUNCEMENT, ev.pubkey, d) !== undefined) return ACCEPT;
  const own = announcementAddress(ev.pubkey, d);
  const anns = announcementsForD(store, d);
  if (anns.size === 0) {
    return reject('invalid', 'no-announcement', `no announcement for this repository (no kind 30617 with d ${showId(d)} is stored)`, [own]);
  }
  const set = recursiveMaintainers(anns.keys(), anns);
  if (set.members.has(ev.pubkey)) return ACCEPT;
  const waiting = [own];
  for (const pk of anns.keys()) waiting.push(announcementAddress(pk, d));
  for (const pk of set.unannounced) waiting.push(announcementAddress(pk, d));
  return reject(
    'restricted',
    'not-maintainer',
    `author is not a maintainer of this repository (no stored announcement with d ${showId(d)} lists them, directly or through its maintainers)`,
    waiting,
  );
}

// ---- kind 5 --------------------------------------------------------------------------------

function checkDeletion(ev: NostrEvent, store: StoreReader): PolicyDecision {
  let targets = 0;
  let allOwnAndKnown = true;
  for (const t of ev.tags) {
    if (t.length < 2) continue;
    const v = t[1]!;
    if (t[0] === 'e') {
      if (!isHex64(v)) continue;
      targets++;
      const s = store.get(v);
      if (s === undefined) allOwnAndKnown = false;
      else if (s.event.pubkey !== ev.pubkey) return deleteOthers();
    } else if (t[0] === 'a') {
      const addr = parseAddress(v);
      if (addr === undefined) continue;
      targets++;
      if (addr.pubkey !== ev.pubkey) return deleteOthers();
    }
  }
  if (targets > 0 && allOwnAndKnown) return ACCEPT;
  return checkRelated(ev, store);
}

const deleteOthers = (): PolicyDecision =>
  reject('restricted', 'delete-others', "a deletion request may only delete its author's own events");

// ---- related-event rule --------------------------------------------------------------------

/**
 * Kinds accepted without being related to anything (10317 always; kind 5 when it deletes the
 * author's own events). They never anchor the related-event rule, neither as the target of a
 * back reference nor as the source of a forward reference: otherwise anyone could publish a 10317
 * (or an own-deletion) tagging arbitrary ids or addresses and so open the relay to those events.
 */
export const UNANCHORED_KINDS: ReadonlySet<number> = new Set([KIND_DELETION, KIND_GRASP_LIST]);

/** Stored referrers looked at per forward-reference lookup (newest first). */
const FORWARD_CANDIDATES = 16;

/**
 * Whether a stored event of an anchoring kind carries tag `[letter, value]`. One tag-index range
 * walk, at most FORWARD_CANDIDATES events. (With a kind-aware StoreReader.hasTagValue this would
 * read the kind from the index entry without loading events.)
 */
function referencedByAnchor(store: StoreReader, letter: string, value: string): boolean {
  const filter: Filter = {};
  filter[`#${letter}`] = [value];
  for (const s of store.querySync(filter, FORWARD_CANDIDATES)) if (!UNANCHORED_KINDS.has(s.event.kind)) return true;
  return false;
}

function checkRelated(ev: NostrEvent, store: StoreReader): PolicyDecision {
  const missing: string[] = [];
  const seen = new Set<string>();
  // Back references: addresses (a, A, q with ':') and ids (e, E, q without ':') of stored events.
  for (const t of ev.tags) {
    if (t.length < 2) continue;
    const name = t[0];
    const v = t[1]!;
    const isAddrTag = name === 'a' || name === 'A' || (name === 'q' && v.includes(':'));
    const isIdTag = name === 'e' || name === 'E' || (name === 'q' && !v.includes(':'));
    if (!isAddrTag && !isIdTag) continue;
    if (seen.has(v)) continue; // `e` and `E` (or several `a`) often name the same target
    seen.add(v);
    if (isAddrTag) {
      const addr = parseAddress(v);
      if (addr === undefined) continue;
      const cls = kindClass(addr.kind);
      if ((cls !== 'addressable' && cls !== 'replaceable') || UNANCHORED_KINDS.has(addr.kind)) continue;
      if (store.getReplaceable(addr.kind, addr.pubkey, addr.d) !== undefined) return ACCEPT;
      missing.push(v);
    } else if (isIdTag) {
      if (!isHex64(v)) continue;
      const s = store.get(v);
      if (s === undefined) missing.push(v);
      else if (!UNANCHORED_KINDS.has(s.event.kind)) return ACCEPT;
    }
  }
  // Forward references: a stored event already tags this id (or this address). One lookup per
  // tag letter: a filter with both #e and #E would AND them.
  if (referencedByAnchor(store, 'e', ev.id) || referencedByAnchor(store, 'E', ev.id) || referencedByAnchor(store, 'q', ev.id)) return ACCEPT;
  const address = eventAddress(ev);
  if (address !== undefined) {
    if (referencedByAnchor(store, 'a', address) || referencedByAnchor(store, 'A', address) || referencedByAnchor(store, 'q', address)) {
      return ACCEPT;
    }
  }
  return reject('restricted', 'unrelated', 'event does not reference an accepted repository or event', missing);
}
