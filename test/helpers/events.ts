// Signed test events: deterministic keys by name, finalizeEvent from nostr-tools.
import { createHash } from 'node:crypto';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import type { NostrEvent } from '../../src/nostr/event.js';

export interface Keypair {
  sk: Uint8Array;
  pk: string;
}

/** A stable key pair for a name ("alice", "bob", ...). */
export function keypair(name: string): Keypair {
  const sk = new Uint8Array(createHash('sha256').update('grasp-relay-test:' + name).digest());
  return { sk, pk: getPublicKey(sk) };
}

let clockOffset = 0;
/** created_at values that increase by one per call, ending near now. */
export function nextTimestamp(): number {
  return Math.floor(Date.now() / 1000) - 100_000 + clockOffset++;
}

export function sign(
  who: Keypair,
  t: { kind: number; tags?: string[][]; content?: string; created_at?: number },
): NostrEvent {
  return finalizeEvent(
    { kind: t.kind, tags: t.tags ?? [], content: t.content ?? '', created_at: t.created_at ?? nextTimestamp() },
    who.sk,
  ) as NostrEvent;
}
