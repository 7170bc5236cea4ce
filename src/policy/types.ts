// The write policy's public types: the decision it returns, the structured reject codes the sync
// engine reads (never the message text), and the WritePolicy interface the relay core calls.
import type { NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';

/** Where an event came from: a client's EVENT, or the GRASP-02 sync engine. Always explicit. */
export type Origin = 'client' | 'sync';

export type RejectCode =
  /** a NIP-62 request to vanish that names neither this relay nor ALL_RELAYS */
  | 'vanish-other-relay'
  /** the author is in policy.blockedPubkeys */
  | 'blocked-pubkey'
  /** the repository (pubkey/d) is in policy.repoBlocklist */
  | 'blocked-repo'
  /** policy.repoAllowlist is in force and does not name this repository */
  | 'not-allowed-repo'
  /** a 30617 whose `d` is empty or not a safe repository name */
  | 'bad-identifier'
  /** a 30617 that does not list this service in both clone and relays (and no exception applies) */
  | 'service-not-listed'
  /** a 30618 with no stored 30617 of the same `d` */
  | 'no-announcement'
  /** a 30618 whose author is not in any stored announcement's recursive maintainer set */
  | 'not-maintainer'
  /** the related-event rule found no stored event this event references or is referenced by */
  | 'unrelated'
  /** a kind 5 that names another author's event or address */
  | 'delete-others'
  /** structurally unusable for the policy */
  | 'invalid'
  /** the store failed while the policy was looking something up */
  | 'internal-error';

export type RejectPrefix = 'blocked' | 'invalid' | 'restricted' | 'error';

export type PolicyDecision =
  | { action: 'accept' }
  | {
      action: 'reject';
      prefix: RejectPrefix;
      /** the full OK message including the prefix, e.g. `restricted: …` */
      message: string;
      code: RejectCode;
      /**
       * Addresses (`kind:pubkey:d`) or ids (hex) this event depends on that are not stored (or,
       * for announcements, whose newer version could make it acceptable): the sync engine keeps
       * the event in its retry set and re-runs the policy when one of them is accepted.
       */
      waitingFor?: string[];
    };

export interface WritePolicy {
  readonly mode: 'grasp' | 'open';
  /**
   * Decide whether to accept `event`. The signature and id were already verified and duplicates
   * were already handled by the caller. Synchronous; every lookup is an index lookup.
   */
  check(event: NostrEvent, store: StoreReader, origin: Origin): PolicyDecision;
}
