// Hand-checked vectors for the negentropy codec: varints (beyond 2^32 and near 2^53 / 2^64),
// bound encoding with id prefixes and timestamp deltas, fingerprints (expected values computed
// independently with BigInt and @noble/hashes), and the refusal of every kind of malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  NegentropyError,
  NegentropyInitiator,
  NegentropyResponder,
  NegentropyStorage,
  buildItems,
  decodeVarint,
  encodeVarint,
} from '../../src/negentropy/index.js';
import { sha256Short } from '../../src/negentropy/sha256.js';
import { rng } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** Independent varint encoder over BigInt. */
function refVarint(v: bigint): Uint8Array {
  const digits: number[] = [];
  do {
    digits.unshift(Number(v & 0x7fn));
    v >>= 7n;
  } while (v > 0n);
  return new Uint8Array(digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d)));
}

/** Independent fingerprint: BigInt sum of little-endian ids mod 2^256, varint count, sha256, 16 bytes. */
function refFingerprint(ids: string[]): string {
  let sum = 0n;
  for (const id of ids) sum += BigInt('0x' + Buffer.from(id, 'hex').reverse().toString('hex'));
  sum &= (1n << 256n) - 1n;
  const le = Buffer.from(sum.toString(16).padStart(64, '0'), 'hex').reverse();
  return hex(sha256(new Uint8Array([...le, ...refVarint(BigInt(ids.length))])).subarray(0, 16));
}

function refBound(tsDelta: bigint | 'inf', prefix: string): string {
  return hex(refVarint(tsDelta === 'inf' ? 0n : tsDelta + 1n)) + hex(refVarint(BigInt(prefix.length / 2))) + prefix;
}

test('varint: hand-checked values', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8100'],
    [300, '822c'],
    [16383, 'ff7f'],
    [16384, '818000'],
    [2 ** 28 - 1, 'ffffff7f'],
    [2 ** 28, '8180808000'],
    [1700000000, '86aacfe200'], // digits 6, 42, 79, 98, 0
    [2 ** 32, '9080808000'],
    [2 ** 32 + 5, '9080808005'],
    [2 ** 53 - 1, '8fffffffffffff7f'],
  ];
  for (const [n, h] of cases) {
    assert.equal(hex(refVarint(BigInt(n))), h, `reference encoder disagrees with the hand value for ${n}`);
    assert.equal(hex(encodeVarint(n)), h, `encode ${n}`);
    assert.deepEqual(decodeVarint(unhex(h + 'ff')), { value: n, length: h.length / 2 }, `decode ${h}`);
  }
  // u64 max decodes (rounded to the nearest double); one more is refused
  const u64max = refVarint((1n << 64n) - 1n);
  assert.equal(hex(u64max), '81ffffffffffffffff7f');
  assert.equal(decodeVarint(u64max).value, 2 ** 64);
  assert.throws(() => decodeVarint(refVarint(1n << 64n)), NegentropyError);
  assert.throws(() => decodeVarint(unhex('8180')), NegentropyError); // truncated
  assert.throws(() => decodeVarint(new Uint8Array()), NegentropyError);
  assert.throws(() => encodeVarint(-1), NegentropyError);
  assert.throws(() => encodeVarint(1.5), NegentropyError);
  // random values across the whole safe range round-trip and match the reference encoder
  const rand = rng(7);
  for (let i = 0; i < 5000; i++) {
    const n = Math.floor(rand() * 2 ** Math.floor(rand() * 54));
    assert.equal(hex(encodeVarint(n)), hex(refVarint(BigInt(n))));
    assert.equal(decodeVarint(encodeVarint(n)).value, n);
  }
});

test('sha256Short matches @noble/hashes for every one-block length', () => {
  const rand = rng(3);
  const out = new Uint8Array(32);
  for (let len = 0; len <= 55; len++) {
    const input = new Uint8Array(len).map(() => Math.floor(rand() * 256));
    sha256Short(input, len, out, 0, 32);
    assert.equal(hex(out), hex(sha256(input)), `length ${len}`);
  }
});

