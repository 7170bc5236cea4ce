// Resumable index walks newest first, in NIP-01 order (created_at descending, id ascending), and
// a k-way merge of such walks. Each fetch opens and closes its own LMDB iterator, so nothing is
// held across an await: a cursor resumes from the last key it saw.
import type { IndexDb } from './dbs.js';
import { ID_LEN, TS_LEN, compareIds, rangeHigh, rangeLow, readTs } from './keys.js';

/** An index entry: created_at and the id found at `key[off, off + 32)`; raw once loaded. */
export interface Candidate {
  ts: number;
  key: Buffer;
  off: number;
  raw?: string;
}

/** A stream of candidates in output order. head() may read from LMDB (synchronously). */
export interface Source {
  head(): Candidate | undefined;
  advance(): void;
}

/** NIP-01 order: newer first, then lower id first. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return b.ts - a.ts || compareIds(a.key, a.off, b.key, b.off);
}

export const sameEvent = (a: Candidate, b: Candidate): boolean =>
  a.ts === b.ts && compareIds(a.key, a.off, b.key, b.off) === 0;

export const idOf = (c: Candidate): Buffer => c.key.subarray(c.off, c.off + ID_LEN);

/** Work counter shared by the cursors of one query, used to decide when to yield. */
export interface Work {
  keys: number;
}

const MAX_CHUNK = 4096;

/**
 * Reverse walk of one prefix within [since, until]. A reverse key walk yields ids descending
 * within one second; entries of one created_at are held until the whole second is read and
 * then released in ascending id order, so ties at any limit boundary come out right.
 */
export class RangeCursor implements Source {
  private hi: Buffer;
  private readonly lo: Buffer;
  private skip: Buffer | undefined;
  private done = false;
  private ready: Candidate[] = [];
  private pos = 0;
  private pending: Candidate[] = [];
  private pendingTs = -1;
  private readonly off: number;

  constructor(
    private readonly db: IndexDb,
    prefix: Buffer,
    since: number,
    until: number,
    private readonly valueCheck: ((v: Buffer) => boolean) | undefined,
    private chunk: number,
    private readonly work: Work,
  ) {
    this.off = prefix.length + TS_LEN;
    this.hi = rangeHigh(prefix, until);
    this.lo = rangeLow(prefix, since);
  }

  head(): Candidate | undefined {
    while (this.pos >= this.ready.length) {
      if (this.ready.length > 0) {
        this.ready = [];
        this.pos = 0;
      }
      if (this.done) {
        if (this.pending.length === 0) return undefined;
        this.release();
      } else this.fetch();
    }
    return this.ready[this.pos];
  }

  advance(): void {
    this.pos++;
  }

  private fetch(): void {
    const limit = this.chunk + (this.skip ? 1 : 0);
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
    const opts = { start: this.hi, end: this.lo, reverse: true, limit };
    let n = 0;
    let last: Buffer | undefined;
    const skip = this.skip;
    if (this.valueCheck !== undefined) {
      const check = this.valueCheck;
      for (const { key, value } of this.db.getRange(opts)) {
        n++;
        last = key;
        if (n === 1 && skip !== undefined && key.equals(skip)) continue;
        if (check(value)) this.push(key);
      }
    } else {
      for (const key of this.db.getKeys(opts)) {
        n++;
        last = key;
        if (n === 1 && skip !== undefined && key.equals(skip)) continue;
        this.push(key);
      }
    }
    this.work.keys += n;
    if (n < limit || last === undefined) {
      this.done = true;
      this.release();
    } else {
      this.hi = last;
      this.skip = last;
    }
  }

  private push(key: Buffer): void {
    const ts = readTs(key, this.off - TS_LEN);
    if (ts !== this.pendingTs) {
      this.release();
      this.pendingTs = ts;
    }
    this.pending.push({ ts, key, off: this.off });
  }

  /** Move the completed same-second group to `ready`, lowest id first. */
  private release(): void {
    const p = this.pending;
    for (let i = p.length - 1; i >= 0; i--) this.ready.push(p[i]!);
    this.pending = [];
  }
}

/** A Source over an array already in output order. */
export class ArraySource implements Source {
  private i = 0;
  constructor(private readonly items: Candidate[]) {}
  head(): Candidate | undefined {
    return this.items[this.i];
  }
  advance(): void {
    this.i++;
  }
}

/** k-way merge of sources (binary heap on their heads). Equal entries come out adjacent. */
export class MergeSource implements Source {
  private readonly heap: Source[];

  constructor(sources: Source[]) {
    this.heap = sources.filter((s) => s.head() !== undefined);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  head(): Candidate | undefined {
    return this.heap[0]?.head();
  }

  advance(): void {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return;
    top.advance();
    if (top.head() === undefined) {
      const last = h.pop()!;
      if (h.length === 0) return;
      h[0] = last;
    }
    this.down(0);
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && compareCandidates(h[r]!.head()!, h[l]!.head()!) < 0) m = r;
      if (compareCandidates(h[m]!.head()!, h[i]!.head()!) >= 0) return;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }
}

/**
 * Forward walk (oldest first, ids ascending) of one prefix within [since, until], synchronous and
 * closed before it returns. Calls `fn(key, off)` for entries passing `valueCheck`; stops when `fn`
 * returns false. Returns the number of entries walked.
 */
export function walkForward(
  db: IndexDb,
  prefix: Buffer,
  since: number,
  until: number,
  valueCheck: ((v: Buffer) => boolean) | undefined,
  fn: (key: Buffer, off: number) => boolean,
): number {
  const off = prefix.length + TS_LEN;
  const opts = { start: rangeLow(prefix, since), end: rangeHigh(prefix, until) };
  let n = 0;
  if (valueCheck !== undefined) {
    for (const { key, value } of db.getRange(opts)) {
      n++;
      if (valueCheck(value) && !fn(key, off)) break;
    }
  } else {
    for (const key of db.getKeys(opts)) {
      n++;
      if (!fn(key, off)) break;
    }
  }
  return n;
}

/** Number of keys of one prefix within [since, until], counted natively (no values loaded). */
export function countRange(db: IndexDb, prefix: Buffer, since: number, until: number): number {
  return db.getKeysCount({ start: rangeLow(prefix, since), end: rangeHigh(prefix, until) });
}
