// The event gate's contract (git.md §2.4 "Where it is decided"): after the write policy accepts a
// non-ephemeral event and before the store insert, the git half decides store | purgatory | refuse.
// Interface only: the git side implements it (src/git/gate.ts); ingest.ts calls it.
import type { NostrEvent } from '../nostr/event.js';
import type { Origin } from '../policy/index.js';
import type { PurgatoryEntry } from '../store/purgatory.js';

export type GateDecision =
  /** store now; `after` runs once durably stored, before the OK (errors logged, OK still true) */
  | { action: 'store'; after?: () => Promise<void> }
  /** ingest adds it to store.purgatory; OK true with the message (e.g. "purgatory: won't be served until git data arrives") */
  | { action: 'purgatory'; message: string; expiresAt: number }
  /** OK false with the message */
  | { action: 'refuse'; message: string };

export interface EventGate {
  /** after the policy accepted a non-ephemeral event, before the store insert */
  admit(event: NostrEvent, raw: string, origin: Origin): Promise<GateDecision>;
  /** after a kind 5 was stored: the purgatory entries it removed (the git side trashes repos of removed announcements) */
  removed?(entries: PurgatoryEntry[], why: 'deleted'): void;
  /** after an event entered purgatory (the git side schedules a hunt for its data) */
  held?(entry: PurgatoryEntry): void;
}
