// Deterministic signed-event generator for tests and benches: general notes (generateNotes) and a
// GRASP / NIP-34 dataset in dependency order (generateNip34). Same seed → byte-identical events
// (keys derive from the seed, BIP-340 signing with zero aux). Large sets are cached as JSONL in
// bench/.cache/ (git-ignored by its own .gitignore; GRASP_BENCH_CACHE=off disables, =<dir> moves).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schnorr as nobleSchnorr } from '@noble/curves/secp256k1.js';
import { npubEncode } from 'nostr-tools/nip19';
import type { NostrEvent } from '../src/nostr/event.js';
import { computeIdHex } from '../src/crypto/serialize.js';

/** Bump whenever the output for a given seed changes, so stale caches are not reused. */
export const GENERATOR_VERSION = 1;
/** Sets smaller than this are generated in memory without touching the cache. */
const CACHE_MIN_EVENTS = 2000;
const KEY_POOL = 1000;
/** 2024-01-01T00:00:00Z; every set spans the following year. */
const BASE_TIME = 1_704_067_200;
const YEAR = 365 * 86_400;

// ---------------------------------------------------------------------------------------------
// seeded randomness

/** mulberry32: small, fast, good enough for shaping test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mixSeed(seed: number, salt: string): number {
  return createHash('sha256').update(`${salt}:${seed}`).digest().readUInt32BE(0);
}

const WORDS = (
  'git patch merge branch commit relay nostr event signature review rebase fix bug feature test ' +
  'build release docs issue comment status open closed draft applied maintainer clone fetch push ' +
  'remote upstream fork diff hunk line file module config sync peer filter index query store ' +
  'latency throughput cache worker thread verify schnorr key npub the a of to and in is for on ' +
  'with this that it be as we should could would not now later please thanks looks good'
).split(' ');
const TOPICS = ['nostr', 'git', 'grasp', 'bitcoin', 'dev', 'relay', 'ngit', 'rust', 'typescript', 'linux'];
const LABELS = ['bug', 'enhancement', 'question', 'docs', 'performance', 'good-first-issue'];

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}
function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}
function text(rand: () => number, min: number, max: number): string {
  const target = int(rand, min, max);
  let s = '';
  while (s.length < target) {
    const w = pick(rand, WORDS);
    s += s.length === 0 ? w[0].toUpperCase() + w.slice(1) : rand() < 0.08 ? '. ' + w : ' ' + w;
  }
  // a little non-ASCII and JSON-escaped content, as real events have
  const r = rand();
  if (r < 0.05) s = s.slice(0, target - 3) + ' ✓"';
  else if (r < 0.1) s = s.slice(0, target - 2) + '\nö';
  return s.slice(0, target);
}
function hex(rand: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return s;
}

// ---------------------------------------------------------------------------------------------
// keys and signing

interface BcryptoSchnorr {
  native?: number;
  sign(msg: Buffer, key: Buffer, aux?: Buffer | null): Buffer;
  publicKeyCreate(key: Buffer): Buffer;
}

export interface Signer {
  readonly name: 'bcrypto-native' | 'noble';
  publicKey(secret: Uint8Array): string;
  /** BIP-340 signature over the 32-byte id with zero aux randomness (deterministic). */
  sign(id: Uint8Array, secret: Uint8Array): string;
}

const ZERO_AUX = Buffer.alloc(32);
let signerCache: Signer | undefined;

/** bcrypto native when it loads (~25× faster), else @noble/curves; both give identical output. */
export function signer(): Signer {
  if (signerCache) return signerCache;
  try {
    const s = createRequire(import.meta.url)('bcrypto/lib/schnorr') as BcryptoSchnorr;
    if (s.native === 2) {
      const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u));
      signerCache = {
        name: 'bcrypto-native',
        publicKey: (sk) => s.publicKeyCreate(buf(sk)).toString('hex'),
        sign: (id, sk) => s.sign(buf(id), buf(sk), ZERO_AUX).toString('hex'),
      };
      return signerCache;
    }
  } catch {
    // optional dependency not built: fall through
  }
  signerCache = {
    name: 'noble',
    publicKey: (sk) => Buffer.from(nobleSchnorr.getPublicKey(sk)).toString('hex'),
    sign: (id, sk) => Buffer.from(nobleSchnorr.sign(id, sk, ZERO_AUX)).toString('hex'),
  };
  return signerCache;
}

