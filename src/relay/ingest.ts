// The single write path for every event, whatever its origin (client socket, sync, import):
// shape and limits → duplicate (stored or in purgatory) → signature → expired-from-purgatory rule →
// write policy → gate (store | purgatory | refuse) → store (batched, durable) → live fan-out →
// listeners; release() moves a purgatory event into the store later. Returns the NIP-01 OK outcome.
// Never throws for bad input.
import { unixNow, type Clock } from '../clock.js';
import type { LimitsConfig } from '../config/schema.js';
import type { Verifier } from '../crypto/verify.js';
import type { SubscriptionIndex } from '../live/subscription-index.js';
import type { Logger } from '../log.js';
import { dTag, isEphemeral, isHex64, parseAddress, type NostrEvent } from '../nostr/event.js';
import type { Origin, PolicyDecision, WritePolicy } from '../policy/index.js';
import { KIND_ANNOUNCEMENT, KIND_STATE, newerThan, type PurgatoryEntry } from '../store/purgatory.js';
import { withPurgatory } from '../store/purgatory-view.js';
import type { InsertResult, Store, StoreReader } from '../store/types.js';
import type { EventGate } from './gate.js';
import { storableRaw } from './messages.js';
import { checkEvent } from './validate.js';

export type { Origin };
/** A write-policy refusal, as carried in IngestResult. */
export type PolicyRejection = Extract<PolicyDecision, { action: 'reject' }>;

export interface IngestResult {
  ok: boolean;
  duplicate: boolean;
  message: string;
  /** present when the write policy refused the event */
  decision?: PolicyRejection;
}

/** Outcome classes counted by the ingest path (metrics read these). */
export type IngestOutcome =
  | 'stored'
  | 'ephemeral'
  | 'duplicate'
  | 'invalid'
  | 'bad-signature'
  | 'policy'
  | 'store-refused'
  | 'error'
  /** accepted into purgatory (git.md §2.4) */
  | 'purgatory'
  /** moved from purgatory into the store by release() */
  | 'released';

export interface Ingest {
  /** validate, verify signature, policy, store, fan out. raw = the event JSON text. */
  submit(event: NostrEvent, raw: string, origin: Origin): Promise<IngestResult>;
  /**
   * Store an event held in purgatory, bypassing policy and gate (the policy ran at admission),
   * fan it out to live subscribers and onAccepted listeners as submit does, and remove it from
   * purgatory (also when the store refuses it: the store has decided).
   */
  release(event: NostrEvent, raw: string, origin: Origin): Promise<InsertResult>;
  /** called after an event is durably stored (any origin) */
  onAccepted(listener: (event: NostrEvent, origin: Origin) => void): () => void;
  /** called after an event entered purgatory (any origin): sync learns the relays of a held announcement */
  onHeld(listener: (event: NostrEvent, origin: Origin) => void): () => void;
  /** counters by outcome since start */
  readonly counts: Readonly<Record<IngestOutcome, number>>;
  /** refusals since start by reason: the policy's reject code, or the store's / validator's reason */
  readonly refusals: Readonly<Record<string, number>>;
  /** resolves when every submit in flight has finished */
  drain(): Promise<void>;
}

export interface IngestDeps {
  store: Store;
  verifier: Verifier;
  policy: WritePolicy;
  live: SubscriptionIndex;
  limits: LimitsConfig;
  clock: Clock;
  log: Logger;
  /** the git half's decision point (git.md §2.4); without it every accepted event is stored and purgatory is not consulted */
  gate?: EventGate;
  /** git.expiredRetryHours in ms: how long an id expired from purgatory is refused from sync (default 6 h) */
  expiredRetryMs?: number;
}

const PURGATORY_DUPLICATE = 'duplicate: in purgatory';
const EXPIRED_FROM_PURGATORY = 'invalid: expired from purgatory without git data';
const DEFAULT_EXPIRED_RETRY_MS = 6 * 3600_000;

const STORE_REFUSAL: Record<Exclude<InsertResult, { status: 'stored' | 'duplicate' }>['reason'], string> = {
  replaced: 'invalid: a newer version of this replaceable event is already stored',
  deleted: 'blocked: this event was deleted by its author',
  expired: 'invalid: event has expired',
  error: 'error: could not store the event',
  full: 'error: storage full',
};

