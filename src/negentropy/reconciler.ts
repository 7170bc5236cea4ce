// The negentropy v1 reconciliation loop shared by initiator and responder (sides.ts) over
// NegentropyStorage's typed arrays: the reference algorithm message for message when no frame limit cuts a reply (what is
// sent after a cut differs, see run), no per-item objects, ids bytes until reported (hex at the edge).
import {
  BUCKETS,
  FINGERPRINT_SIZE,
  ID_SIZE,
  MODE_FINGERPRINT,
  MODE_IDLIST,
  MODE_SKIP,
  PROTOCOL_VERSION,
  Reader,
  Writer,
  bytesToHex,
} from './codec.js';
import { NegentropyError } from './errors.js';
import type { NegentropyStorage } from './storage.js';

/** Room the reference keeps free below the limit for the closing ranges of a message. */
const LIMIT_SLACK = 200;
/** Below this product of list sizes, IdList differences are found by a nested scan. */
const SMALL_DIFF = 2048;

/** A range bound: timestamp (Infinity for the "infinity" bound) and a zero-padded id prefix. */
class Bound {
  ts = 0;
  len = 0;
  readonly prefix = new Uint8Array(ID_SIZE);

  reset(): void {
    this.ts = 0;
    this.len = 0;
    this.prefix.fill(0);
  }
}

function compareBounds(a: Bound, b: Bound): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  const pa = a.prefix;
  const pb = b.prefix;
  for (let k = 0; k < ID_SIZE; k++) {
    const d = pa[k] - pb[k];
    if (d !== 0) return d;
  }
  return 0;
}

function compareIds(x: Uint8Array, xo: number, y: Uint8Array, yo: number): number {
  for (let k = 0; k < ID_SIZE; k++) {
    const d = x[xo + k] - y[yo + k];
    if (d !== 0) return d;
  }
  return 0;
}

/** State and loop shared by both roles. */
export class Engine {
  readonly out = new Writer(4096);
  private lastTsOut = 0;
  private lastTsIn = 0;
  private cur = new Bound();
  private prev = new Bound();
  private readonly fp = new Uint8Array(FINGERPRINT_SIZE);

  constructor(
    readonly storage: NegentropyStorage,
    readonly limit: number,
    readonly maxIncoming: number,
  ) {}

  /** First message of an initiator. */
  initiate(): void {
    const out = this.out;
    out.reset();
    this.lastTsOut = 0;
    out.byte(PROTOCOL_VERSION);
    const b = this.cur;
    b.reset();
    b.ts = Infinity;
    this.splitRange(0, this.storage.count, b);
  }