export interface BenchKey {
  secret: Buffer;
  pubkey: string;
}

const keyPools = new Map<number, BenchKey[]>();

/** `count` keys derived from the seed: secret_i = sha256("grasp-relay bench key:<seed>:<i>"). */
export function benchKeys(seed: number, count = KEY_POOL): BenchKey[] {
  const cached = keyPools.get(seed);
  if (cached && cached.length >= count) return cached.slice(0, count);
  const s = signer();
  const keys: BenchKey[] = [];
  for (let i = 0; keys.length < count; i++) {
    const secret = createHash('sha256').update(`grasp-relay bench key:${seed}:${i}`).digest();
    try {
      keys.push({ secret, pubkey: s.publicKey(secret) });
    } catch {
      // secret ≥ curve order: astronomically unlikely, skip it
    }
  }
  keyPools.set(seed, keys);
  return keys;
}

/** Fill in pubkey, id and sig. */
export function signEvent(
  key: BenchKey,
  e: { created_at: number; kind: number; tags: string[][]; content: string },
): NostrEvent {
  const ev: NostrEvent = { id: '', pubkey: key.pubkey, created_at: e.created_at, kind: e.kind, tags: e.tags, content: e.content, sig: '' };
  ev.id = computeIdHex(ev);
  ev.sig = signer().sign(Buffer.from(ev.id, 'hex'), key.secret);
  return ev;
}

// ---------------------------------------------------------------------------------------------
// cache

function cacheDir(): string | undefined {
  const env = process.env.GRASP_BENCH_CACHE;
  if (env === 'off') return undefined;
  if (env) return env;
  // walk up from dist/bench/ or bench/ to the package root
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'bench', '.cache');
    dir = dirname(dir);
  }
  return undefined;
}

/** Read a JSONL file in chunks (sets of ~1M events exceed V8's maximum string length). */
function readJsonl(file: string): NostrEvent[] {
  const out: NostrEvent[] = [];
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(16 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        if (nl > start) out.push(JSON.parse(buf.toString('utf8', start, nl)) as NostrEvent);
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    }
    if (carry.length > 0) out.push(JSON.parse(carry.toString('utf8')) as NostrEvent);
  } finally {
    closeSync(fd);
  }
  return out;
}

