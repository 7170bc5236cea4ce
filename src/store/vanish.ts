// NIP-62 request to vanish, the store's side: which events a request erases (the author's own up
// to its created_at, requests to vanish excepted, and the NIP-59 gift wraps that p-tag the author),
// found in committed state and in the writer's uncommitted batches alike, and whether an event is
// one a request covers (refused when published again). Reads only: writer.ts removes what is found.
import type { NostrEvent } from '../nostr/event.js';
import type { Dbs } from './dbs.js';
import type { View } from './event-index.js';
import { ID_LEN, hexToBytes, indexKey, isHex64, readTs, tagPrefix } from './keys.js';

export const KIND_VANISH = 62;
/** NIP-59 gift wrap */
export const KIND_GIFT_WRAP = 1059;

/** A View that can also list what it has staged (the writer's overlay). */
export interface StagedView extends View {
  /** Every event staged and not removed, through the uncommitted batches: [id, raw]. */
  stagedEvents(): Iterable<[Buffer, string]>;
}

/** Whether a request to vanish covers `ev`: `pubkeyHex` asked to vanish at or after its created_at. */
export function coveredBy(ev: NostrEvent, pubkeyHex: string, until: number): boolean {
  if (ev.created_at > until) return false;
  if (ev.pubkey === pubkeyHex) return ev.kind !== KIND_VANISH;
  return ev.kind === KIND_GIFT_WRAP && pTags(ev, pubkeyHex);
}

function pTags(ev: NostrEvent, pubkeyHex: string): boolean {
  for (const t of ev.tags) if (Array.isArray(t) && t[0] === 'p' && t[1] === pubkeyHex) return true;
  return false;
}

/**
 * The events a request to vanish by `pk` at `until` erases, as [id, event]: the author's stored
 * events (index by pubkey), gift wraps that p-tag the author (index by tag), and the events of
 * either sort still staged in uncommitted batches (which no index read shows yet).
 */
export function vanishTargets(dbs: Dbs, view: StagedView, pk: Buffer, until: number): Array<[Buffer, NostrEvent]> {
  const pkHex = pk.toString('hex');
  const out = new Map<string, [Buffer, NostrEvent]>();
  const consider = (id: Buffer, raw: string | undefined): void => {
    if (raw === undefined) return;
    const key = id.toString('latin1');
    if (out.has(key)) return;
    const ev = JSON.parse(raw) as NostrEvent;
    if (coveredBy(ev, pkHex, until)) out.set(key, [id, ev]);
  };
  const zero = Buffer.alloc(ID_LEN);
  for (const key of dbs.byPubkey.getKeys({ start: indexKey(pk, 0, zero), end: indexKey(pk, until + 1, zero) })) {
    const id = Buffer.from(key.subarray(key.length - ID_LEN));
    consider(id, view.get(dbs.events, id));
  }
  const p = tagPrefix('p', pkHex).prefix;
  for (const { key, value } of dbs.byTag.getRange({ start: indexKey(p, 0, zero), end: indexKey(p, until + 1, zero) })) {
    // the tag index's value starts with the event's kind (4 bytes)
    if (value.length < 4 || value.readUInt32BE(0) !== KIND_GIFT_WRAP) continue;
    const id = Buffer.from(key.subarray(key.length - ID_LEN));
    consider(id, view.get(dbs.events, id));
  }
  for (const [id, raw] of view.stagedEvents()) {
    // the author's events and gift wraps to them both hold the pubkey's hex: skip the rest unparsed
    if (raw.includes(pkHex)) consider(id, raw);
  }
  return [...out.values()];
}

/** Whether `ev` is a gift wrap to a pubkey that asked to vanish at or after its created_at. */
export function wrapsForVanished(dbs: Dbs, view: View, ev: NostrEvent): boolean {
  if (ev.kind !== KIND_GIFT_WRAP) return false;
  for (const t of ev.tags) {
    if (!Array.isArray(t) || t[0] !== 'p' || !isHex64(t[1])) continue;
    const v = view.get(dbs.vanished, hexToBytes(t[1]));
    if (v !== undefined && readTs(v, 0) >= ev.created_at) return true;
  }
  return false;
}
