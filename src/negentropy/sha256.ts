// SHA-256 of one short input (at most 55 bytes, so exactly one compression block) without
// allocation: the negentropy fingerprint hashes 32 + varint bytes, millions of times per sync.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const W = new Int32Array(64);
const H = new Int32Array(8);
const block = new Uint8Array(64);

/**
 * SHA-256 of `input[0, len)` (len ≤ 55); writes the first `outLen` (≤ 32) bytes of the digest to
 * `out` at `outOff`.
 */
export function sha256Short(input: Uint8Array, len: number, out: Uint8Array, outOff: number, outLen: number): void {
  if (len > 55) throw new RangeError('sha256Short: input longer than one block');
  for (let i = 0; i < len; i++) block[i] = input[i];
  block[len] = 0x80;
  block.fill(0, len + 1, 62);
  const bits = len * 8;
  block[62] = (bits >>> 8) & 0xff;
  block[63] = bits & 0xff;
  for (let i = 0; i < 16; i++) W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
  compress(out, outOff, outLen);
}

/**
 * The fingerprint hash without building its input: the 32-byte sum given as 8 little-endian
 * 32-bit limbs (limb 0 least significant), followed by varint(count); first `outLen` digest bytes.
 */
export function sha256SumAndCount(limbs: Uint32Array, count: number, out: Uint8Array, outOff: number, outLen: number): void {
  for (let k = 0; k < 8; k++) {
    const d = limbs[k];
    // byte j of the message is byte (j mod 4) of limb ⌊j/4⌋ (little-endian); words are big-endian
    W[k] = ((d & 0xff) << 24) | ((d & 0xff00) << 8) | ((d >>> 8) & 0xff00) | (d >>> 24);
  }
  // the varint of count, then 0x80, zeros and the bit length, in message bytes 32..63
  block.fill(0, 32, 64);
  let len = 1;
  for (let v = count; v >= 128; v = Math.floor(v / 128)) len++;
  let c = count;
  for (let i = len - 1; i >= 0; i--) {
    const d = c % 128;
    block[32 + i] = i === len - 1 ? d : d | 0x80;
    c = Math.floor(c / 128);
  }
  block[32 + len] = 0x80;
  const bits = (32 + len) * 8;
  block[62] = (bits >>> 8) & 0xff;
  block[63] = bits & 0xff;
  for (let i = 8; i < 16; i++) W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
  compress(out, outOff, outLen);
}

function compress(out: Uint8Array, outOff: number, outLen: number): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15];
    const w2 = W[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = 0x6a09e667 | 0;
  let b = 0xbb67ae85 | 0;
  let c = 0x3c6ef372 | 0;
  let d = 0xa54ff53a | 0;
  let e = 0x510e527f | 0;
  let f = 0x9b05688c | 0;
  let g = 0x1f83d9ab | 0;
  let h = 0x5be0cd19 | 0;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = a + 0x6a09e667;
  H[1] = b + 0xbb67ae85;
  H[2] = c + 0x3c6ef372;
  H[3] = d + 0xa54ff53a;
  H[4] = e + 0x510e527f;
  H[5] = f + 0x9b05688c;
  H[6] = g + 0x1f83d9ab;
  H[7] = h + 0x5be0cd19;
  for (let i = 0; i < outLen; i++) out[outOff + i] = (H[i >>> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}