export function createIngest(deps: IngestDeps): Ingest {
  const { store, verifier, policy, live, limits, clock, log, gate } = deps;
  const expiredRetryMs = deps.expiredRetryMs ?? DEFAULT_EXPIRED_RETRY_MS;
  const purgatory = store.purgatory;
  // announcements, states and deletions see purgatory announcements / events (git.md §2.4 "Visibility")
  const overlay = gate === undefined ? store : withPurgatory(store, purgatory);
  const policyView = (kind: number): StoreReader => (kind === KIND_ANNOUNCEMENT || kind === KIND_STATE || kind === 5 ? overlay : store);
  const listeners = new Set<(event: NostrEvent, origin: Origin) => void>();
  const heldListeners = new Set<(event: NostrEvent, origin: Origin) => void>();
  const counts: Record<IngestOutcome, number> = {
    stored: 0,
    ephemeral: 0,
    duplicate: 0,
    invalid: 0,
    'bad-signature': 0,
    policy: 0,
    'store-refused': 0,
    error: 0,
    purgatory: 0,
    released: 0,
  };
  const refusals: Record<string, number> = {};
  const inFlight = new Set<Promise<IngestResult>>();

  const refuse = (outcome: IngestOutcome, message: string, decision?: PolicyRejection, reason?: string): IngestResult => {
    counts[outcome]++;
    const why = decision?.code ?? reason ?? outcome;
    refusals[why] = (refusals[why] ?? 0) + 1;
    return decision ? { ok: false, duplicate: false, message, decision } : { ok: false, duplicate: false, message };
  };
  const duplicate = (): IngestResult => {
    counts.duplicate++;
    return { ok: true, duplicate: true, message: 'duplicate: already have this event' };
  };

  const accepted = (event: NostrEvent, body: string, origin: Origin): void => {
    live.fanOut(event, body);
    for (const l of listeners) {
      try {
        l(event, origin);
      } catch (e) {
        log.error({ err: e }, 'onAccepted listener failed');
      }
    }
  };

  /** A stored kind 5 removes the purgatory events of its author it names (by id, or by address up to its created_at). */
  async function deleteFromPurgatory(del: NostrEvent): Promise<void> {
    const gone = new Map<string, PurgatoryEntry>();
    for (const t of del.tags) {
      if (t.length < 2) continue;
      if (t[0] === 'e' && isHex64(t[1])) {
        const e = purgatory.get(t[1]);
        if (e !== undefined && e.event.pubkey === del.pubkey) gone.set(e.id, e);
      } else if (t[0] === 'a') {
        const a = parseAddress(t[1]!);
        if (a === undefined || a.pubkey !== del.pubkey) continue;
        for (const e of purgatory.forD(a.d)) {
          const ev = e.event;
          if (ev.kind === a.kind && ev.pubkey === a.pubkey && dTag(ev) === a.d && ev.created_at <= del.created_at) gone.set(e.id, e);
        }
      }
    }
    if (gone.size === 0) return;
    for (const id of gone.keys()) await purgatory.remove(id);
    log.debug({ id: del.id, removed: [...gone.keys()] }, 'deletion removed purgatory events');
    try {
      gate?.removed?.([...gone.values()], 'deleted');
    } catch (e) {
      log.error({ err: e }, 'gate.removed failed');
    }
  }

  /** The gate's verdict on a policy-accepted event; undefined = store it. */
  async function gated(event: NostrEvent, body: string, origin: Origin): Promise<IngestResult | (() => Promise<void>) | undefined> {
    if (gate === undefined) return undefined;
    // A purgatory event would otherwise dodge the store's own refusals until its release.
    if (store.isDeleted(event)) return refuse('store-refused', STORE_REFUSAL.deleted, undefined, 'deleted');
    if (event.kind === KIND_ANNOUNCEMENT || event.kind === KIND_STATE) {
      const d = dTag(event);
      const held = purgatory.getAddress(event.kind, event.pubkey, d);
      const head = store.getReplaceable(event.kind, event.pubkey, d);
      if ((held !== undefined && newerThan(held.event, event)) || (head !== undefined && newerThan(head.event, event))) {
        return refuse('store-refused', STORE_REFUSAL.replaced, undefined, 'replaced');
      }
    }
    const g = await gate.admit(event, body, origin);
    if (g.action === 'refuse') {
      log.debug({ id: event.id, kind: event.kind, origin, message: g.message }, 'event refused by gate');
      return refuse('policy', g.message, undefined, 'gate');
    }
    if (g.action === 'store') return g.after;
    await purgatory.add(event, body, origin, g.expiresAt);
    counts.purgatory++;
    const entry = purgatory.get(event.id);
    if (entry !== undefined) {
      try {
        gate.held?.(entry);
        for (const l of heldListeners) l(event, origin);
      } catch (e) {
        log.error({ err: e }, 'a purgatory listener failed');
      }
    }
    return { ok: true, duplicate: false, message: g.message };
  }

  async function run(event: NostrEvent, raw: string, origin: Origin): Promise<IngestResult> {
    const shape = checkEvent(event, limits, unixNow(clock));
    if (shape !== undefined) return refuse('invalid', shape);
    if (store.has(event.id)) return duplicate();
    if (gate !== undefined && purgatory.has(event.id)) {
      counts.duplicate++;
      return { ok: true, duplicate: true, message: PURGATORY_DUPLICATE };
    }
    if (!(await verifier.verify(event))) return refuse('bad-signature', 'invalid: event id or signature does not verify');

    // An id that expired from purgatory: from sync it is refused for the retry window, then
    // admitted for one more round; from a client it is admitted afresh at once.
    const expiredAt = gate === undefined ? undefined : purgatory.expiredAt(event.id);
    if (expiredAt !== undefined && origin === 'sync' && clock.now() < expiredAt + expiredRetryMs) {
      return refuse('policy', EXPIRED_FROM_PURGATORY, undefined, 'expired-purgatory');
    }

    const decision = policy.check(event, policyView(event.kind), origin);
    if (decision.action === 'reject') {
      log.debug({ id: event.id, kind: event.kind, origin, code: decision.code }, 'event refused by policy');
      return refuse('policy', decision.message, decision);
    }

    const body = storableRaw(event, raw);
    if (isEphemeral(event.kind)) {
      counts.ephemeral++;
      live.fanOut(event, body);
      return { ok: true, duplicate: false, message: '' };
    }

    if (expiredAt !== undefined) await purgatory.forgetExpired(event.id);
    const g = await gated(event, body, origin);
    if (g !== undefined && typeof g !== 'function') return g;

    let r: InsertResult;
    try {
      r = await store.insert(event, body);
    } catch (e) {
      log.error({ err: e, id: event.id }, 'store insert failed');
      return refuse('error', 'error: could not store the event');
    }
    if (r.status === 'duplicate') return duplicate();
    if (r.status === 'rejected') {
      log.debug({ id: event.id, reason: r.reason }, 'event refused by store');
      return refuse('store-refused', STORE_REFUSAL[r.reason], undefined, r.reason);
    }
    counts.stored++;
    accepted(event, body, origin);
    if (event.kind === 5) {
      try {
        await deleteFromPurgatory(event);
      } catch (e) {
        log.error({ err: e, id: event.id }, 'purgatory deletion failed');
      }
    }
    if (typeof g === 'function') {
      try {
        await g();
      } catch (e) {
        log.error({ err: e, id: event.id }, 'gate after-store step failed');
      }
    }
    return { ok: true, duplicate: false, message: '' };
  }

  async function release(event: NostrEvent, raw: string, origin: Origin): Promise<InsertResult> {
    const r = await store.insert(event, raw);
    if (r.status === 'stored') {
      counts.released++;
      accepted(event, raw, origin);
    } else if (r.status === 'rejected') {
      log.debug({ id: event.id, reason: r.reason }, 'released event refused by store');
    }
    if (r.status !== 'rejected' || r.reason !== 'error') await purgatory.remove(event.id);
    return r;
  }

  return {
    counts,
    refusals,
    submit(event, raw, origin) {
      const p = run(event, raw, origin).catch((e: unknown): IngestResult => {
        log.error({ err: e }, 'ingest failed');
        counts.error++;
        return { ok: false, duplicate: false, message: 'error: internal error' };
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      return p;
    },
    release(event, raw, origin) {
      const p = release(event, raw, origin);
      const q = p.then(
        (): IngestResult => ({ ok: true, duplicate: false, message: '' }),
        (): IngestResult => ({ ok: false, duplicate: false, message: 'error: internal error' }),
      );
      inFlight.add(q);
      void q.finally(() => inFlight.delete(q));
      return p;
    },
    onAccepted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onHeld(listener) {
      heldListeners.add(listener);
      return () => heldListeners.delete(listener);
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