function writeJsonl(file: string, events: NostrEvent[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (let i = 0; i < events.length; i += 1000) {
      writeSync(fd, events.slice(i, i + 1000).map((e) => JSON.stringify(e) + '\n').join(''));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file); // atomic: concurrent generators never read a partial file
}

function cached(name: string, n: number, generate: () => NostrEvent[]): NostrEvent[] {
  const dir = n >= CACHE_MIN_EVENTS ? cacheDir() : undefined;
  if (!dir) return generate();
  const file = join(dir, `${name}.v${GENERATOR_VERSION}.jsonl`);
  if (existsSync(file)) {
    try {
      const out = readJsonl(file);
      if (out.length === n) return out;
    } catch {
      // unreadable or partial: regenerate
    }
  }
  const events = generate();
  try {
    mkdirSync(dir, { recursive: true });
    const ignore = join(dir, '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
    writeJsonl(file, events);
  } catch {
    // a read-only checkout still gets its events
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// general notes

interface Ref {
  id: string;
  pubkey: string;
  kind: number;
}

/**
 * `n` signed events from a pool of 1,000 seeded keys, created_at ascending over one year from
 * 2024-01-01: ~70 % kind 1 (some replies with e/p, mentions, t tags), 12 % kind 7, 4 % kind 6,
 * 4 % kind 0, 2 % kind 3, 4 % kind 30023, 2 % kind 10002, 2 % kind 1111. Text content is 50–500
 * chars (reactions are '+'/emoji, contact lists empty).
 */
export function generateNotes(n: number, seed: number): NostrEvent[] {
  return cached(`notes-n${n}-s${seed}`, n, () => makeNotes(n, seed));
}

function makeNotes(n: number, seed: number): NostrEvent[] {
  const rand = prng(mixSeed(seed, 'notes'));
  const keys = benchKeys(seed);
  const out: NostrEvent[] = [];
  const recent: Ref[] = [];
  const gap = YEAR / Math.max(1, n);
  let t = BASE_TIME;
  const remember = (e: NostrEvent): void => {
    if (recent.length < 1000) recent.push(e);
    else recent[Math.floor(rand() * 1000)] = e;
  };
  for (let i = 0; i < n; i++) {
    t += Math.floor(rand() * 2 * gap);
    const key = keys[Math.floor(rand() * rand() * keys.length)]; // some authors are busier
    const r = rand();
    const target = recent.length > 0 ? pick(rand, recent) : undefined;
    let e: { kind: number; tags: string[][]; content: string };
    if (r < 0.7 || !target) {
      const tags: string[][] = [];
      if (target && rand() < 0.3) tags.push(['e', target.id, '', 'reply'], ['p', target.pubkey]);
      if (rand() < 0.1) tags.push(['p', pick(rand, keys).pubkey]);
      if (rand() < 0.2) for (let k = int(rand, 1, 3); k > 0; k--) tags.push(['t', pick(rand, TOPICS)]);
      e = { kind: 1, tags, content: text(rand, 50, 500) };
    } else if (r < 0.82) {
      e = { kind: 7, tags: [['e', target.id], ['p', target.pubkey], ['k', String(target.kind)]], content: pick(rand, ['+', '+', '🤙', '❤️', '-']) };
    } else if (r < 0.86) {
      e = { kind: 6, tags: [['e', target.id, ''], ['p', target.pubkey]], content: JSON.stringify(target) };
    } else if (r < 0.9) {
      const profile = { name: pick(rand, WORDS) + int(rand, 1, 999), about: text(rand, 30, 300), picture: `https://example.com/${hex(rand, 8)}.png` };
      e = { kind: 0, tags: [], content: JSON.stringify(profile) };
    } else if (r < 0.92) {
      const tags: string[][] = [];
      for (let k = int(rand, 5, 80); k > 0; k--) tags.push(['p', pick(rand, keys).pubkey]);
      e = { kind: 3, tags, content: '' };
    } else if (r < 0.96) {
      const tags = [['d', `${pick(rand, WORDS)}-${hex(rand, 4)}`], ['title', text(rand, 10, 60)], ['t', pick(rand, TOPICS)]];
      e = { kind: 30023, tags, content: text(rand, 50, 500) };
    } else if (r < 0.98) {
      const tags: string[][] = [];
      for (let k = int(rand, 2, 6); k > 0; k--) tags.push(['r', `wss://relay${int(rand, 1, 50)}.example.com`]);
      e = { kind: 10002, tags, content: '' };
    } else {
      const tags = [
        ['E', target.id, '', target.pubkey],
        ['K', String(target.kind)],
        ['P', target.pubkey],
        ['e', target.id, '', target.pubkey],
        ['k', String(target.kind)],
        ['p', target.pubkey],
      ];
      e = { kind: 1111, tags, content: text(rand, 50, 500) };
    }
    const ev = signEvent(key, { created_at: t, ...e });
    out.push(ev);
    if (ev.kind === 1 || ev.kind === 30023) remember(ev);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// NIP-34 / GRASP

export interface Nip34Options {
  /** repository announcements (each also gets one 30618 state) */
  repos: number;
  /** total events in the set, announcements and states included (≥ 2·repos) */
  events: number;
  /** host[:port] of the GRASP service: clone = http://<host>/<npub>/<d>.git, relays = ws://<host> */
  serviceHost: string;
  seed: number;
}

interface RepoState {
  owner: BenchKey;
  maintainers: BenchKey[];
  d: string;
  addr: string;
  euc: string;
  roots: Ref[];
  prs: Ref[];
  patchSeries: Ref[];
  comments: Map<string, Ref[]>;
}

/**
 * A realistic GRASP dataset in dependency order: every repository's 30617 announcement and 30618
 * state first, then collaboration events across repositories (busy repositories get more), each
 * referencing only events before it: 30 % issues (1621), 20 % patches (1617, series roots tagged
 * `t root`, follow-ups `e … reply`), 7 % PRs (1618), 3 % PR updates (1619, `E`/`P`), 30 % NIP-22
 * comments (1111, `E`/`K`/`P` root + `e`/`k`/`p` parent), 10 % statuses (1630–1633 with
 * `["e", root, "", "root"]` and `a`). A needed root that does not exist yet becomes an issue.
 * created_at ascends over one year from 2024-01-01.
 */
export function generateNip34(opts: Nip34Options): NostrEvent[] {
  const { repos, events, serviceHost, seed } = opts;
  if (!Number.isInteger(repos) || repos < 1) throw new Error('generateNip34: repos must be ≥ 1');
  if (!Number.isInteger(events) || events < 2 * repos) throw new Error('generateNip34: events must be ≥ 2·repos');
  const safeHost = serviceHost.replace(/[^A-Za-z0-9.-]/g, '_');
  return cached(`nip34-r${repos}-n${events}-h${safeHost}-s${seed}`, events, () => makeNip34(opts));
}

function makeNip34({ repos, events, serviceHost, seed }: Nip34Options): NostrEvent[] {
  const rand = prng(mixSeed(seed, 'nip34'));
  const keys = benchKeys(seed);
  const out: NostrEvent[] = [];
  const gap = YEAR / events;
  let t = BASE_TIME;
  const tick = (): number => (t += 1 + Math.floor(rand() * 2 * gap));
  const npubs = new Map<string, string>();
  const npub = (pk: string): string => {
    let v = npubs.get(pk);
    if (!v) npubs.set(pk, (v = npubEncode(pk)));
    return v;
  };

  const state: RepoState[] = [];
  for (let i = 0; i < repos; i++) {
    const owner = keys[Math.floor(rand() * keys.length)];
    const extra: BenchKey[] = [];
    for (let k = int(rand, 0, 2); k > 0; k--) extra.push(pick(rand, keys));
    const d = `${pick(rand, WORDS)}-${pick(rand, WORDS)}-${i}`;
    const euc = hex(rand, 20);
    const repo: RepoState = {
      owner,
      maintainers: [owner, ...extra],
      d,
      addr: `30617:${owner.pubkey}:${d}`,
      euc,
      roots: [],
      prs: [],
      patchSeries: [],
      comments: new Map(),
    };
    state.push(repo);
    const announce: string[][] = [
      ['d', d],
      ['name', d.replace(/-\d+$/, '')],
      ['description', text(rand, 20, 200)],
      ['clone', `http://${serviceHost}/${npub(owner.pubkey)}/${d}.git`],
      ['relays', `ws://${serviceHost}`],
      ['r', euc, 'euc'],
    ];
    if (extra.length > 0) announce.push(['maintainers', ...extra.map((k) => k.pubkey)]);
    out.push(signEvent(owner, { created_at: tick(), kind: 30617, tags: announce, content: '' }));
    out.push(
      signEvent(owner, {
        created_at: tick(),
        kind: 30618,
        tags: [['d', d], ['refs/heads/main', hex(rand, 20)], ['HEAD', 'ref: refs/heads/main']],
        content: '',
      }),
    );
  }

  while (out.length < events) {
    const repo = state[Math.floor(rand() * rand() * repos)]; // some repositories are busy
    const r = rand();
    const base = [['a', repo.addr], ['r', repo.euc], ['p', repo.owner.pubkey]];
    const contributor = rand() < 0.3 ? pick(rand, repo.maintainers) : pick(rand, keys);
    let ev: NostrEvent;
    if (r < 0.2 && !(r >= 0.14 && repo.patchSeries.length === 0)) {
      // patches: 70 % start a series, 30 % continue one
      const commit = hex(rand, 20);
      const subject = text(rand, 15, 70);
      const content =
        `From ${commit} Mon Sep 17 00:00:00 2001\nFrom: ${pick(rand, WORDS)} <dev@example.com>\n` +
        `Subject: [PATCH] ${subject}\n\n${text(rand, 50, 300)}\n---\n src/${pick(rand, WORDS)}.ts | 2 +-\n\n` +
        `diff --git a/src/x.ts b/src/x.ts\n--- a/src/x.ts\n+++ b/src/x.ts\n@@ -1 +1 @@\n-${text(rand, 20, 80)}\n+${text(rand, 20, 80)}\n`;
      const tags = [...base, ['commit', commit], ['parent-commit', hex(rand, 20)]];
      if (r < 0.14) {
        tags.push(['t', 'root']);
        ev = signEvent(contributor, { created_at: tick(), kind: 1617, tags, content });
        repo.roots.push(ev);
        repo.patchSeries.push(ev);
      } else {
        const prev = pick(rand, repo.patchSeries);
        tags.push(['e', prev.id, '', 'reply']);
        ev = signEvent(contributor, { created_at: tick(), kind: 1617, tags, content });
      }
    } else if (r >= 0.2 && r < 0.27) {
      const tags = [
        ...base,
        ['subject', text(rand, 15, 70)],
        ['c', hex(rand, 20)],
        ['clone', `http://${serviceHost}/${npub(contributor.pubkey)}/${repo.d}.git`],
        ['branch-name', `${pick(rand, WORDS)}-${pick(rand, WORDS)}`],
        ['merge-base', hex(rand, 20)],
      ];
      if (rand() < 0.5) tags.push(['t', pick(rand, LABELS)]);
      ev = signEvent(contributor, { created_at: tick(), kind: 1618, tags, content: text(rand, 50, 500) });
      repo.roots.push(ev);
      repo.prs.push(ev);
    } else if (r >= 0.27 && r < 0.3 && repo.prs.length > 0) {
      const pr = pick(rand, repo.prs);
      const author = keys.find((k) => k.pubkey === pr.pubkey) ?? contributor;
      const tags = [
        ...base,
        ['E', pr.id],
        ['P', pr.pubkey],
        ['c', hex(rand, 20)],
        ['clone', `http://${serviceHost}/${npub(author.pubkey)}/${repo.d}.git`],
        ['merge-base', hex(rand, 20)],
      ];
      ev = signEvent(author, { created_at: tick(), kind: 1619, tags, content: '' });
    } else if (r >= 0.3 && r < 0.6 && repo.roots.length > 0) {
      const root = pick(rand, repo.roots);
      const thread = repo.comments.get(root.id) ?? [];
      const parent = thread.length > 0 && rand() < 0.4 ? pick(rand, thread) : root;
      const tags = [
        ['E', root.id, '', root.pubkey],
        ['K', String(root.kind)],
        ['P', root.pubkey],
        ['e', parent.id, '', parent.pubkey],
        ['k', String(parent.kind)],
        ['p', parent.pubkey],
      ];
      ev = signEvent(contributor, { created_at: tick(), kind: 1111, tags, content: text(rand, 50, 500) });
      thread.push(ev);
      repo.comments.set(root.id, thread);
    } else if (r >= 0.6 && r < 0.7 && repo.roots.length > 0) {
      const root = pick(rand, repo.roots);
      const s = rand();
      const kind = s < 0.2 ? 1630 : s < 0.6 ? 1631 : s < 0.9 ? 1632 : 1633;
      const tags = [['e', root.id, '', 'root'], ['a', repo.addr], ['p', repo.owner.pubkey], ['p', root.pubkey], ['r', repo.euc]];
      ev = signEvent(pick(rand, repo.maintainers), { created_at: tick(), kind, tags, content: text(rand, 50, 200) });
    } else {
      const tags = [['a', repo.addr], ['p', repo.owner.pubkey], ['subject', text(rand, 15, 70)]];
      if (rand() < 0.5) tags.push(['t', pick(rand, LABELS)]);
      ev = signEvent(contributor, { created_at: tick(), kind: 1621, tags, content: text(rand, 50, 500) });
      repo.roots.push(ev);
    }
    out.push(ev);
  }
  return out;
}
