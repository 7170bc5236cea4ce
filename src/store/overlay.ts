// A write batch's uncommitted state (see writer.ts, "Durability"): the ordered log of puts and
// removes applied atomically at commit, and a read map so the batch's later decisions (and the
// next batch's, while this one commits) see its own writes. Per-event rollback. No semantics.
import type { Database } from 'lmdb';
import type { Dbs } from './dbs.js';
import type { StagedView } from './vanish.js';

export type AnyDb = Database<unknown, Buffer>;
const REMOVED = Symbol('removed');
const ignore = (): void => {};
interface Entry {
  value: unknown;
}

/**
 * Uncommitted writes of one batch: an ordered log of puts/removes (applied in order at commit)
 * plus a read map for the databases the writer reads back (events, heads, tombstones), chained
 * to the previous batch's overlay while that one is still committing. Per-event rollback.
 */
export class Overlay implements StagedView {
  private readonly reads = new Map<AnyDb, Map<string, Entry>>();
  private ops: Array<[AnyDb, Buffer, unknown]> = [];
  private journal: Array<[Map<string, Entry>, string, Entry | undefined]> = [];
  private mark = 0;
  /** set once this batch is committed: later overlays may stop consulting it */
  committed = false;

  constructor(
    private readonly readable: ReadonlySet<AnyDb>,
    private readonly eventsDb: AnyDb,
    public parent: Overlay | undefined,
  ) {}

  private lookup(db: AnyDb, s: string): Entry | undefined {
    const e = this.reads.get(db)?.get(s);
    if (e !== undefined) return e;
    return this.parent?.lookup(db, s);
  }

  get<V>(db: Database<V, Buffer>, key: Buffer): V | undefined {
    const e = this.lookup(db as AnyDb, key.toString('latin1'));
    if (e !== undefined) return e.value === REMOVED ? undefined : (e.value as V);
    return db.get(key);
  }

  exists<V>(db: Database<V, Buffer>, key: Buffer): boolean {
    const e = this.lookup(db as AnyDb, key.toString('latin1'));
    if (e !== undefined) return e.value !== REMOVED;
    return db.doesExist(key);
  }

  put<V>(db: Database<V, Buffer>, key: Buffer, value: V): void {
    this.set(db as AnyDb, key, value);
  }

  remove<V>(db: Database<V, Buffer>, key: Buffer): void {
    this.set(db as AnyDb, key, REMOVED);
  }

  /** Events staged here or in the batch still committing before this one, not removed since. */
  stagedEvents(): Iterable<[Buffer, string]> {
    return this.unseenEvents(new Set<string>());
  }

  private *unseenEvents(seen: Set<string>): Generator<[Buffer, string]> {
    // a committed batch's events are in the indexes: vanishTargets reads them there
    if (this.committed) return;
    for (const [s, e] of this.reads.get(this.eventsDb) ?? []) {
      if (seen.has(s)) continue; // a later batch's entry for the same id wins
      seen.add(s);
      if (e.value !== REMOVED) yield [Buffer.from(s, 'latin1'), e.value as string];
    }
    if (this.parent !== undefined) yield* this.parent.unseenEvents(seen);
  }

  private set(db: AnyDb, key: Buffer, value: unknown): void {
    this.ops.push([db, key, value]);
    if (!this.readable.has(db)) return;
    let m = this.reads.get(db);
    if (m === undefined) this.reads.set(db, (m = new Map()));
    const s = key.toString('latin1');
    this.journal.push([m, s, m.get(s)]);
    m.set(s, { value });
  }

  /** The current event succeeded: forget its undo information. */
  keep(): void {
    this.journal = [];
    this.mark = this.ops.length;
  }

  /** Undo everything since the last keep() (the current event failed half-way). */
  rollback(): void {
    for (let i = this.journal.length - 1; i >= 0; i--) {
      const [m, s, prev] = this.journal[i]!;
      if (prev === undefined) m.delete(s);
      else m.set(s, prev);
    }
    this.journal = [];
    this.ops.length = this.mark;
  }

  get size(): number {
    return this.ops.length;
  }

  /** Queue every write, in order, as one atomic batch; resolves when committed. */
  commit(env: Dbs['env']): Promise<boolean> {
    const ops = this.ops;
    this.ops = [];
    const done = env.batch(() => {
      // each put/remove returns a promise that rejects too when the batch fails; the batch's own
      // promise carries the failure, so these are only kept from rejecting unhandled (one handler
      // per distinct promise: inside a batch they are mostly the same one)
      let last: Promise<unknown> | undefined;
      for (const [db, key, value] of ops) {
        const p: Promise<unknown> = value === REMOVED ? db.remove(key) : db.put(key, value);
        if (p !== last) {
          last = p;
          p.catch(ignore);
        }
      }
    });
    return done;
  }
}
