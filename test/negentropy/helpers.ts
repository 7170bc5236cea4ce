// Test helpers for negentropy: seeded random item sets with known differences, a driver that
// runs any initiator against any responder while checking frame sizes, and a typed loader for
// nostr-tools' NIP-77 port (not in its package "exports", so imported by file URL).
import assert from 'node:assert/strict';
import { prng } from '../../bench/generator.js';
import type { Filter } from '../../src/nostr/event.js';
import type { NegentropyItems, StoreReader } from '../../src/store/types.js';

/** Deterministic PRNG (mulberry32, the bench generator's) so failures reproduce from the seed. */
export const rng: (seed: number) => () => number = prng;

/**
 * A StoreReader with only what NIP-77 uses: `negentropyItems` is the given function; every other
 * method throws, so a session that reaches for more fails the test.
 */
export function nip77OnlyStore(items: (filter: Filter, max: number) => NegentropyItems | 'too-many'): StoreReader {
  const unused = (): never => {
    throw new Error('not used by NIP-77');
  };
  return {
    negentropyItems: items,
    get: unused,
    has: unused,
    getReplaceable: unused,
    hasTagValue: unused,
    isDeleted: unused,
    query: unused,
    querySync: unused,
    count: unused,
    stats: unused,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function randomIdHex(rand: () => number, clusterPrefix = 0): string {
  let s = '';
  for (let i = 0; i < clusterPrefix; i++) s += HEX[Math.floor(rand() * 2)];
  // clustered ids share leading bytes drawn from a tiny alphabet, forcing long bound prefixes
  while (s.length < 64) s += Math.floor(rand() * 4294967296).toString(16).padStart(8, '0');
  return s.slice(0, 64);
}

export type Pair = [number, string];

export interface SetPair {
  a: Pair[];
  b: Pair[];
  onlyA: Set<string>;
  onlyB: Set<string>;
}

/**
 * n distinct items; each differs with probability `diff` (then it is on one side only, A or B
 * with equal chance), else it is on both. `timestamps`: 'spread' (realistic), 'few' (a handful of
 * equal values, clustered ids) or 'big' (near 2^53).
 */
export function makeSets(n: number, diff: number, seed: number, timestamps: 'spread' | 'few' | 'big' = 'spread'): SetPair {
  const rand = rng(seed);
  const a: Pair[] = [];
  const b: Pair[] = [];
  const onlyA = new Set<string>();
  const onlyB = new Set<string>();
  const seen = new Set<string>();
  const bytes = Buffer.alloc(32);
  const cluster = timestamps === 'few' ? 3 : 0;
  while (seen.size < n) {
    for (let k = 0; k < 32; k += 4) bytes.writeUInt32LE(Math.floor(rand() * 4294967296), k);
    // clustered ids share leading bytes drawn from a tiny alphabet, forcing long bound prefixes
    for (let k = 0; k < cluster; k++) bytes[k] &= 1;
    const id = bytes.toString('hex');
    if (seen.has(id)) continue;
    seen.add(id);
    const ts =
      timestamps === 'few'
        ? 1700000000 + Math.floor(rand() * 3)
        : timestamps === 'big'
          ? Number.MAX_SAFE_INTEGER - Math.floor(rand() * 1000)
          : 1600000000 + Math.floor(rand() * 100000000);
    const p: Pair = [ts, id];
    const r = rand();
    if (r < diff / 2) {
      a.push(p);
      onlyA.add(id);
    } else if (r < diff) {
      b.push(p);
      onlyB.add(id);
    } else {
      a.push(p);
      b.push(p);
    }
  }
  return { a, b, onlyA, onlyB };
}

export interface Initiatorish {
  initiate(): string;
  /** null output = done */
  step(msg: string): { output: string | null; have: string[]; need: string[] };
}

export interface DriveResult {
  have: string[];
  need: string[];
  rounds: number;
  maxBytes: number;
  sent: string[];
}

/** Run to completion; asserts every message (both directions) is within `limit` bytes when set. */
export function drive(ini: Initiatorish, respond: (msg: string) => string, limit: number, maxRounds = 100000): DriveResult {
  const have: string[] = [];
  const need: string[] = [];
  const sent: string[] = [];
  let msg = ini.initiate();
  let rounds = 0;
  let maxBytes = 0;
  const check = (m: string): void => {
    const bytes = m.length / 2;
    if (bytes > maxBytes) maxBytes = bytes;
    if (limit !== 0) assert.ok(bytes <= limit, `message of ${bytes} bytes exceeds limit ${limit}`);
  };
  while (true) {
    check(msg);
    sent.push(msg);
    const reply = respond(msg);
    check(reply);
    const r = ini.step(reply);
    for (const id of r.have) have.push(id);
    for (const id of r.need) need.push(id);
    rounds++;
    if (r.output === null) break;
    msg = r.output;
    assert.ok(rounds < maxRounds, 'too many rounds');
  }
  return { have, need, rounds, maxBytes, sent };
}

/** Assert a list of ids has no duplicates and equals the expected set. */
export function assertSameSet(actual: string[], expected: Set<string>, what: string): void {
  const s = new Set(actual);
  assert.equal(s.size, actual.length, `${what}: duplicate ids reported`);
  assert.equal(s.size, expected.size, `${what}: ${s.size} ids, expected ${expected.size}`);
  for (const id of s) assert.ok(expected.has(id), `${what}: unexpected id ${id}`);
}

// --- nostr-tools' NIP-77 port, typed to what the tests use ---
export interface NtStorage {
  insert(timestamp: number, id: string): void;
  seal(): void;
}
export interface NtNegentropy {
  initiate(): string;
  reconcile(msg: string, onhave?: (id: string) => void, onneed?: (id: string) => void): string | null;
}
export interface NostrToolsNip77 {
  NegentropyStorageVector: new () => NtStorage;
  Negentropy: new (storage: NtStorage, frameSizeLimit?: number) => NtNegentropy;
}

export async function loadNostrToolsNip77(): Promise<NostrToolsNip77> {
  const base = import.meta.resolve('nostr-tools');
  return (await import(new URL('./nip77.js', base).href)) as NostrToolsNip77;
}

export function ntStorage(nt: NostrToolsNip77, pairs: Pair[]): NtStorage {
  const s = new nt.NegentropyStorageVector();
  for (const [t, id] of pairs) s.insert(t, id);
  s.seal();
  return s;
}
