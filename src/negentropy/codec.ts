// Wire-level pieces of negentropy protocol version 1: u64-safe varints, hex at the API edge, a
// growable byte writer and a bounds-checked reader. No 32-bit bitwise arithmetic on values that
// may exceed 2^31 (timestamps): digits are split with division, not shifts.
import { NegentropyError } from './errors.js';

export const PROTOCOL_VERSION = 0x61;
export const ID_SIZE = 32;
export const FINGERPRINT_SIZE = 16;
export const BUCKETS = 16;
export const MODE_SKIP = 0;
export const MODE_FINGERPRINT = 1;
export const MODE_IDLIST = 2;
/** Largest u64, as a BigInt (varints above it are malformed). */
const U64_MAX = (1n << 64n) - 1n;

/** Decode lower- or upper-case hex into bytes; throws NegentropyError on any non-hex input. */
export function hexToBytes(hex: unknown): Uint8Array {
  if (typeof hex !== 'string') throw new NegentropyError('message is not a string');
  if (hex.length % 2 !== 0) throw new NegentropyError('odd-length hex');
  const buf = Buffer.from(hex, 'hex');
  // Buffer stops silently at the first non-hex pair: a short result means bad input.
  if (buf.length * 2 !== hex.length) throw new NegentropyError('invalid hex');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export function bytesToHex(bytes: Uint8Array, off = 0, len = bytes.length - off): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + off, len).toString('hex');
}

/** Number of bytes `encodeVarint` writes for n. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Varint of a non-negative integer (exact for every integer a double holds, up to 2^64 − 1). */
export function encodeVarint(n: number): Uint8Array {
  const w = new Writer(10);
  w.varint(n);
  return w.bytes();
}

/** Decode one varint from the start of `bytes` (tests and tools; the reconciler uses Reader). */
export function decodeVarint(bytes: Uint8Array): { value: number; length: number } {
  const r = new Reader(bytes, 0);
  const value = r.varint();
  return { value, length: r.pos };
}

/** Growable output buffer. */
export class Writer {
  buf: Uint8Array;
  len = 0;
  private readonly digits = new Uint8Array(10);

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): void {
    this.len = 0;
  }

  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Append `len` bytes of `src` starting at `off`. */
  copy(src: Uint8Array, off: number, len: number): void {
    this.ensure(len);
    const b = this.buf;
    if (len <= 64) {
      // short copies (bound prefixes, single ids): a loop beats allocating a subarray
      let p = this.len;
      for (let i = 0; i < len; i++) b[p++] = src[off + i];
    } else b.set(src.subarray(off, off + len), this.len);
    this.len += len;
  }

  varint(n: number): void {
    if (!(n >= 0) || !Number.isInteger(n) || n >= 18446744073709551616) {
      throw new NegentropyError(`cannot encode varint ${n}`);
    }
    if (n < 128) {
      this.byte(n);
      return;
    }
    if (n < 0x10000000) {
      // below 2^28: shifts are exact
      this.ensure(4);
      const b = this.buf;
      if (n >= 0x200000) b[this.len++] = 0x80 | (n >>> 21);
      if (n >= 0x4000) b[this.len++] = 0x80 | ((n >>> 14) & 0x7f);
      b[this.len++] = 0x80 | ((n >>> 7) & 0x7f);
      b[this.len++] = n & 0x7f;
      return;
    }
    // general case: split into base-128 digits by division (u64-safe)
    const d = this.digits;
    let k = 0;
    while (n >= 128) {
      d[k++] = n % 128;
      n = Math.floor(n / 128);
    }
    d[k++] = n;
    this.ensure(k);
    const b = this.buf;
    for (let i = k - 1; i > 0; i--) b[this.len++] = 0x80 | d[i];
    b[this.len++] = d[0];
  }

  /** A copy of the written bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  hex(): string {
    return bytesToHex(this.buf, 0, this.len);
  }
}

/** Bounds-checked reader over one received message. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** A varint as a double: exact up to 2^53, rounded above; values above 2^64 − 1 are refused. */
  varint(): number {
    const buf = this.buf;
    const start = this.pos;
    let v = 0;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= buf.length) throw new NegentropyError('truncated varint');
      const b = buf[this.pos++];
      v = v * 128 + (b & 0x7f);
      if (b < 0x80) return v;
    }
    return this.varintSlow(start);
  }

  private varintSlow(start: number): number {
    const buf = this.buf;
    this.pos = start;
    let v = 0n;
    while (true) {
      if (this.pos >= buf.length) throw new NegentropyError('truncated varint');
      const b = buf[this.pos++];
      v = (v << 7n) | BigInt(b & 0x7f);
      if (v > U64_MAX) throw new NegentropyError('varint exceeds 64 bits');
      if (b < 0x80) return Number(v);
    }
  }

  need(n: number, what: string): void {
    if (this.buf.length - this.pos < n) throw new NegentropyError(`truncated ${what}`);
  }
}