test('fingerprint: known ids and random ranges against BigInt arithmetic', () => {
  const ff = 'ff'.repeat(32);
  const one = '01' + '00'.repeat(31);
  // (2^256 − 1) + 1 wraps to 0: sha256(32 zero bytes ‖ 0x02)
  const expectedWrap = hex(sha256(new Uint8Array([...new Uint8Array(32), 2])).subarray(0, 16));
  const s = new NegentropyStorage(buildItems([[1, ff], [2, one]]));
  assert.equal(hex(s.fingerprint()), expectedWrap);
  assert.equal(refFingerprint([ff, one]), expectedWrap);
  assert.equal(hex(new NegentropyStorage(buildItems([])).fingerprint()), hex(sha256(new Uint8Array([...new Uint8Array(32), 0])).subarray(0, 16)));
  // carries across every limb: ids of 0xff… with one low byte each
  const rand = rng(11);
  const pairs: Array<[number, string]> = [];
  for (let i = 0; i < 300; i++) {
    const id = i % 3 === 0 ? 'ff'.repeat(31) + (i & 0xff).toString(16).padStart(2, '0') : Buffer.from(new Uint8Array(32).map(() => Math.floor(rand() * 256))).toString('hex');
    pairs.push([1000 + Math.floor(i / 7), id]);
  }
  const items = buildItems(pairs);
  const storage = new NegentropyStorage(items);
  const ids = Array.from({ length: items.count }, (_, i) => hex(items.ids.subarray(32 * i, 32 * i + 32)));
  for (let k = 0; k < 200; k++) {
    const lo = Math.floor(rand() * items.count);
    const hi = lo + Math.floor(rand() * (items.count - lo + 1));
    assert.equal(hex(storage.fingerprint(lo, hi)), refFingerprint(ids.slice(lo, hi)), `range [${lo}, ${hi})`);
  }
});

test('initiate: empty set, one item, IdList below 32 items', () => {
  const empty = new NegentropyInitiator(new NegentropyStorage(buildItems([])));
  assert.equal(empty.initiate(), '61' + '0000' + '02' + '00');
  const id = 'ab'.repeat(32);
  const one = new NegentropyInitiator(new NegentropyStorage(buildItems([[5, id]])));
  assert.equal(one.initiate(), '61' + '0000' + '02' + '01' + id);
  assert.throws(() => one.initiate(), NegentropyError);
});

test('initiate: 16 buckets with minimal bounds (prefixes, equal timestamps, deltas, >2^32)', () => {
  // 32 items: 16 buckets of 2. Items 0..15 share timestamp T0 and differ from their neighbour in
  // byte 2 (prefix length 3); items 16..31 have T1 = T0 + 2^33 (a delta beyond 32 bits).
  const T0 = 1700000000;
  const T1 = T0 + 2 ** 33;
  const ids: string[] = [];
  const pairs: Array<[number, string]> = [];
  for (let i = 0; i < 32; i++) {
    const id = '1020' + i.toString(16).padStart(2, '0') + 'ee'.repeat(29);
    ids.push(id);
    pairs.push([i < 16 ? T0 : T1, id]);
  }
  const msg = new NegentropyInitiator(new NegentropyStorage(buildItems(pairs))).initiate();
  let expected = '61';
  let last = 0n;
  for (let k = 0; k < 16; k++) {
    const fp = refFingerprint(ids.slice(2 * k, 2 * k + 2));
    if (k === 15) {
      expected += refBound('inf', '') + '01' + fp;
      continue;
    }
    const next = 2 * k + 2; // first item of the next bucket
    const ts = BigInt(next < 16 ? T0 : T1);
    const sameTs = next !== 16;
    expected += refBound(ts - last, sameTs ? ids[next].slice(0, 6) : '') + '01' + fp;
    last = ts;
  }
  assert.equal(msg, expected);
  // spot-check the hand-readable pieces: first bound = varint(T0 + 1), prefix length 3
  assert.ok(msg.startsWith('61' + hex(refVarint(BigInt(T0 + 1))) + '03' + '102002' + '01'));
  // bucket 7 (items 14, 15) ends at item 16: delta 2^33 → varint(2^33 + 1), no prefix
  assert.ok(msg.includes(hex(refVarint(2n ** 33n + 1n)) + '00' + '01' + refFingerprint(ids.slice(14, 16))));
});