  /**
   * Process one received message; the reply is left in `out` (version byte only = nothing to
   * say). The initiator appends the ids it has and the peer lacks to `have`, the reverse to `need`.
   */
  run(q: Uint8Array, initiator: boolean, report: ((id: string, have: boolean) => void) | null): void {
    const limit = this.limit;
    if (q.length === 0) throw new NegentropyError('empty message');
    const maxIn = this.maxIncoming;
    if (maxIn !== 0 && q.length > maxIn) throw new NegentropyError(`message of ${q.length} bytes exceeds the frame size limit ${maxIn}`);
    const out = this.out;
    out.reset();
    out.byte(PROTOCOL_VERSION);
    this.lastTsIn = 0;
    this.lastTsOut = 0;
    const version = q[0];
    if (version < 0x60 || version > 0x6f) throw new NegentropyError(`invalid protocol version byte 0x${version.toString(16)}`);
    if (version !== PROTOCOL_VERSION) {
      if (initiator) throw new NegentropyError(`unsupported protocol version 0x${version.toString(16)}`);
      return; // responder: answer with our version only
    }
    const storage = this.storage;
    const n = storage.count;
    const r = new Reader(q, 1);
    const softLimit = limit === 0 ? Infinity : limit - LIMIT_SLACK;
    this.prev.reset();
    let prevIndex = 0;
    let skip = false;
    let afterInfinity = false;
    // Out of room for splits: answer further mismatched ranges with our own fingerprint over the
    // same bounds (the peer splits them next round) while that fits, instead of re-splitting
    // everything after the cut from the top as the reference does.
    let echoing = false;

    while (r.pos < q.length) {
      if (afterInfinity) throw new NegentropyError('range after the infinity bound');
      const cur = this.cur;
      this.decodeBound(r, cur);
      if (compareBounds(cur, this.prev) < 0) throw new NegentropyError('bounds out of order');
      if (cur.ts === Infinity) afterInfinity = true;
      const mode = r.varint();
      const lower = prevIndex;
      const upper = storage.lowerBound(prevIndex, n, cur.ts, cur.prefix, cur.len);
      const mark = out.len;
      const markTs = this.lastTsOut;
      const skipBefore: boolean = skip;
      let echo = false;

      if (mode === MODE_SKIP) {
        skip = true;
      } else if (mode === MODE_FINGERPRINT) {
        r.need(FINGERPRINT_SIZE, 'fingerprint');
        const fp = this.fp;
        storage.fingerprintInto(lower, upper, fp, 0);
        let same = true;
        for (let k = 0; k < FINGERPRINT_SIZE; k++) {
          if (fp[k] !== q[r.pos + k]) {
            same = false;
            break;
          }
        }
        r.pos += FINGERPRINT_SIZE;
        if (same) skip = true;
        else if (echoing) echo = true;
        else {
          if (skip) {
            skip = false;
            this.encodeBound(this.prev);
            out.varint(MODE_SKIP);
          }
          this.splitRange(lower, upper, cur);
          if (out.len > softLimit) {
            // no room for this split: roll it back and try the cheap answer instead
            out.len = mark;
            this.lastTsOut = markTs;
            skip = skipBefore;
            echoing = true;
            echo = true;
          }
        }
      } else if (mode === MODE_IDLIST) {
        const count = r.varint();
        if (count > r.remaining / ID_SIZE) throw new NegentropyError(`IdList count ${count} exceeds the message`);
        const idsOff = r.pos;
        r.pos += ID_SIZE * count;
        if (initiator) {
          if (report) this.diff(lower, upper, q, idsOff, count, report);
          skip = true;
        } else if (echoing) {
          storage.fingerprintInto(lower, upper, this.fp, 0);
          echo = true;
        } else {
          if (skip) {
            skip = false;
            this.encodeBound(this.prev);
            out.varint(MODE_SKIP);
          }
          const m = upper - lower;
          let fit = m;
          if (limit !== 0) {
            const base = out.len;
            fit = base > softLimit ? 0 : Math.floor((softLimit - base) / ID_SIZE) + 1;
          }
          if (fit < m) {
            // cut: the IdList ends at the first item left out; the rest gets a fingerprint
            const cutIdx = lower + fit;
            this.encodeItemBound(cutIdx);
            out.varint(MODE_IDLIST);
            out.varint(fit);
            out.copy(storage.ids, ID_SIZE * lower, ID_SIZE * fit);
            this.finish(cutIdx, false);
            return;
          }
          this.encodeBound(cur);
          out.varint(MODE_IDLIST);
          out.varint(m);
          out.copy(storage.ids, ID_SIZE * lower, ID_SIZE * m);
          if (out.len > softLimit) {
            this.finish(upper, false);
            return;
          }
        }
      } else {
        throw new NegentropyError(`unexpected mode ${mode}`);
      }

      if (echo) {
        // our fingerprint over the peer's bounds (this.fp holds it)
        if (skip) {
          this.encodeBound(this.prev);
          out.varint(MODE_SKIP);
        }
        this.encodeBound(cur);
        out.varint(MODE_FINGERPRINT);
        out.copy(this.fp, 0, FINGERPRINT_SIZE);
        skip = false;
        if (out.len > softLimit) {
          // not even that fits: everything from this range on gets one fingerprint
          out.len = mark;
          this.lastTsOut = markTs;
          this.finish(lower, skipBefore);
          return;
        }
      }
      prevIndex = upper;
      this.cur = this.prev;
      this.prev = cur;
    }
  }

  /**
   * End a message cut by the frame size limit: flush a pending Skip up to the last bound
   * processed, then a Fingerprint over every item from `from` up to infinity. (The reference
   * fingerprints the items after the dropped range instead, which can differ from the peer's
   * range; covering exactly the peer's range keeps settled ranges settled.)
   */
  private finish(from: number, pendingSkip: boolean): void {
    const out = this.out;
    if (pendingSkip) {
      this.encodeBound(this.prev);
      out.varint(MODE_SKIP);
    }
    this.encodeTimestamp(Infinity);
    out.varint(0);
    out.varint(MODE_FINGERPRINT);
    out.ensure(FINGERPRINT_SIZE);
    this.storage.fingerprintInto(from, this.storage.count, out.buf, out.len);
    out.len += FINGERPRINT_SIZE;
  }

  private splitRange(lower: number, upper: number, upperBound: Bound): void {
    const out = this.out;
    const storage = this.storage;
    const n = upper - lower;
    if (n < 2 * BUCKETS) {
      this.encodeBound(upperBound);
      out.varint(MODE_IDLIST);
      out.varint(n);
      out.copy(storage.ids, ID_SIZE * lower, ID_SIZE * n);
      return;
    }
    const per = Math.floor(n / BUCKETS);
    const extra = n % BUCKETS;
    let curr = lower;
    for (let i = 0; i < BUCKETS; i++) {
      const start = curr;
      curr += per + (i < extra ? 1 : 0);
      if (curr === upper) this.encodeBound(upperBound);
      else this.encodeMinimalBound(curr);
      out.varint(MODE_FINGERPRINT);
      out.ensure(FINGERPRINT_SIZE);
      storage.fingerprintInto(start, curr, out.buf, out.len);
      out.len += FINGERPRINT_SIZE;
    }
  }

