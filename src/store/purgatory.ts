// Purgatory as store state (git.md §2.4): events the policy accepted that wait for git data, the
// ids that expired from it, and refs/nostr placeholders, in their own LMDB sub-databases of the
// store's environment. Nothing here is in the events DB or its indexes, so REQ, COUNT and NIP-77
// never see it. Also the expiry sweep (pure over the Purgatory interface, clock injected).
import type { NostrEvent } from '../nostr/event.js';
import { dTag, parseAddress } from '../nostr/event.js';
import type { Dbs } from './dbs.js';
import { EMPTY, ID_LEN, hexToBytes, isHex64, readTs, tsBytes } from './keys.js';
import { consumeCommitError, ignoreRejection } from './health.js';

export type PurgatoryOrigin = 'client' | 'sync';

export interface PurgatoryEntry {
  id: string;
  /** the event JSON as it will be stored on release */
  raw: string;
  event: NostrEvent;
  /** the repository identifiers it concerns: its `d` (30617/30618) or the d of each 30617 `a` tag (1618/1619) */
  d: string[];
  origin: PurgatoryOrigin;
  /** ms */
  addedAt: number;
  /** ms */
  expiresAt: number;
  /** an announcement past its purgatory time, kept so a late state can revive it */
  dormant: boolean;
}

/** A pushed refs/nostr/<id> that no known event claims yet (git.md §2.8). */
export interface NostrRefRecord {
  repoKey: string;
  id: string;
  tip: string;
  /** ms */
  pushedAt: number;
}

export interface Purgatory {
  get(id: string): PurgatoryEntry | undefined;
  has(id: string): boolean;
  /** every entry whose d list contains d (any kind), oldest first */
  forD(d: string): PurgatoryEntry[];
  /** the entry for an addressable event's address (kind:pubkey:d), newest version only */
  getAddress(kind: number, pubkey: string, d: string): PurgatoryEntry | undefined;
  /** add; an older purgatory version of the same address (30617/30618) is replaced (removed) */
  add(event: NostrEvent, raw: string, origin: PurgatoryOrigin, expiresAt: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** new expiry (and dormant flag) for an entry */
  extend(id: string, expiresAt: number, dormant?: boolean): Promise<void>;
  /** entries with expiresAt <= now */
  due(now: number): PurgatoryEntry[];
  /** every entry (a scan: for start-up, where purgatory is small) */
  all(): PurgatoryEntry[];
  /** remove and remember the id as expired at `at` */
  expire(id: string, at: number): Promise<void>;
  expiredAt(id: string): number | undefined;
  forgetExpired(id: string): Promise<void>;
  putNostrRef(r: NostrRefRecord): Promise<void>;
  getNostrRef(repoKey: string, id: string): NostrRefRecord | undefined;
  deleteNostrRef(repoKey: string, id: string): Promise<void>;
  nostrRefs(repoKey: string): NostrRefRecord[];
  allNostrRefs(): NostrRefRecord[];
  /** placeholders pushed at or before now - ttlMs */
  dueNostrRefs(now: number, ttlMs: number): NostrRefRecord[];
  /** entries by kind (dormant announcements separately), expired ids remembered, placeholders */
  counts(): { byKind: Record<string, number>; dormant: number; expired: number; nostrRefs: number };
  /** every id held (entries + expired) for sync de-duplication */
  holds(id: string): boolean;
}

export const KIND_ANNOUNCEMENT = 30617;
export const KIND_STATE = 30618;
const PR_KINDS: ReadonlySet<number> = new Set([1618, 1619]);

/** The identifiers an event concerns (deduplicated, in tag order). */
export function purgatoryDs(event: NostrEvent): string[] {
  if (event.kind === KIND_ANNOUNCEMENT || event.kind === KIND_STATE) return [dTag(event)];
  const out: string[] = [];
  if (PR_KINDS.has(event.kind)) {
    for (const t of event.tags) {
      if (t[0] !== 'a' || t.length < 2) continue;
      const a = parseAddress(t[1]!);
      if (a !== undefined && a.kind === KIND_ANNOUNCEMENT && !out.includes(a.d)) out.push(a.d);
    }
  }
  return out;
}

/** Stored form of an entry (the id is the key; the event is re-parsed from raw). */
interface EntryValue {
  raw: string;
  kind: number;
  d: string[];
  origin: PurgatoryOrigin;
  addedAt: number;
  expiresAt: number;
  dormant: boolean;
}

interface RefValue {
  tip: string;
  pushedAt: number;
}

type Op = [db: Dbs['purgatory'] | Dbs['purgD'] | Dbs['purgExpired'] | Dbs['nostrRefs'], key: Buffer, value: unknown];
const REMOVE = Symbol('remove');

function dPrefix(d: string): Buffer {
  const b = Buffer.from(d, 'utf8');
  const p = Buffer.allocUnsafe(4 + b.length);
  p.writeUInt32BE(b.length, 0);
  b.copy(p, 4);
  return p;
}

const FF = Buffer.alloc(ID_LEN + 1, 0xff);
const refKey = (repoKey: string, id: string): Buffer => Buffer.from(`${repoKey}\0${id}`, 'utf8');

/** Newer by NIP-01 replaceable order: created_at, ties → the lowest id. */
export function newerThan(a: NostrEvent, b: NostrEvent): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id);
}