test('timestamps near 2^53 encode exactly', () => {
  const big = Number.MAX_SAFE_INTEGER;
  const pairs: Array<[number, string]> = [];
  const ids: string[] = [];
  for (let i = 0; i < 32; i++) {
    const id = i.toString(16).padStart(2, '0') + '00'.repeat(31);
    ids.push(id);
    pairs.push([big - 31 + i, id]);
  }
  const msg = new NegentropyInitiator(new NegentropyStorage(buildItems(pairs))).initiate();
  // first bound: item 2's timestamp from 0: varint(big − 29 + 1); then deltas of 2 → varint(3)
  const first = refBound(BigInt(big - 29), '');
  assert.ok(msg.startsWith('61' + first + '01' + refFingerprint(ids.slice(0, 2))), msg.slice(0, 80));
  assert.ok(msg.includes(refBound(2n, '') + '01' + refFingerprint(ids.slice(2, 4))));
});

test('responder: answers a foreign version with 61; initiator refuses it', () => {
  const storage = new NegentropyStorage(buildItems([]));
  assert.equal(new NegentropyResponder(storage).reconcile('62'), '61');
  assert.equal(new NegentropyResponder(storage).reconcile('6f00000200'), '61');
  const ini = new NegentropyInitiator(storage);
  ini.initiate();
  assert.throws(() => ini.reconcile('62'), NegentropyError);
});

test('malformed messages throw NegentropyError', () => {
  const id = 'cd'.repeat(32);
  const storage = new NegentropyStorage(buildItems([[10, id]]));
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    ['6', 'odd length'],
    ['zz', 'bad hex'],
    ['61zz', 'bad hex after version'],
    ['50', 'version below 0x60'],
    ['70', 'version above 0x6f'],
    ['6181', 'truncated varint'],
    ['6100', 'truncated bound (no prefix length)'],
    ['610000', 'missing mode'],
    ['61000021' + '00'.repeat(33) + '00', 'prefix longer than 32 bytes'],
    ['61000005aa', 'truncated prefix'],
    ['61000003', 'unknown mode'],
    ['610000' + '01' + '00'.repeat(15), 'truncated fingerprint'],
    ['610000' + '02' + '05' + id, 'IdList count beyond the message'],
    ['610000' + '02' + '81ffffffffffffffff7f', 'IdList count near 2^64'],
    ['610000' + '02' + 'ffffffffffffffffffff7f', 'varint beyond 64 bits'],
    ['61' + '0b01ff' + '00' + '0101' + '00' + '00', 'bounds out of order (same timestamp, smaller prefix)'],
    ['61' + '0000' + '00' + '0000' + '00', 'range after the infinity bound'],
  ];
  for (const [msg, what] of bad) {
    assert.throws(() => new NegentropyResponder(storage).reconcile(msg), NegentropyError, `responder: ${what}`);
    const ini = new NegentropyInitiator(storage);
    ini.initiate();
    assert.throws(() => ini.reconcile(msg), NegentropyError, `initiator: ${what}`);
  }
  // a message over our own frame size limit is accepted (the limit bounds what we send); only an
  // explicit maxIncomingFrame refuses it
  const big = '61' + '0000' + '02' + '8120' + 'ab'.repeat(32 * 160);
  assert.ok(new NegentropyResponder(storage, { frameSizeLimit: 4096 }).reconcile(big).startsWith('61'));
  assert.throws(() => new NegentropyResponder(storage, { frameSizeLimit: 4096, maxIncomingFrame: 4096 }).reconcile(big), /frame size limit/);
  assert.ok(new NegentropyResponder(storage).reconcile(big).startsWith('61'));
  // bad frame size limits and API misuse
  for (const limit of [1, 100, 4095, -1, 5000.5]) {
    assert.throws(() => new NegentropyResponder(storage, { frameSizeLimit: limit }), NegentropyError);
  }
  assert.throws(() => new NegentropyInitiator(storage).reconcile('61'), NegentropyError);
  assert.throws(() => new NegentropyResponder(storage).reconcile(42 as unknown as string), NegentropyError);
});

