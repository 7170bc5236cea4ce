// The store's contract: what the relay, the policy, NIP-77 and sync may ask of the event store.
// Implementations live beside this file (src/store/lmdb-store.ts). Callers depend on these
// interfaces only, never on LMDB directly.
import type { Filter, NostrEvent } from '../nostr/event.js';
import type { Purgatory } from './purgatory.js';

/** A stored event: the parsed fields and its JSON exactly as it was received. */
export interface StoredEvent {
  event: NostrEvent;
  raw: string;
}

/** Result of inserting one event through the writer. */
export type InsertResult =
  | { status: 'stored'; replaced: string[]; deleted: string[] }
  | { status: 'duplicate' }
  | {
      status: 'rejected';
      /** machine reason; the relay turns it into an OK false with a NIP-01 prefix */
      /** full: the commit failed because storage is full (disk or LMDB map) */
      reason: 'replaced' | 'deleted' | 'expired' | 'error' | 'full';
      message: string;
    };

/** The sorted (created_at, id) set for NIP-77, as typed arrays, ascending by (created_at, id). */
export interface NegentropyItems {
  count: number;
  /** created_at of item i */
  timestamps: Float64Array;
  /** 32 bytes per item: id of item i at [32 i, 32 i + 32) */
  ids: Uint8Array;
}

/** Read-only queries. Every method is an index lookup or an index range walk, never a full scan. */
export interface StoreReader {
  /** The stored event with this id (hex), if any and not expired. */
  get(id: string): StoredEvent | undefined;
  has(id: string): boolean;
  /** The current head of a replaceable (d = '') or addressable event. */
  getReplaceable(kind: number, pubkey: string, d: string): StoredEvent | undefined;
  /** Whether any stored event carries tag `[letter, value, ...]` (forward references). */
  hasTagValue(letter: string, value: string): boolean;
  /**
   * Whether `event` would be refused because a stored NIP-09 deletion covers it
   * (its id was deleted by its author, or its address was deleted at or after its created_at).
   */
  isDeleted(event: NostrEvent): boolean;
  /**
   * Stored events matching any of the filters, newest first (ties by id ascending), deduplicated,
   * each filter's `limit` honoured (capped by `maxLimit`). Yields slices of raw JSON; between
   * slices it yields to the event loop and holds no read transaction open. A slice ends after
   * `sliceSize` events or once it holds `sliceBytes` characters of JSON (so at most one event more).
   */
  query(filters: Filter[], opts?: { maxLimit?: number; sliceSize?: number; sliceBytes?: number }): AsyncIterable<string[]>;
  /** Synchronous variant for small, bounded lookups (policy, sync): at most `max` events. */
  querySync(filter: Filter, max: number): StoredEvent[];
  /** NIP-45: number of distinct stored events matching any filter, from the indexes. */
  count(filters: Filter[]): number;
  /**
   * NIP-77 items for a filter (its `limit` ignored), or 'too-many' when more than `max` match.
   * Copied out of LMDB: the read transaction is released before it returns.
   */
  negentropyItems(filter: Filter, max: number): NegentropyItems | 'too-many';
  /** Number of stored events (approximate is fine) and bytes on disk. */
  stats(): { events: number; bytes: number };
  /** Whether writes currently fail because storage is full (disk or LMDB map); reads still work. */
  storageFull?(): boolean;
}

export interface StoreWriter {
  /**
   * Insert one verified event. Concurrent calls are batched into one LMDB transaction; the
   * promise resolves after that transaction is durably committed. Replaceable/addressable heads
   * and NIP-09 deletions (kind 5) are applied atomically with the insert. Ephemeral kinds must not
   * be passed here.
   */
  insert(event: NostrEvent, raw: string): Promise<InsertResult>;
}

export interface Store extends StoreReader, StoreWriter {
  /** Events waiting for git data, expired ids and refs/nostr placeholders (git.md §2.4); never queried by REQ/COUNT/NIP-77. */
  readonly purgatory: Purgatory;
  /** Small key/value area for other modules' persistent state (sync state), JSON values. */
  getMeta<T>(key: string): T | undefined;
  putMeta(key: string, value: unknown): Promise<void>;
  /** Delete expired events (NIP-40); returns how many were removed. */
  purgeExpired(now: number): Promise<number>;
  /** Observe committed write transactions: events in the batch, seconds from decision to durable. */
  onWriteBatch?(listener: (events: number, seconds: number) => void): () => void;
  /** Finish pending writes and close the environment. */
  close(): Promise<void>;
}
