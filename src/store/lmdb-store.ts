// The LMDB-backed Store (src/store/types.ts): opens the environment and wires the writer, the
// query engine, count and NIP-77 item sets together. Point lookups live here; no index logic
// (planner.ts, cursor.ts) and no write semantics (writer.ts).
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { kindClass, type Filter, type NostrEvent } from '../nostr/event.js';
import type { InsertResult, NegentropyItems, Store, StoredEvent } from './types.js';
import { openDbs, type Dbs } from './dbs.js';
import { ExpiredIds } from './expiry.js';
import { LmdbPurgatory } from './purgatory.js';
import { STORAGE_FULL, Writer } from './writer.js';
import { quietLmdbCommitErrors, StorageHealth } from './health.js';
import { ID_LEN, TS_LEN, addressKey, hexToBytes, isIndexableLetter, isHex64
} from './keys.js';
import { committedView, isTombstoned } from './event-index.js';
import { runQuery, runQuerySync, type ReadContext } from './query.js';
import { countFilters } from './count.js';
import { negentropyFor } from './negentropy.js';

export interface OpenStoreOptions {
  dataDir: string;
  /** LMDB map size (virtual address space reserved for the file); lmdb-js grows it as needed */
  mapSizeGiB?: number;
  clock?: Clock;
  log?: Logger;
}

class LmdbStore implements Store {
  private readonly expired: ExpiredIds;
  private readonly writer: Writer;
  readonly purgatory: LmdbPurgatory;
  private readonly health: StorageHealth;
  private closed = false;

  constructor(
    private readonly dbs: Dbs,
    private readonly dataDir: string,
    clock: Clock,
    log: Logger,
  ) {
    this.expired = new ExpiredIds(dbs.expiry, clock);
    this.purgatory = new LmdbPurgatory(dbs, () => clock.now());
    const health = (this.health = new StorageHealth(dataDir, log, () => clock.now()));
    this.writer = new Writer(dbs, log, {
      now: () => this.expired.now(),
      committed: (events, seconds) => {
        health.succeeded();
        this.expired.invalidate();
        for (const l of this.batchListeners) l(events, seconds);
      },
      commitFailed: (err) => health.failed(err),
    });
  }

  private readonly batchListeners = new Set<(events: number, seconds: number) => void>();

  onWriteBatch(listener: (events: number, seconds: number) => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  private ctx(): ReadContext {
    return { dbs: this.dbs, expired: this.expired.current(), work: { keys: 0 } };
  }

  private load(id: Buffer): StoredEvent | undefined {
    const raw = this.dbs.events.get(id);
    if (raw === undefined) return undefined;
    if (this.expired.current().has(id.toString('latin1'))) return undefined;
    return { event: JSON.parse(raw) as NostrEvent, raw };
  }

  get(id: string): StoredEvent | undefined {
    return isHex64(id) ? this.load(hexToBytes(id)) : undefined;
  }

  has(id: string): boolean {
    if (!isHex64(id)) return false;
    const key = hexToBytes(id);
    return this.dbs.events.doesExist(key) && !this.expired.current().has(key.toString('latin1'));
  }

  getReplaceable(kind: number, pubkey: string, d: string): StoredEvent | undefined {
    const cls = kindClass(kind);
    if ((cls !== 'replaceable' && cls !== 'addressable') || !isHex64(pubkey)) return undefined;
    const head = this.dbs.heads.get(addressKey(kind, hexToBytes(pubkey), cls === 'addressable' ? d : ''));
    return head === undefined ? undefined : this.load(Buffer.from(head.subarray(TS_LEN, TS_LEN + ID_LEN)));
  }

  hasTagValue(letter: string, value: string): boolean {
    if (!isIndexableLetter(letter)) return false;
    return runQuerySync(this.ctx(), { [`#${letter}`]: [value] } as Filter, 1).length > 0;
  }

  isDeleted(event: NostrEvent): boolean {
    if (!isHex64(event.id) || !isHex64(event.pubkey)) return false;
    return isTombstoned(this.dbs, committedView, event, hexToBytes(event.id), hexToBytes(event.pubkey));
  }

  query(filters: Filter[], opts?: { maxLimit?: number; sliceSize?: number; sliceBytes?: number }): AsyncIterable<string[]> {
    return runQuery(() => this.ctx(), filters, opts);
  }

  querySync(filter: Filter, max: number): StoredEvent[] {
    return runQuerySync(this.ctx(), filter, max);
  }

  count(filters: Filter[]): number {
    return countFilters(this.ctx(), filters);
  }

  negentropyItems(filter: Filter, max: number): NegentropyItems | 'too-many' {
    return negentropyFor(this.ctx(), filter, max);
  }

  stats(): { events: number; bytes: number } {
    const s = this.dbs.events.getStats() as { entryCount?: number };
    return { events: s.entryCount ?? 0, bytes: fileSize(path.join(this.dataDir, 'data.mdb')) };
  }

  storageFull(): boolean {
    return this.health.full;
  }

  insert(event: NostrEvent, raw: string): Promise<InsertResult> {
    // the disk is full: refuse at once, unless it is a duplicate (which needs no write)
    if (this.health.refuseWrites()) return Promise.resolve(this.has(event.id) ? { status: 'duplicate' } : STORAGE_FULL);
    return this.writer.insert(event, raw);
  }

  getMeta<T>(key: string): T | undefined {
    return this.dbs.meta.get(key) as T | undefined;
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    try {
      await this.dbs.meta.put(key, value);
      await this.dbs.env.flushed;
    } catch (err) {
      // classify (and consume lmdb-js's separate commitError rejection), then fail the caller
      const why = await this.health.failed(err);
      throw new Error(why === 'full' ? 'storage full' : 'store write failed', { cause: err });
    }
    this.health.succeeded();
  }

  purgeExpired(now: number): Promise<number> {
    return this.writer.purgeExpired(now);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    await this.purgatory.settle();
    await this.dbs.env.flushed;
    await this.dbs.env.close();
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Open (creating if needed) the store in `dataDir`. Async: resolves once the environment is
 * open. One environment per data directory per process.
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  quietLmdbCommitErrors();
  const dbs = openDbs(opts.dataDir, opts.mapSizeGiB);
  const log = opts.log ?? silentLogger;
  return new LmdbStore(dbs, opts.dataDir, opts.clock ?? systemClock, log);
}
