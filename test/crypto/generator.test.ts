// Tests for bench/generator.ts: determinism, valid signatures, the shape of general notes, the
// NIP-34 dataset's tags, proportions and dependency order, and the JSONL cache.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { verifyEvent } from 'nostr-tools/pure';
import { schnorr } from '@noble/curves/secp256k1.js';
import { benchKeys, generateNip34, generateNotes, signer } from '../../bench/generator.js';
import { createVerifier } from '../../src/crypto/verify.js';

const YEAR = 365 * 86_400;

describe('generateNotes', () => {
  const a = generateNotes(400, 42);

  test('is deterministic for a seed and differs between seeds', () => {
    assert.deepEqual(generateNotes(400, 42), a);
    const b = generateNotes(400, 43);
    assert.notEqual(b[0].id, a[0].id);
  });

  test('every event verifies (nostr-tools and our verifier)', async () => {
    for (const e of a.slice(0, 40)) assert.equal(verifyEvent({ ...e }), true);
    const v = await createVerifier({ workers: 0 });
    assert.ok((await Promise.all(a.map((e) => v.verify(e)))).every(Boolean));
    await v.close();
  });

  test('mostly kind 1 with other kinds, tags, 50–500 char text, a year of created_at', () => {
    const kinds = new Map<number, number>();
    for (const e of a) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    assert.ok((kinds.get(1) ?? 0) > a.length * 0.55, JSON.stringify([...kinds]));
    assert.ok(kinds.size >= 5, JSON.stringify([...kinds]));
    for (const e of a.filter((x) => x.kind === 1)) {
      assert.ok(e.content.length >= 50 && e.content.length <= 500, String(e.content.length));
    }
    for (const name of ['e', 'p', 't']) assert.ok(a.some((e) => e.tags.some((t) => t[0] === name)), name);
    const authors = new Set(a.map((e) => e.pubkey));
    assert.ok(authors.size > 100, String(authors.size));
    for (let i = 1; i < a.length; i++) assert.ok(a[i].created_at >= a[i - 1].created_at);
    const span = a[a.length - 1].created_at - a[0].created_at;
    assert.ok(span > YEAR * 0.8 && span < YEAR * 1.2, String(span));
  });
});