test('bad items are refused', () => {
  assert.throws(() => buildItems([[1, 'xyz']]), NegentropyError);
  assert.throws(() => buildItems([[-1, 'ab'.repeat(32)]]), NegentropyError);
  assert.throws(() => buildItems([[1.5, 'ab'.repeat(32)]]), NegentropyError);
  // duplicates collapse; order is by (timestamp, id)
  const items = buildItems([[2, 'aa'.repeat(32)], [1, 'bb'.repeat(32)], [2, 'AA'.repeat(32)], [1, 'ab'.repeat(32)]]);
  assert.equal(items.count, 3);
  assert.deepEqual(Array.from(items.timestamps), [1, 1, 2]);
  assert.equal(hex(items.ids.subarray(0, 32)), 'ab'.repeat(32));
  const unsorted = { count: 2, timestamps: new Float64Array([2, 1]), ids: new Uint8Array(64) };
  assert.throws(() => new NegentropyStorage(unsorted), NegentropyError);
  for (const bad of [[5, -1], [-1, 5], [1, NaN], [NaN, 1], [1, 2.5], [1, 2 ** 53]]) {
    const ids = new Uint8Array(64);
    ids[32] = 1;
    assert.throws(() => new NegentropyStorage({ count: 2, timestamps: new Float64Array(bad), ids }), NegentropyError, String(bad));
  }
  const dup = { count: 2, timestamps: new Float64Array([1, 1]), ids: new Uint8Array(64) };
  assert.throws(() => new NegentropyStorage(dup), NegentropyError);
  assert.throws(() => new NegentropyStorage({ count: 2, timestamps: new Float64Array(2), ids: new Uint8Array(32) }), NegentropyError);
});

test('fuzz: random and mutated messages either throw NegentropyError or answer', () => {
  const rand = rng(99);
  const pairs: Array<[number, string]> = [];
  for (let i = 0; i < 500; i++) pairs.push([1000 + Math.floor(rand() * 50), Buffer.from(new Uint8Array(32).map(() => Math.floor(rand() * 256))).toString('hex')]);
  const storage = new NegentropyStorage(buildItems(pairs));
  const valid = new NegentropyInitiator(storage).initiate();
  const tryAll = (msg: string): void => {
    for (const limit of [0, 4096]) {
      try {
        new NegentropyResponder(storage, { frameSizeLimit: limit }).reconcile(msg);
      } catch (e) {
        assert.ok(e instanceof NegentropyError, `responder threw ${String(e)} for ${msg}`);
      }
      const ini = new NegentropyInitiator(storage, { frameSizeLimit: limit });
      ini.initiate();
      try {
        ini.reconcile(msg);
      } catch (e) {
        assert.ok(e instanceof NegentropyError, `initiator threw ${String(e)} for ${msg}`);
      }
    }
  };
  for (let k = 0; k < 1500; k++) {
    const len = 1 + Math.floor(rand() * 80);
    const bytes = new Uint8Array(len).map(() => Math.floor(rand() * 256));
    bytes[0] = 0x61;
    tryAll(hex(bytes));
    const m = unhex(valid);
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips; f++) m[1 + Math.floor(rand() * (m.length - 1))] = Math.floor(rand() * 256);
    tryAll(hex(m.subarray(0, 1 + Math.floor(rand() * m.length))));
  }
});
