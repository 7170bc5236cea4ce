// What one event contributes to the indexes (the exact keys and values), and the NIP-09 tombstone
// check, both over a read View so the writer (uncommitted overlay) and readers (committed state)
// share them. No writes here: writer.ts applies these entries.
import { dTag, kindClass, type NostrEvent } from '../nostr/event.js';
import type { Database } from 'lmdb';
import type { Dbs, IndexDb } from './dbs.js';
import {
  EMPTY,
  addressKey,
  idTombstoneKey,
  indexKey,
  isIndexableLetter,
  kindBytes,
  readTs,
  tagPrefix,
} from './keys.js';
import { expirationOf } from '../nostr/event.js';
import { wrapsForVanished } from './vanish.js';

/** Point reads, either of committed state or through the writer's uncommitted overlay. */
export interface View {
  get<V>(db: Database<V, Buffer>, key: Buffer): V | undefined;
  exists<V>(db: Database<V, Buffer>, key: Buffer): boolean;
}

export const committedView: View = {
  get: <V>(db: Database<V, Buffer>, key: Buffer): V | undefined => db.get(key),
  exists: <V>(db: Database<V, Buffer>, key: Buffer): boolean => db.doesExist(key),
};

/** The address key of a replaceable/addressable event, or undefined for other kinds. */
export function eventAddressKey(ev: NostrEvent, pk: Buffer): Buffer | undefined {
  const c = kindClass(ev.kind);
  if (c === 'replaceable') return addressKey(ev.kind, pk, '');
  if (c === 'addressable') return addressKey(ev.kind, pk, dTag(ev));
  return undefined;
}

/** Every (index db, key, value) the event has, except the primary record and the head. */
export function indexEntries(dbs: Dbs, ev: NostrEvent, id: Buffer, pk: Buffer): Array<[IndexDb, Buffer, Buffer]> {
  const ts = ev.created_at;
  const kb = kindBytes(ev.kind);
  const out: Array<[IndexDb, Buffer, Buffer]> = [
    [dbs.byPubkey, indexKey(pk, ts, id), kb],
    [dbs.byKind, indexKey(kb, ts, id), EMPTY],
    [dbs.byPubkeyKind, indexKey(Buffer.concat([pk, kb]), ts, id), EMPTY],
    [dbs.byCreated, indexKey(EMPTY, ts, id), EMPTY],
  ];
  let tagValue: Buffer | undefined;
  for (const t of ev.tags) {
    if (!Array.isArray(t) || t.length < 2) continue;
    const name = t[0];
    const value = t[1];
    if (typeof name !== 'string' || typeof value !== 'string' || !isIndexableLetter(name)) continue;
    tagValue ??= Buffer.concat([kb, pk]);
    out.push([dbs.byTag, indexKey(tagPrefix(name, value).prefix, ts, id), tagValue]);
  }
  const exp = expirationOf(ev);
  if (exp !== undefined) out.push([dbs.expiry, indexKey(EMPTY, exp, id), EMPTY]);
  return out;
}

/**
 * NIP-09: whether a stored deletion covers this event (same-author id deletion, or its address);
 * NIP-62: or its author asked to vanish at or after its created_at (requests themselves are kept),
 * or it is a gift wrap to a pubkey that did.
 */
export function isTombstoned(dbs: Dbs, view: View, ev: NostrEvent, id: Buffer, pk: Buffer): boolean {
  if (ev.kind !== 62) {
    const v = view.get(dbs.vanished, pk);
    if (v !== undefined && readTs(v, 0) >= ev.created_at) return true;
  }
  if (wrapsForVanished(dbs, view, ev)) return true;
  if (ev.kind !== 5 && view.exists(dbs.delIds, idTombstoneKey(id, pk))) return true;
  const ak = eventAddressKey(ev, pk);
  if (ak !== undefined) {
    const v = view.get(dbs.delAddrs, ak);
    if (v !== undefined && readTs(v, 0) >= ev.created_at) return true;
  }
  return false;
}