  private encodeTimestamp(ts: number): void {
    if (ts === Infinity) {
      this.lastTsOut = Infinity;
      this.out.varint(0);
      return;
    }
    if (this.lastTsOut === Infinity || ts < this.lastTsOut) throw new NegentropyError('internal: bound timestamps out of order');
    this.out.varint(ts - this.lastTsOut + 1);
    this.lastTsOut = ts;
  }

  private encodeBound(b: Bound): void {
    this.encodeTimestamp(b.ts);
    this.out.varint(b.len);
    this.out.copy(b.prefix, 0, b.len);
  }

  /** The bound (timestamp, full id) of item i. */
  private encodeItemBound(i: number): void {
    this.encodeTimestamp(this.storage.timestamps[i]);
    this.out.varint(ID_SIZE);
    this.out.copy(this.storage.ids, ID_SIZE * i, ID_SIZE);
  }

  /** The shortest bound above item i − 1 and at most item i. */
  private encodeMinimalBound(i: number): void {
    const T = this.storage.timestamps;
    const ts = T[i];
    this.encodeTimestamp(ts);
    if (T[i - 1] !== ts) {
      this.out.varint(0);
      return;
    }
    const ids = this.storage.ids;
    const a = ID_SIZE * (i - 1);
    const b = ID_SIZE * i;
    let shared = 0;
    while (shared < ID_SIZE && ids[a + shared] === ids[b + shared]) shared++;
    const len = Math.min(shared + 1, ID_SIZE);
    this.out.varint(len);
    this.out.copy(ids, b, len);
  }

  private decodeBound(r: Reader, b: Bound): void {
    const v = r.varint();
    if (v === 0 || this.lastTsIn === Infinity) {
      this.lastTsIn = Infinity;
      b.ts = Infinity;
    } else {
      const ts = this.lastTsIn + (v - 1);
      if (ts >= 2 ** 64) throw new NegentropyError('bound timestamp exceeds 64 bits');
      this.lastTsIn = ts;
      b.ts = ts;
    }
    const len = r.varint();
    if (len > ID_SIZE) throw new NegentropyError(`bound id prefix of ${len} bytes`);
    r.need(len, 'bound id prefix');
    const p = b.prefix;
    const src = r.buf;
    const at = r.pos;
    for (let k = 0; k < ID_SIZE; k++) p[k] = k < len ? src[at + k] : 0;
    r.pos += len;
    b.len = len;
  }

  /** Initiator: compare our items [lower, upper) with the peer's ids and report the differences. */
  private diff(lower: number, upper: number, q: Uint8Array, off: number, count: number, report: (id: string, have: boolean) => void): void {
    const ids = this.storage.ids;
    const m = upper - lower;
    if (m === 0 || count === 0) {
      for (let i = lower; i < upper; i++) report(bytesToHex(ids, ID_SIZE * i, ID_SIZE), true);
      for (let j = 0; j < count; j++) report(bytesToHex(q, off + ID_SIZE * j, ID_SIZE), false);
      return;
    }
    if (m * count <= SMALL_DIFF) {
      const matched = new Uint8Array(count);
      for (let i = lower; i < upper; i++) {
        const io = ID_SIZE * i;
        let found = false;
        for (let j = 0; j < count; j++) {
          if (compareIds(ids, io, q, off + ID_SIZE * j) === 0) {
            matched[j] = 1;
            found = true;
          }
        }
        if (!found) report(bytesToHex(ids, io, ID_SIZE), true);
      }
      for (let j = 0; j < count; j++) if (!matched[j]) report(bytesToHex(q, off + ID_SIZE * j, ID_SIZE), false);
      return;
    }
    // large lists: sort both sides by id and merge
    const ours = new Int32Array(m);
    for (let i = 0; i < m; i++) ours[i] = ID_SIZE * (lower + i);
    ours.sort((x, y) => compareIds(ids, x, ids, y));
    const theirs = new Int32Array(count);
    for (let j = 0; j < count; j++) theirs[j] = off + ID_SIZE * j;
    theirs.sort((x, y) => compareIds(q, x, q, y));
    let i = 0;
    let j = 0;
    while (i < m || j < count) {
      const c = i === m ? 1 : j === count ? -1 : compareIds(ids, ours[i], q, theirs[j]);
      if (c < 0) {
        report(bytesToHex(ids, ours[i], ID_SIZE), true);
        i++;
      } else if (c > 0) {
        report(bytesToHex(q, theirs[j], ID_SIZE), false);
        j++;
      } else {
        const o = ours[i];
        i++;
        while (j < count && compareIds(ids, o, q, theirs[j]) === 0) j++;
      }
    }
  }
}
