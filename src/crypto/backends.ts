// BIP-340 verification backends behind one interface: bcrypto native (libsecp256k1 addon),
// bcrypto pure JS, nostr-wasm (libsecp256k1 in WASM) and @noble/curves; loading, a known-answer
// self-test for each, and the 'auto' order (bcrypto native → nostr-wasm → noble).
import { createRequire } from 'node:module';
import type { NostrEvent } from '../nostr/event.js';
import { decodeHexInto } from './serialize.js';

export type VerifyBackendName = 'bcrypto-native' | 'bcrypto-js' | 'nostr-wasm' | 'noble';

export const BACKEND_NAMES: readonly VerifyBackendName[] = ['bcrypto-native', 'bcrypto-js', 'nostr-wasm', 'noble'];

/** The order 'auto' tries (fastest first). bcrypto-js is slower than WASM, so only on request. */
export const AUTO_ORDER: readonly VerifyBackendName[] = ['bcrypto-native', 'nostr-wasm', 'noble'];

/**
 * A loaded backend. Callers have already checked that the id is the sha256 of the serialisation
 * and that pubkey/sig are lowercase hex of the right length.
 * - `raw` backends verify byte triples: `verifyPacked(buf, off)` reads the 32-byte message (the
 *   id) at `off`, the 64-byte signature at `off + 32` and the 32-byte x-only key at `off + 96`.
 * - nostr-wasm exposes only a whole-event check (which hashes the event again, ~1 % of its cost),
 *   so it is an `event` backend and `verifyPacked` is unavailable.
 */
export interface SigBackend {
  readonly name: VerifyBackendName;
  readonly mode: 'raw' | 'event';
  verifyPacked(buf: Uint8Array, off: number): boolean;
  /** Signature check for an event whose id, pubkey and sig formats are already validated. */
  verifyEvent(event: NostrEvent): boolean;
}

/** Bytes per packed (msg, sig, pubkey) record. */
export const PACKED_RECORD = 128;

interface BcryptoSchnorr {
  native?: number;
  verify(msg: Buffer, sig: Buffer, key: Buffer): boolean;
  sign(msg: Buffer, key: Buffer, aux?: Buffer | null): Buffer;
  publicKeyCreate(key: Buffer): Buffer;
}

const requireCjs = createRequire(import.meta.url);

/** Known-answer vector (signed with zero aux; see bench/generator.ts). */
export const SELF_TEST_EVENT: NostrEvent = {
  id: '17893f914f75575f9076ce87d425ac546124a00c5e41b4f1424abf91e8e00c07',
  pubkey: 'cfe0a5908a6e7090e7da192f758c7a77284aeeed80a6750a7d497159b98340b7',
  created_at: 1700000000,
  kind: 1,
  tags: [['t', 'self-test']],
  content: 'grasp-relay backend self-test "ü"\n',
  sig: '373c0ae4e28cd62a0f48381f779f444090f7cacdd32c1e18f403d761d82fd9aa2d273728cfe35747c079b156498cda949c0d595a61e90c27e59e185f4c4fce20',
};

/** Pack an already-validated event's id, sig and pubkey into `buf` at `off`. */
export function packEvent(event: NostrEvent, buf: Uint8Array, off: number): boolean {
  return (
    decodeHexInto(event.id, 32, buf, off) &&
    decodeHexInto(event.sig, 64, buf, off + 32) &&
    decodeHexInto(event.pubkey, 32, buf, off + 96)
  );
}

function rawBackend(name: VerifyBackendName, verifyPacked: (buf: Uint8Array, off: number) => boolean): SigBackend {
  const scratch = Buffer.alloc(PACKED_RECORD);
  return {
    name,
    mode: 'raw',
    verifyPacked,
    verifyEvent(event) {
      return packEvent(event, scratch, 0) && verifyPacked(scratch, 0);
    },
  };
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function bcryptoBackend(name: 'bcrypto-native' | 'bcrypto-js', s: BcryptoSchnorr): SigBackend {
  return rawBackend(name, (buf, off) => {
    const b = asBuffer(buf);
    try {
      return s.verify(b.subarray(off, off + 32), b.subarray(off + 32, off + 96), b.subarray(off + 96, off + 128));
    } catch {
      return false;
    }
  });
}

async function loadRaw(name: VerifyBackendName): Promise<SigBackend> {
  switch (name) {
    case 'bcrypto-native': {
      const s = requireCjs('bcrypto/lib/schnorr') as BcryptoSchnorr;
      // .native: 2 = native addon; bcrypto silently uses JS when NODE_BACKEND=js
      if (s.native !== 2) throw new Error(`bcrypto schnorr is not the native backend (native=${String(s.native)})`);
      return bcryptoBackend(name, s);
    }
    case 'bcrypto-js':
      return bcryptoBackend(name, requireCjs('bcrypto/lib/js/schnorr') as BcryptoSchnorr);
    case 'nostr-wasm': {
      const { initNostrWasm } = await import('nostr-wasm');
      const nw = await initNostrWasm();
      return {
        name,
        mode: 'event',
        verifyPacked() {
          throw new Error('nostr-wasm verifies whole events only');
        },
        verifyEvent(event) {
          try {
            nw.verifyEvent(event);
            return true;
          } catch {
            return false;
          }
        },
      };
    }
    case 'noble': {
      const { schnorr } = await import('@noble/curves/secp256k1.js');
      return rawBackend(name, (buf, off) => {
        try {
          return schnorr.verify(buf.subarray(off + 32, off + 96), buf.subarray(off, off + 32), buf.subarray(off + 96, off + 128));
        } catch {
          return false;
        }
      });
    }
    default:
      throw new Error(`unknown verify backend ${String(name)}`);
  }
}

/** A backend must accept the known-good vector and reject it with one signature bit flipped. */
function selfTest(b: SigBackend): void {
  const bad = { ...SELF_TEST_EVENT, sig: (SELF_TEST_EVENT.sig[0] === '3' ? '2' : '3') + SELF_TEST_EVENT.sig.slice(1) };
  if (!b.verifyEvent(SELF_TEST_EVENT)) throw new Error(`${b.name} self-test: rejects a valid signature`);
  if (b.verifyEvent(bad)) throw new Error(`${b.name} self-test: accepts an invalid signature`);
}

/** Load and self-test one backend; throws when it cannot load on this machine. */
export async function loadBackend(name: VerifyBackendName): Promise<SigBackend> {
  const b = await loadRaw(name);
  selfTest(b);
  return b;
}

/** The first backend of `AUTO_ORDER` that loads, with the reasons the faster ones did not. */
export async function loadAutoBackend(): Promise<{ backend: SigBackend; skipped: { name: VerifyBackendName; error: string }[] }> {
  const skipped: { name: VerifyBackendName; error: string }[] = [];
  for (const name of AUTO_ORDER) {
    try {
      return { backend: await loadBackend(name), skipped };
    } catch (err) {
      skipped.push({ name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  throw new Error(`no signature verification backend loads: ${skipped.map((s) => `${s.name}: ${s.error}`).join('; ')}`);
}

/** Names of the backends that load here (for tests and benches). */
export async function availableBackends(): Promise<VerifyBackendName[]> {
  const out: VerifyBackendName[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      await loadBackend(name);
      out.push(name);
    } catch {
      // not available on this machine
    }
  }
  return out;
}