describe('generateNip34', () => {
  const host = 'localhost:7777';
  const set = generateNip34({ repos: 10, events: 1200, serviceHost: host, seed: 5 });

  test('is deterministic and has exactly the requested size', () => {
    assert.equal(set.length, 1200);
    assert.deepEqual(generateNip34({ repos: 10, events: 1200, serviceHost: host, seed: 5 }), set);
  });

  test('announcements carry d, name, description, clone, relays, r euc; each has a state', () => {
    const ann = set.filter((e) => e.kind === 30617);
    assert.equal(ann.length, 10);
    assert.equal(set.filter((e) => e.kind === 30618).length, 10);
    for (const e of ann) {
      const tag = (n: string): string[] | undefined => e.tags.find((t) => t[0] === n);
      const d = tag('d')?.[1];
      assert.ok(d);
      assert.ok(tag('name') && tag('description'));
      assert.deepEqual(tag('clone'), ['clone', `http://${host}/${npubEncode(e.pubkey)}/${d}.git`]);
      assert.deepEqual(tag('relays'), ['relays', `ws://${host}`]);
      assert.equal(tag('r')?.[2], 'euc');
      assert.match(tag('r')?.[1] ?? '', /^[0-9a-f]{40}$/);
      const state = set.find((s) => s.kind === 30618 && s.pubkey === e.pubkey && s.tags.some((t) => t[0] === 'd' && t[1] === d));
      assert.ok(state, `state for ${d}`);
    }
    assert.ok(ann.some((e) => e.tags.some((t) => t[0] === 'maintainers')));
  });

  test('dependency order: every referenced event and repository comes earlier', () => {
    const seen = new Map<string, number>();
    const addrs = new Set<string>();
    for (const e of set) {
      for (const t of e.tags) {
        if (t[0] === 'e' || t[0] === 'E') assert.ok(seen.has(t[1]), `${e.kind} refers to later ${t[1]}`);
        if (t[0] === 'a') assert.ok(addrs.has(t[1]), `${e.kind} refers to unknown repo ${t[1]}`);
      }
      seen.set(e.id, e.kind);
      if (e.kind === 30617) addrs.add(`30617:${e.pubkey}:${e.tags.find((t) => t[0] === 'd')?.[1]}`);
    }
  });

  test('kinds in realistic proportions, with the NIP-34 / NIP-22 reference tags', () => {
    const n = set.length - 20;
    const count = (ks: number[]): number => set.filter((e) => ks.includes(e.kind)).length / n;
    const near = (x: number, want: number, tol: number, what: string): void =>
      assert.ok(Math.abs(x - want) <= tol, `${what}: ${x.toFixed(3)} vs ${want}`);
    near(count([1621]), 0.3, 0.08, 'issues');
    near(count([1617]), 0.2, 0.06, 'patches');
    near(count([1618, 1619]), 0.1, 0.05, 'PRs');
    near(count([1111]), 0.3, 0.08, 'comments');
    near(count([1630, 1631, 1632, 1633]), 0.1, 0.05, 'statuses');
    assert.ok(set.some((e) => e.kind === 1619));
    const byId = new Map(set.map((e) => [e.id, e]));
    for (const e of set) {
      const tag = (name: string): string[] | undefined => e.tags.find((t) => t[0] === name);
      if ([1617, 1618, 1619, 1621].includes(e.kind)) assert.match(tag('a')?.[1] ?? '', /^30617:[0-9a-f]{64}:/);
      if (e.kind === 1619) assert.equal(byId.get(tag('E')?.[1] ?? '')?.kind, 1618);
      if (e.kind === 1111) {
        const root = byId.get(tag('E')?.[1] ?? '');
        assert.ok(root && [1617, 1618, 1621].includes(root.kind));
        assert.equal(tag('K')?.[1], String(root.kind));
        assert.ok(byId.has(tag('e')?.[1] ?? ''));
      }
      if (e.kind >= 1630 && e.kind <= 1633) {
        const rootTag = e.tags.find((t) => t[0] === 'e');
        assert.equal(rootTag?.[3], 'root');
        assert.equal(rootTag?.[2], '');
        assert.ok(byId.has(rootTag?.[1] ?? ''));
        assert.ok(tag('a'));
      }
    }
  });

  test('all events verify', async () => {
    const v = await createVerifier();
    assert.ok((await Promise.all(set.map((e) => v.verify(e)))).every(Boolean));
    await v.close();
  });

  test('rejects impossible sizes', () => {
    assert.throws(() => generateNip34({ repos: 10, events: 5, serviceHost: host, seed: 1 }));
  });
});

test('large sets are cached as JSONL and read back identically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grasp-gen-'));
  const prev = process.env.GRASP_BENCH_CACHE;
  process.env.GRASP_BENCH_CACHE = dir;
  try {
    const first = generateNotes(2000, 99);
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    assert.equal(files.length, 1);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), '*\n');
    assert.equal(readFileSync(join(dir, files[0]), 'utf8').split('\n').filter(Boolean).length, 2000);
    assert.deepEqual(generateNotes(2000, 99), first);
  } finally {
    if (prev === undefined) delete process.env.GRASP_BENCH_CACHE;
    else process.env.GRASP_BENCH_CACHE = prev;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the signer (bcrypto native when it loads) gives the same signatures as noble with zero aux', () => {
  assert.ok(['bcrypto-native', 'noble'].includes(signer().name));
  const [key] = benchKeys(1, 1);
  const id = new Uint8Array(32).fill(7);
  const noble = Buffer.from(schnorr.sign(id, key.secret, new Uint8Array(32))).toString('hex');
  assert.equal(signer().sign(id, key.secret), noble);
  assert.equal(key.pubkey, Buffer.from(schnorr.getPublicKey(key.secret)).toString('hex'));
});