export class LmdbPurgatory implements Purgatory {
  /** mutations run one after another, each deciding against the state the previous one committed */
  private chain: Promise<unknown> = Promise.resolve();

  /** `now`: the store's clock (ms), for addedAt */
  constructor(
    private readonly dbs: Dbs,
    private readonly now: () => number,
  ) {}

  private toEntry(id: string, v: EntryValue): PurgatoryEntry {
    return {
      id,
      raw: v.raw,
      event: JSON.parse(v.raw) as NostrEvent,
      d: v.d,
      origin: v.origin,
      addedAt: v.addedAt,
      expiresAt: v.expiresAt,
      dormant: v.dormant,
    };
  }

  private value(id: string): EntryValue | undefined {
    if (!isHex64(id)) return undefined;
    return this.dbs.purgatory.get(hexToBytes(id)) as EntryValue | undefined;
  }

  /** Queue a mutation: `plan` reads committed state and returns the writes, applied atomically and durably. */
  private mutate(plan: () => Op[]): Promise<void> {
    const run = async (): Promise<void> => {
      const ops = plan();
      if (ops.length === 0) return;
      await this.dbs.env
        .batch(() => {
          for (const [db, key, value] of ops) {
            ignoreRejection(value === REMOVE ? db.remove(key) : (db as Dbs['purgatory']).put(key, value));
          }
        })
        .catch((err: unknown) => {
          throw consumeCommitError(err);
        });
      await this.dbs.env.flushed;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private removeOps(id: string, v: { d: string[] }): Op[] {
    const key = hexToBytes(id);
    const ops: Op[] = [[this.dbs.purgatory, key, REMOVE]];
    for (const d of v.d) ops.push([this.dbs.purgD, Buffer.concat([dPrefix(d), key]), REMOVE]);
    return ops;
  }

  get(id: string): PurgatoryEntry | undefined {
    const v = this.value(id);
    return v === undefined ? undefined : this.toEntry(id, v);
  }

  has(id: string): boolean {
    return isHex64(id) && this.dbs.purgatory.doesExist(hexToBytes(id));
  }

  forD(d: string): PurgatoryEntry[] {
    const prefix = dPrefix(d);
    const out: PurgatoryEntry[] = [];
    for (const key of this.dbs.purgD.getKeys({ start: prefix, end: Buffer.concat([prefix, FF]) })) {
      if (key.length !== prefix.length + ID_LEN) continue;
      const id = key.subarray(prefix.length).toString('hex');
      const e = this.get(id);
      if (e !== undefined) out.push(e);
    }
    return out.sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private versions(kind: number, pubkey: string, d: string): PurgatoryEntry[] {
    return this.forD(d).filter((e) => e.event.kind === kind && e.event.pubkey === pubkey && dTag(e.event) === d);
  }

  getAddress(kind: number, pubkey: string, d: string): PurgatoryEntry | undefined {
    let best: PurgatoryEntry | undefined;
    for (const e of this.versions(kind, pubkey, d)) if (best === undefined || newerThan(e.event, best.event)) best = e;
    return best;
  }

  add(event: NostrEvent, raw: string, origin: PurgatoryOrigin, expiresAt: number): Promise<void> {
    return this.mutate(() => {
      const key = hexToBytes(event.id);
      const ds = purgatoryDs(event);
      const ops: Op[] = [];
      if (event.kind === KIND_ANNOUNCEMENT || event.kind === KIND_STATE) {
        for (const old of this.versions(event.kind, event.pubkey, ds[0]!)) {
          if (old.id === event.id) continue;
          if (newerThan(old.event, event)) return []; // a newer version is already held: keep it
          ops.push(...this.removeOps(old.id, old));
        }
      }
      const v: EntryValue = { raw, kind: event.kind, d: ds, origin, addedAt: this.now(), expiresAt, dormant: false };
      const prev = this.value(event.id);
      if (prev !== undefined) v.addedAt = prev.addedAt;
      ops.push([this.dbs.purgatory, key, v]);
      for (const d of ds) ops.push([this.dbs.purgD, Buffer.concat([dPrefix(d), key]), EMPTY]);
      return ops;
    });
  }

  remove(id: string): Promise<void> {
    return this.mutate(() => {
      const v = this.value(id);
      return v === undefined ? [] : this.removeOps(id, v);
    });
  }

  extend(id: string, expiresAt: number, dormant?: boolean): Promise<void> {
    return this.mutate(() => {
      const v = this.value(id);
      if (v === undefined) return [];
      return [[this.dbs.purgatory, hexToBytes(id), { ...v, expiresAt, dormant: dormant ?? v.dormant }]];
    });
  }

  due(now: number): PurgatoryEntry[] {
    const out: PurgatoryEntry[] = [];
    for (const { key, value } of this.dbs.purgatory.getRange({})) {
      const v = value as EntryValue;
      if (v.expiresAt <= now) out.push(this.toEntry(key.toString('hex'), v));
    }
    return out;
  }

  all(): PurgatoryEntry[] {
    return this.due(Number.POSITIVE_INFINITY);
  }

  expire(id: string, at: number): Promise<void> {
    return this.mutate(() => {
      if (!isHex64(id)) return [];
      const v = this.value(id);
      const ops = v === undefined ? [] : this.removeOps(id, v);
      ops.push([this.dbs.purgExpired, hexToBytes(id), tsBytes(at)]);
      return ops;
    });
  }

  expiredAt(id: string): number | undefined {
    if (!isHex64(id)) return undefined;
    const v = this.dbs.purgExpired.get(hexToBytes(id));
    return v === undefined ? undefined : readTs(v, 0);
  }

  forgetExpired(id: string): Promise<void> {
    return this.mutate(() => (isHex64(id) ? [[this.dbs.purgExpired, hexToBytes(id), REMOVE]] : []));
  }

  putNostrRef(r: NostrRefRecord): Promise<void> {
    const v: RefValue = { tip: r.tip, pushedAt: r.pushedAt };
    return this.mutate(() => [[this.dbs.nostrRefs, refKey(r.repoKey, r.id), v]]);
  }

  getNostrRef(repoKey: string, id: string): NostrRefRecord | undefined {
    const v = this.dbs.nostrRefs.get(refKey(repoKey, id)) as RefValue | undefined;
    return v === undefined ? undefined : { repoKey, id, tip: v.tip, pushedAt: v.pushedAt };
  }

  deleteNostrRef(repoKey: string, id: string): Promise<void> {
    return this.mutate(() => [[this.dbs.nostrRefs, refKey(repoKey, id), REMOVE]]);
  }

  private refRange(start?: Buffer, end?: Buffer, repoKey?: string): NostrRefRecord[] {
    const out: NostrRefRecord[] = [];
    const range = start === undefined ? {} : { start, end };
    for (const { key, value } of this.dbs.nostrRefs.getRange(range)) {
      const s = key.toString('utf8');
      const rk = s.slice(0, -65);
      if (s.length < 65 || s[s.length - 65] !== '\0' || (repoKey !== undefined && rk !== repoKey)) continue;
      const v = value as RefValue;
      out.push({ repoKey: rk, id: s.slice(-64), tip: v.tip, pushedAt: v.pushedAt });
    }
    return out;
  }

  nostrRefs(repoKey: string): NostrRefRecord[] {
    return this.refRange(Buffer.from(`${repoKey}\0`, 'utf8'), Buffer.from(`${repoKey}\x01`, 'utf8'), repoKey);
  }

  allNostrRefs(): NostrRefRecord[] {
    return this.refRange();
  }

  dueNostrRefs(now: number, ttlMs: number): NostrRefRecord[] {
    return this.allNostrRefs().filter((r) => r.pushedAt <= now - ttlMs);
  }

  counts(): { byKind: Record<string, number>; dormant: number; expired: number; nostrRefs: number } {
    const byKind: Record<string, number> = {};
    let dormant = 0;
    for (const { value } of this.dbs.purgatory.getRange({})) {
      const v = value as EntryValue;
      if (v.dormant) dormant++;
      else byKind[String(v.kind)] = (byKind[String(v.kind)] ?? 0) + 1;
    }
    const n = (db: { getStats(): unknown }): number => (db.getStats() as { entryCount?: number }).entryCount ?? 0;
    return { byKind, dormant, expired: n(this.dbs.purgExpired), nostrRefs: n(this.dbs.nostrRefs) };
  }

  holds(id: string): boolean {
    if (!isHex64(id)) return false;
    const k = hexToBytes(id);
    return this.dbs.purgatory.doesExist(k) || this.dbs.purgExpired.doesExist(k);
  }

  /** Wait for every queued mutation (close). */
  async settle(): Promise<void> {
    await this.chain;
  }
}

/**
 * Whether the Nostr sync engine should treat `id` as held (not fetch it, drop it on arrival): in
 * purgatory, or expired from it less than `retryMs` ago (after that, sync may bring it back for
 * one more round, git.md §2.4).
 */
export function heldForSync(purgatory: Pick<Purgatory, 'has' | 'expiredAt'>, id: string, now: number, retryMs: number): boolean {
  if (purgatory.has(id)) return true;
  const at = purgatory.expiredAt(id);
  return at !== undefined && now < at + retryMs;
}

/** What one sweep did: the caller moves the repos of these announcements to trash. */
export interface SweepResult {
  /** dropped and remembered as expired (states, PRs, dormant announcements past their time) */
  expired: PurgatoryEntry[];
  /** announcements that just became dormant (kept revivable for dormantMs) */
  dormant: PurgatoryEntry[];
}

/**
 * The purgatory expiry sweep (git.md §2.4 "Expiry"): every entry due at `now` is expired, except a
 * live announcement (30617), which becomes dormant for `dormantMs` first. The caller runs it on a
 * clock timer (every 60 s) and moves repos to trash.
 */
export async function sweepPurgatory(purgatory: Purgatory, now: number, cfg: { dormantMs: number }): Promise<SweepResult> {
  const out: SweepResult = { expired: [], dormant: [] };
  for (const e of purgatory.due(now)) {
    if (e.event.kind === KIND_ANNOUNCEMENT && !e.dormant) {
      await purgatory.extend(e.id, now + cfg.dormantMs, true);
      out.dormant.push({ ...e, expiresAt: now + cfg.dormantMs, dormant: true });
    } else {
      await purgatory.expire(e.id, now);
      out.expired.push(e);
    }
  }
  return out;
}
