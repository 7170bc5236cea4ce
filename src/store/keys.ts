// Binary key encodings of every LMDB index: prefixes, the (created_at, id) suffix, tag values,
// replaceable/addressable addresses, expiration and tombstone keys. Pure byte layout only: no
// database access and no query logic (see planner.ts, writer.ts).
import { sha256 } from '@noble/hashes/sha2.js';

export const ID_LEN = 32;
export const TS_LEN = 8;
/** created_at (8 bytes BE) + id (32 bytes): the suffix every time-ordered index key ends with. */
export const SUFFIX_LEN = TS_LEN + ID_LEN;
/** Non-hex tag values longer than this (utf8 bytes) are truncated in keys and post-filtered. */
export const TAG_MAX_BYTES = 200;
const TAG_HEX = 1;
const TAG_STR = 2;
/** Addressable `d` values longer than this (utf8 bytes) are hashed in head/tombstone keys. */
const D_MAX_BYTES = 512;
export const MAX_TS = Number.MAX_SAFE_INTEGER;
export const EMPTY = Buffer.alloc(0);
const FF = Buffer.alloc(ID_LEN + 1, 0xff);

/** Clamp a created_at / expiration to what the 8-byte key field can hold. */
export function clampTs(ts: number): number {
  if (!(ts > 0)) return 0;
  if (ts >= MAX_TS) return MAX_TS;
  return Math.floor(ts);
}

export function writeTs(buf: Buffer, off: number, ts: number): void {
  const t = clampTs(ts);
  buf.writeUInt32BE(Math.floor(t / 0x100000000), off);
  buf.writeUInt32BE(t >>> 0, off + 4);
}

export function readTs(buf: Uint8Array, off: number): number {
  return (
    (buf[off]! * 0x1000000 + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!)) * 0x100000000 +
    (buf[off + 4]! * 0x1000000 + ((buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!))
  );
}

export function tsBytes(ts: number): Buffer {
  const b = Buffer.allocUnsafe(TS_LEN);
  writeTs(b, 0, ts);
  return b;
}

/** Lowercase 64-hex check without a regex (hot: every tag value of every event passes here). */
export function isHex64(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** 64-hex → 32 bytes (caller validated with isHex64). */
export const hexToBytes = (hex: string): Buffer => Buffer.from(hex, 'hex');

export function kindBytes(kind: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(kind >>> 0, 0);
  return b;
}

export const isIndexableKind = (k: unknown): k is number =>
  typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 0xffffffff;

/** prefix + created_at + id */
export function indexKey(prefix: Buffer, ts: number, id: Buffer): Buffer {
  const k = Buffer.allocUnsafe(prefix.length + SUFFIX_LEN);
  prefix.copy(k, 0);
  writeTs(k, prefix.length, ts);
  id.copy(k, prefix.length + TS_LEN);
  return k;
}

export const pubkeyKindPrefix = (pk: Buffer, kind: number): Buffer => Buffer.concat([pk, kindBytes(kind)]);

/** Whether a tag name is indexed (single ASCII character). */
export const isIndexableLetter = (name: string): boolean =>
  name.length === 1 && name.charCodeAt(0) > 0 && name.charCodeAt(0) < 128;

/**
 * Prefix of the tag index for `[letter, value]`: letter, type marker, then 32 bytes for lowercase
 * 64-hex values or a length byte + utf8 (truncated) for others. `exact` is false when the value
 * was truncated, so a key match must be confirmed against the event.
 */
export function tagPrefix(letter: string, value: string): { prefix: Buffer; exact: boolean } {
  if (isHex64(value)) {
    const p = Buffer.allocUnsafe(2 + ID_LEN);
    p[0] = letter.charCodeAt(0);
    p[1] = TAG_HEX;
    p.write(value, 2, 'hex');
    return { prefix: p, exact: true };
  }
  const bytes = Buffer.from(value, 'utf8');
  const n = Math.min(bytes.length, TAG_MAX_BYTES);
  const p = Buffer.allocUnsafe(3 + n);
  p[0] = letter.charCodeAt(0);
  p[1] = TAG_STR;
  p[2] = n;
  bytes.copy(p, 3, 0, n);
  return { prefix: p, exact: bytes.length < TAG_MAX_BYTES };
}

/** Key of a replaceable (d = '') or addressable event's address: kind, pubkey, d (hashed if long). */
export function addressKey(kind: number, pk: Buffer, d: string): Buffer {
  let dBytes = Buffer.from(d, 'utf8');
  let marker = 0;
  if (dBytes.length > D_MAX_BYTES) {
    dBytes = Buffer.from(sha256(dBytes));
    marker = 1;
  }
  const k = Buffer.allocUnsafe(4 + ID_LEN + 1 + dBytes.length);
  k.writeUInt32BE(kind >>> 0, 0);
  pk.copy(k, 4);
  k[4 + ID_LEN] = marker;
  dBytes.copy(k, 5 + ID_LEN);
  return k;
}

/** Value of a head: created_at + id. */
export function headValue(ts: number, id: Buffer): Buffer {
  return indexKey(EMPTY, ts, id);
}

/** Tombstone of an id deleted by `deleter`: id + deleter pubkey. */
export const idTombstoneKey = (id: Buffer, deleter: Buffer): Buffer => Buffer.concat([id, deleter]);

/** Highest key of `prefix` with created_at ≤ until (inclusive start of a reverse walk). */
export function rangeHigh(prefix: Buffer, until: number): Buffer {
  const k = Buffer.allocUnsafe(prefix.length + TS_LEN + FF.length);
  prefix.copy(k, 0);
  writeTs(k, prefix.length, until);
  FF.copy(k, prefix.length + TS_LEN);
  return k;
}

/** Lowest bound of `prefix` with created_at ≥ since (exclusive end of a reverse walk). */
export function rangeLow(prefix: Buffer, since: number): Buffer {
  const k = Buffer.allocUnsafe(prefix.length + TS_LEN);
  prefix.copy(k, 0);
  writeTs(k, prefix.length, since);
  return k;
}

/** Byte comparison of two 32-byte ids held at offsets of two buffers. */
export function compareIds(a: Buffer, aOff: number, b: Buffer, bOff: number): number {
  return a.compare(b, bOff, bOff + ID_LEN, aOff, aOff + ID_LEN);
}
