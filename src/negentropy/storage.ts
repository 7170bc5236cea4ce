// Typed-array storage of a sorted (timestamp, id) set for negentropy: prefix sums of the ids as
// 256-bit little-endian integers (8 Uint32 limbs per item) make any range fingerprint O(1), and
// bounds are found by binary search. buildItems turns (timestamp, hex id) pairs into that layout.
import type { NegentropyItems } from '../store/types.js';
import { FINGERPRINT_SIZE, ID_SIZE } from './codec.js';
import { NegentropyError } from './errors.js';
import { sha256SumAndCount } from './sha256.js';

export type { NegentropyItems };

function checkTimestamp(t: number, where: string): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new NegentropyError(`${where}: timestamp ${t} is not a non-negative integer`);
}

/** Sort (timestamp, hex id) pairs into NegentropyItems; exact duplicates are dropped. */
export function buildItems(pairs: Array<[timestamp: number, idHex: string]>): NegentropyItems {
  const n = pairs.length;
  const ts = new Float64Array(n);
  const raw = new Uint8Array(ID_SIZE * n);
  const key = new Float64Array(n); // first 6 id bytes as a number: settles most comparisons
  for (let i = 0; i < n; i++) {
    const p = pairs[i];
    if (!Array.isArray(p) || p.length < 2) throw new NegentropyError(`item ${i}: not a [timestamp, id] pair`);
    checkTimestamp(p[0], `item ${i}`);
    const id = p[1];
    if (typeof id !== 'string' || id.length !== 64 || Buffer.from(id, 'hex').copy(raw, ID_SIZE * i) !== ID_SIZE) {
      throw new NegentropyError(`item ${i}: id is not 64 hex characters`);
    }
    ts[i] = p[0];
    const o = ID_SIZE * i;
    key[i] = ((((raw[o] * 256 + raw[o + 1]) * 256 + raw[o + 2]) * 256 + raw[o + 3]) * 256 + raw[o + 4]) * 256 + raw[o + 5];
  }
  const cmp = (a: number, b: number): number => {
    if (ts[a] !== ts[b]) return ts[a] - ts[b];
    if (key[a] !== key[b]) return key[a] - key[b];
    const oa = ID_SIZE * a;
    const ob = ID_SIZE * b;
    for (let k = 6; k < ID_SIZE; k++) {
      const d = raw[oa + k] - raw[ob + k];
      if (d !== 0) return d;
    }
    return 0;
  };
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = cmp(i - 1, i) < 0;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!sorted) order.sort(cmp);
  const timestamps = new Float64Array(n);
  const ids = new Uint8Array(ID_SIZE * n);
  let count = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (k > 0 && cmp(order[k - 1], i) === 0) continue;
    timestamps[count] = ts[i];
    ids.set(raw.subarray(ID_SIZE * i, ID_SIZE * i + ID_SIZE), ID_SIZE * count);
    count++;
  }
  return { count, timestamps: timestamps.subarray(0, count), ids: ids.subarray(0, ID_SIZE * count) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The ids as little-endian 32-bit words (copy; for unaligned buffers or big-endian hosts). */
function wordsOf(ids: Uint8Array, n: number): Uint32Array {
  const w = new Uint32Array(8 * n);
  const v = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
  for (let i = 0; i < 8 * n; i++) w[i] = v.getUint32(4 * i, true);
  return w;
}

/** Items per prefix-sum block: sums are kept at every STRIDE-th item (4 bytes per item). */
const STRIDE = 8;
const TWO32 = 0x100000000;

/** Read-only, precomputed view of one item set; shareable between reconcilers. */
export class NegentropyStorage {
  readonly count: number;
  readonly timestamps: Float64Array;
  readonly ids: Uint8Array;
  /** the ids as little-endian 32-bit words, 8 per item (limb 0 least significant) */
  private readonly words: Uint32Array;
  /** sums[8 j + k] = limb k of (ids[0] + … + ids[STRIDE j − 1]) mod 2^256 */
  private readonly sums: Uint32Array;
  private readonly limbs = new Uint32Array(8);

  constructor(items: NegentropyItems) {
    const n = items.count;
    if (!Number.isSafeInteger(n) || n < 0) throw new NegentropyError('items: bad count');
    if (!(items.timestamps instanceof Float64Array) || items.timestamps.length < n) throw new NegentropyError('items: timestamps too short');
    if (!(items.ids instanceof Uint8Array) || items.ids.length < ID_SIZE * n) throw new NegentropyError('items: ids too short');
    this.count = n;
    this.timestamps = items.timestamps.length === n ? items.timestamps : items.timestamps.subarray(0, n);
    this.ids = items.ids.length === ID_SIZE * n ? items.ids : items.ids.subarray(0, ID_SIZE * n);
    const ts = this.timestamps;
    const ids = this.ids;
    let prevT = -1;
    for (let i = 0; i < n; i++) {
      const t = ts[i];
      if (t > prevT) {
        prevT = t;
        continue;
      }
      if (t === prevT && this.compareItems(i - 1, i) < 0) continue;
      throw new NegentropyError(`items: not strictly ascending by (timestamp, id) at ${i} (timestamp ${t})`);
    }
    // ascending from ts[0] ≥ 0 (NaN fails every comparison above) up to a safe integer: only
    // fractional values remain to be refused
    if (n > 0 && !Number.isSafeInteger(ts[n - 1])) throw new NegentropyError('items: timestamps must be integers below 2^53');
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(ts[i])) throw new NegentropyError(`items: timestamp ${ts[i]} at ${i} is not an integer`);
    }
    const words = LITTLE_ENDIAN && ids.byteOffset % 4 === 0 ? new Uint32Array(ids.buffer, ids.byteOffset, 8 * n) : wordsOf(ids, n);
    this.words = words;
    const blocks = Math.floor(n / STRIDE);
    const sums = new Uint32Array(8 * (blocks + 1));
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let j = 0, o = 0; j < blocks; j++) {
      // add STRIDE ids limb-wise (exact in doubles), then propagate the carries once
      let a0 = s0, a1 = s1, a2 = s2, a3 = s3, a4 = s4, a5 = s5, a6 = s6, a7 = s7;
      for (let e = o + 8 * STRIDE; o < e; o += 8) {
        a0 += words[o];
        a1 += words[o + 1];
        a2 += words[o + 2];
        a3 += words[o + 3];
        a4 += words[o + 4];
        a5 += words[o + 5];
        a6 += words[o + 6];
        a7 += words[o + 7];
      }
      let c: number;
      c = Math.floor(a0 / TWO32);
      s0 = a0 - c * TWO32;
      a1 += c;
      c = Math.floor(a1 / TWO32);
      s1 = a1 - c * TWO32;
      a2 += c;
      c = Math.floor(a2 / TWO32);
      s2 = a2 - c * TWO32;
      a3 += c;
      c = Math.floor(a3 / TWO32);
      s3 = a3 - c * TWO32;
      a4 += c;
      c = Math.floor(a4 / TWO32);
      s4 = a4 - c * TWO32;
      a5 += c;
      c = Math.floor(a5 / TWO32);
      s5 = a5 - c * TWO32;
      a6 += c;
      c = Math.floor(a6 / TWO32);
      s6 = a6 - c * TWO32;
      a7 += c;
      s7 = a7 % TWO32;
      const p = 8 * (j + 1);
      sums[p] = s0;
      sums[p + 1] = s1;
      sums[p + 2] = s2;
      sums[p + 3] = s3;
      sums[p + 4] = s4;
      sums[p + 5] = s5;
      sums[p + 6] = s6;
      sums[p + 7] = s7;
    }
    this.sums = sums;
  }

  /** Compare the ids of items a and b (same timestamp assumed). */
  private compareItems(a: number, b: number): number {
    const ids = this.ids;
    const oa = 32 * a;
    const ob = 32 * b;
    for (let k = 0; k < 32; k++) {
      const d = ids[oa + k] - ids[ob + k];
      if (d !== 0) return d;
    }
    return 0;
  }

  /**
   * First index in [lo, hi) whose item is ≥ the bound (timestamp `ts`, id prefix `prefix[0, len)`
   * padded with zeros); hi when none is.
   */
  lowerBound(lo: number, hi: number, ts: number, prefix: Uint8Array, len: number): number {
    const T = this.timestamps;
    let a = lo;
    let b = hi;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (T[m] < ts) a = m + 1;
      else b = m;
    }
    if (len === 0 || a === hi || T[a] !== ts) return a;
    // items with timestamp == ts span [a, e)
    let e = hi;
    let c = a;
    while (c < e) {
      const m = (c + e) >>> 1;
      if (T[m] <= ts) c = m + 1;
      else e = m;
    }
    const ids = this.ids;
    while (a < e) {
      const m = (a + e) >>> 1;
      const o = 32 * m;
      let less = false;
      for (let k = 0; k < len; k++) {
        const d = ids[o + k] - prefix[k];
        if (d !== 0) {
          less = d < 0;
          break;
        }
      }
      if (less) a = m + 1;
      else e = m;
    }
    return a;
  }

  /** Write the 16-byte fingerprint of items [lo, hi) to `out` at `off`. */
  fingerprintInto(lo: number, hi: number, out: Uint8Array, off: number): void {
    // sum[lo, hi) = block sum at hi's block − block sum at lo's block + the partial blocks,
    // accumulated limb-wise in doubles (exact: at most 2 · STRIDE + 2 terms per limb), then one
    // carry pass
    const s = this.sums;
    const w = this.words;
    const ph = 8 * Math.floor(hi / STRIDE);
    const pl = 8 * Math.floor(lo / STRIDE);
    let a0 = s[ph] - s[pl];
    let a1 = s[ph + 1] - s[pl + 1];
    let a2 = s[ph + 2] - s[pl + 2];
    let a3 = s[ph + 3] - s[pl + 3];
    let a4 = s[ph + 4] - s[pl + 4];
    let a5 = s[ph + 5] - s[pl + 5];
    let a6 = s[ph + 6] - s[pl + 6];
    let a7 = s[ph + 7] - s[pl + 7];
    for (let o = STRIDE * ph, e = 8 * hi; o < e; o += 8) {
      a0 += w[o];
      a1 += w[o + 1];
      a2 += w[o + 2];
      a3 += w[o + 3];
      a4 += w[o + 4];
      a5 += w[o + 5];
      a6 += w[o + 6];
      a7 += w[o + 7];
    }
    for (let o = STRIDE * pl, e = 8 * lo; o < e; o += 8) {
      a0 -= w[o];
      a1 -= w[o + 1];
      a2 -= w[o + 2];
      a3 -= w[o + 3];
      a4 -= w[o + 4];
      a5 -= w[o + 5];
      a6 -= w[o + 6];
      a7 -= w[o + 7];
    }
    const limbs = this.limbs;
    let c: number;
    c = Math.floor(a0 / TWO32);
    limbs[0] = a0 - c * TWO32;
    a1 += c;
    c = Math.floor(a1 / TWO32);
    limbs[1] = a1 - c * TWO32;
    a2 += c;
    c = Math.floor(a2 / TWO32);
    limbs[2] = a2 - c * TWO32;
    a3 += c;
    c = Math.floor(a3 / TWO32);
    limbs[3] = a3 - c * TWO32;
    a4 += c;
    c = Math.floor(a4 / TWO32);
    limbs[4] = a4 - c * TWO32;
    a5 += c;
    c = Math.floor(a5 / TWO32);
    limbs[5] = a5 - c * TWO32;
    a6 += c;
    c = Math.floor(a6 / TWO32);
    limbs[6] = a6 - c * TWO32;
    a7 += c;
    c = Math.floor(a7 / TWO32);
    limbs[7] = a7 - c * TWO32; // mod 2^256: the carry out of limb 7 is dropped
    sha256SumAndCount(limbs, hi - lo, out, off, FINGERPRINT_SIZE);
  }

  /** The 16-byte fingerprint of items [lo, hi). */
  fingerprint(lo = 0, hi = this.count): Uint8Array {
    if (!(lo >= 0 && lo <= hi && hi <= this.count)) throw new NegentropyError('fingerprint: bad range');
    const out = new Uint8Array(FINGERPRINT_SIZE);
    this.fingerprintInto(lo, hi, out, 0);
    return out;
  }
}
