// The single write path for every event, whatever its origin (client socket, sync, import):
// shape and limits → duplicate → signature → write policy → store (batched, durable) → live
// fan-out → listeners. Returns the NIP-01 OK outcome. Never throws for bad input.
import { unixNow, type Clock } from '../clock.js';
import type { LimitsConfig } from '../config/schema.js';
import type { Verifier } from '../crypto/verify.js';
import type { SubscriptionIndex } from '../live/subscription-index.js';
import type { Logger } from '../log.js';
import { isEphemeral, type NostrEvent } from '../nostr/event.js';
import type { Origin, PolicyDecision, WritePolicy } from '../policy/index.js';
import type { InsertResult, Store } from '../store/types.js';
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
export type IngestOutcome = 'stored' | 'ephemeral' | 'duplicate' | 'invalid' | 'bad-signature' | 'policy' | 'store-refused' | 'error';

export interface Ingest {
  /** validate, verify signature, policy, store, fan out. raw = the event JSON text. */
  submit(event: NostrEvent, raw: string, origin: Origin): Promise<IngestResult>;
  /** called after an event is durably stored (any origin) */
  onAccepted(listener: (event: NostrEvent, origin: Origin) => void): () => void;
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
}

const STORE_REFUSAL: Record<Exclude<InsertResult, { status: 'stored' | 'duplicate' }>['reason'], string> = {
  replaced: 'invalid: a newer version of this replaceable event is already stored',
  deleted: 'blocked: this event was deleted by its author',
  expired: 'invalid: event has expired',
  error: 'error: could not store the event',
};

export function createIngest(deps: IngestDeps): Ingest {
  const { store, verifier, policy, live, limits, clock, log } = deps;
  const listeners = new Set<(event: NostrEvent, origin: Origin) => void>();
  const counts: Record<IngestOutcome, number> = {
    stored: 0,
    ephemeral: 0,
    duplicate: 0,
    invalid: 0,
    'bad-signature': 0,
    policy: 0,
    'store-refused': 0,
    error: 0,
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

  async function run(event: NostrEvent, raw: string, origin: Origin): Promise<IngestResult> {
    const shape = checkEvent(event, limits, unixNow(clock));
    if (shape !== undefined) return refuse('invalid', shape);
    if (store.has(event.id)) return duplicate();
    if (!(await verifier.verify(event))) return refuse('bad-signature', 'invalid: event id or signature does not verify');

    const decision = policy.check(event, store, origin);
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
    live.fanOut(event, body);
    for (const l of listeners) {
      try {
        l(event, origin);
      } catch (e) {
        log.error({ err: e }, 'onAccepted listener failed');
      }
    }
    return { ok: true, duplicate: false, message: '' };
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
    onAccepted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
