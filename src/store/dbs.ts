// The LMDB environment and its named sub-databases (one place that knows their names and
// encodings). Opening and closing only: the layouts of keys live in keys.ts, logic elsewhere.
import { open, type Database, type RootDatabase } from 'lmdb';

/** Binary-keyed index: values are small binary blobs (often empty). */
export type IndexDb = Database<Buffer, Buffer>;

export interface Dbs {
  env: RootDatabase;
  /** id (32 bytes) → the event JSON exactly as received */
  events: Database<string, Buffer>;
  /** pubkey + ts + id → kind (4 bytes) */
  byPubkey: IndexDb;
  /** kind + ts + id → empty */
  byKind: IndexDb;
  /** pubkey + kind + ts + id → empty */
  byPubkeyKind: IndexDb;
  /** letter + tag value + ts + id → kind (4 bytes) + pubkey (32 bytes) */
  byTag: IndexDb;
  /** ts + id → empty */
  byCreated: IndexDb;
  /** address (kind + pubkey + d) → ts + id of the current head */
  heads: IndexDb;
  /** expires_at + id → empty */
  expiry: IndexDb;
  /** deleted id + deleter pubkey → empty */
  delIds: IndexDb;
  /** deleted address → ts (8 bytes): deletion created_at (highest) */
  delAddrs: IndexDb;
  /** NIP-62: pubkey that asked to vanish → ts (8 bytes): created_at of its latest request */
  vanished: IndexDb;
  /** other modules' state: string → JSON */
  meta: Database<unknown, string>;
  /** purgatory (git.md §2.4): id (32 bytes) → entry JSON (raw event, d list, origin, times, dormant) */
  purgatory: Database<unknown, Buffer>;
  /** purgatory by identifier: d length (2 bytes) + d + id → empty */
  purgD: IndexDb;
  /** ids expired from purgatory: id → expired-at ms (8 bytes) */
  purgExpired: IndexDb;
  /** refs/nostr placeholders: repoKey + NUL + event id (hex) → JSON { tip, pushedAt } */
  nostrRefs: Database<unknown, Buffer>;
}

export function openDbs(dataDir: string, mapSizeGiB: number | undefined): Dbs {
  const env = open({
    path: dataDir,
    maxDbs: 32,
    // Commits are followed by an explicit wait for `flushed` (see writer.ts).
    overlappingSync: true,
    // Every write goes through an explicit env.batch() (writer.ts) or putMeta; lmdb-js's own
    // event-turn batching would wrap them in an extra internal commit promise that nobody can
    // handle, so a failed commit (disk full) would reject it unhandled.
    eventTurnBatching: false,
    ...(mapSizeGiB !== undefined ? { mapSize: Math.round(mapSizeGiB * 1024 ** 3) } : {}),
  });
  const bin = (name: string): IndexDb =>
    env.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary' });
  // one write transaction (one fsync) for creating/opening all named databases
  return env.transactionSync(() => ({
    env,
    events: env.openDB<string, Buffer>('events', { keyEncoding: 'binary', encoding: 'string' }),
    byPubkey: bin('ix_pubkey'),
    byKind: bin('ix_kind'),
    byPubkeyKind: bin('ix_pubkey_kind'),
    byTag: bin('ix_tag'),
    byCreated: bin('ix_created'),
    heads: bin('heads'),
    expiry: bin('expiry'),
    delIds: bin('del_ids'),
    delAddrs: bin('del_addrs'),
    vanished: bin('vanished'),
    meta: env.openDB<unknown, string>('meta', { encoding: 'json' }),
    purgatory: env.openDB<unknown, Buffer>('purgatory', { keyEncoding: 'binary', encoding: 'json' }),
    purgD: bin('purg_d'),
    purgExpired: bin('purg_expired'),
    nostrRefs: env.openDB<unknown, Buffer>('nostr_refs', { keyEncoding: 'binary', encoding: 'json' }),
  }));
}
