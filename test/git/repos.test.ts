// Repositories on disk (src/git/repos.ts) with the real git CLI in temp dirs: name encoding and
// the root boundary, idempotent creation (an empty clone checks out main), ref reads, all-or-nothing
// update-ref transactions, HEAD, object presence, local imports, the per-repo FIFO lock, trash,
// the scan and the trash sweep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { silentLogger } from '../../src/log.js';
import { decodeName, encodeName, GitError, MAX_NAME_BYTES, Repos } from '../../src/git/repos.js';
import type { GateRepoOps } from '../../src/git/gate.js';
import { ZERO_OID, type RepoId } from '../../src/git/types.js';
import { tempDir } from '../helpers/tmp.js';
import { gitTestEnv } from './helpers.js';

// Repos is what the gate and release code on main are written against (a compile-time check)
const _asGateOps = (r: Repos): GateRepoOps => r;

const OWNER = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

/** git for the test itself: no user config, fixed identities and dates (deterministic ids). */
const GIT_ENV = gitTestEnv();

function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** A commit written straight into a bare repo (blob → tree → commit), not referenced by any ref. */
function commit(dir: string, content: string, parent?: string): string {
  const blob = git(dir, ['hash-object', '-w', '--stdin'], content);
  const tree = git(dir, ['mktree'], `100644 blob ${blob}\tfile.txt\n`);
  return git(dir, ['commit-tree', tree, '-m', content, ...(parent ? ['-p', parent] : [])]);
}

async function openRepos(): Promise<{ repos: Repos; root: string }> {
  const root = join(tempDir('grasp-repos-'), 'git');
  return { repos: await Repos.open({ root, binary: 'git', log: silentLogger }), root };
}

test('encodeName: every byte outside [A-Za-z0-9_~-] percent-encoded, dots included; long names hashed', () => {
  assert.equal(encodeName('my repo'), 'my%20repo');
  assert.equal(encodeName('.hidden'), '%2Ehidden');
  assert.equal(encodeName('a.b'), 'a%2Eb');
  assert.equal(encodeName('Az09_~-'), 'Az09_~-');
  assert.equal(encodeName('..'), '%2E%2E');
  assert.equal(encodeName('a/b\\c'), 'a%2Fb%5Cc');
  assert.equal(encodeName('%41'), '%2541');
  assert.equal(encodeName('é'), '%C3%A9');
  assert.equal(encodeName('日本'), '%E6%97%A5%E6%9C%AC');
  // a leading ~ is escaped so only hashed names start with ~
  assert.equal(encodeName('~x'), '%7Ex');
  assert.equal(encodeName('x~'), 'x~');
  const long = 'x'.repeat(300);
  assert.match(encodeName(long), /^~[0-9a-f]{64}$/);
  assert.equal(encodeName('x'.repeat(MAX_NAME_BYTES)), 'x'.repeat(MAX_NAME_BYTES));
  assert.match(encodeName('x'.repeat(MAX_NAME_BYTES + 1)), /^~[0-9a-f]{64}$/);
  // 70 three-byte characters: 210 bytes, 630 encoded → hashed
  assert.match(encodeName('語'.repeat(70)), /^~[0-9a-f]{64}$/);
  assert.notEqual(encodeName('x'.repeat(300)), encodeName('x'.repeat(301)));
  assert.throws(() => encodeName(''));
  for (const d of ['my repo', '.hidden', 'a.b', 'é', '日本', '~x', '..', 'a%2Fb', 'tab\there', 'nul\0x']) assert.equal(decodeName(encodeName(d)), d, d);
  // only canonical encodings decode
  assert.equal(decodeName('a%2eb'), undefined);
  assert.equal(decodeName('a.b'), undefined);
  assert.equal(decodeName('%FF'), undefined);
  assert.equal(decodeName('~' + 'a'.repeat(64)), undefined);
  assert.equal(decodeName(''), undefined);
});

test('dirOf: <root>/<npub>/<enc(d)>.git, always under the root', async () => {
  const { repos, root } = await openRepos();
  const npub = npubEncode(OWNER);
  assert.equal(repos.dirOf({ owner: OWNER, d: 'my repo' }), join(resolve(root), npub, 'my%20repo.git'));
  assert.equal(repos.dirOf({ owner: OWNER, d: '.hidden' }), join(resolve(root), npub, '%2Ehidden.git'));
  assert.equal(repos.dirOf({ owner: OWNER, d: 'x'.repeat(300) }), join(resolve(root), npub, encodeName('x'.repeat(300)) + '.git'));
  for (const d of ['..', '.', '../..', '../../etc', '/etc/passwd', '..\\..', '%2e%2e', 'a/../../b', '\0', '~', '~/x']) {
    const dir = repos.dirOf({ owner: OWNER, d });
    assert.ok(dir.startsWith(resolve(root) + sep + npub + sep), `${JSON.stringify(d)} → ${dir}`);
    assert.equal(dir.slice(resolve(root).length + 1).split(sep).length, 2, d);
    assert.ok(!dir.slice(resolve(root).length).split(sep).some((s) => s === '..' || s === '.' || s.startsWith('.')), d);
  }
  for (const owner of ['', 'A'.repeat(64), 'a'.repeat(63), '../' + 'a'.repeat(61), npub]) {
    assert.throws(() => repos.dirOf({ owner, d: 'x' }), /invalid repository owner/);
  }
  assert.throws(() => repos.dirOf({ owner: OWNER, d: '' }));
});

test('open: service directories made; scratch leftovers deleted; hooks and home emptied', async () => {
  const root = join(tempDir('grasp-repos-'), 'git');
  const first = await Repos.open({ root, binary: 'git', log: silentLogger });
  for (const d of ['.home', '.hooks', '.scratch', '.trash']) assert.ok(existsSync(join(root, d)), d);
  writeFileSync(join(root, '.scratch', 'leftover'), 'x');
  mkdirSync(join(root, '.scratch', 'dir.git'));
  writeFileSync(join(root, '.hooks', 'pre-receive'), '#!/bin/sh\nexit 1\n');
  writeFileSync(join(root, '.trash', '1-aa'), 'kept');
  await first.create({ owner: OWNER, d: 'kept' });
  const again = await Repos.open({ root, binary: 'git', log: silentLogger });
  assert.deepEqual(readdirSync(join(root, '.scratch')), []);
  assert.deepEqual(readdirSync(join(root, '.hooks')), []);
  assert.deepEqual(readdirSync(join(root, '.home')), []);
  assert.deepEqual(readdirSync(join(root, '.trash')), ['1-aa']);
  assert.ok(again.exists({ owner: OWNER, d: 'kept' }));
  assert.equal(again.runtime.hooks, join(resolve(root), '.hooks'));
  assert.equal(again.runtime.home, join(resolve(root), '.home'));
});

test('create: idempotent bare repo on main, description = d; an empty clone checks out main', async () => {
  const { repos } = await openRepos();
  const r: RepoId = { owner: OWNER, d: 'my repo' };
  assert.equal(repos.exists(r), false);
  await repos.create(r);
  assert.equal(repos.exists(r), true);
  const dir = repos.dirOf(r);
  assert.ok(dir.endsWith(`${sep}my%20repo.git`));
  assert.equal(git(dir, ['rev-parse', '--is-bare-repository']), 'true');
  assert.equal(readFileSync(join(dir, 'description'), 'utf8'), 'my repo');
  assert.equal(await repos.head(r), 'refs/heads/main');
  assert.deepEqual(await repos.refs(r), new Map());
  // force pushes and deletions stay enabled: the state event decides
  assert.throws(() => git(dir, ['config', '--get', 'receive.denyNonFastForwards']));
  assert.throws(() => git(dir, ['config', '--get', 'receive.denyDeletes']));
  // a second create (and concurrent ones) changes nothing
  const c = commit(dir, 'one');
  await repos.update(r, [{ old: ZERO_OID, new: c, ref: 'refs/heads/main' }]);
  await Promise.all([repos.create(r), repos.create(r), repos.create(r)]);
  assert.equal((await repos.refs(r)).get('refs/heads/main'), c);
  // concurrent first creations leave exactly one repo and no scratch
  const r2: RepoId = { owner: OTHER, d: 'race' };
  await Promise.all([repos.create(r2), repos.create(r2), repos.create(r2)]);
  assert.ok(repos.exists(r2));
  assert.deepEqual(readdirSync(join(repos.root, '.scratch')), []);
  assert.deepEqual(readdirSync(join(repos.root, npubEncode(OTHER))), ['race.git']);

  const work = tempDir('grasp-clone-');
  const empty: RepoId = { owner: OWNER, d: 'empty' };
  await repos.create(empty);
  execFileSync('git', ['clone', '--quiet', repos.dirOf(empty), join(work, 'c')], { env: GIT_ENV, stdio: 'pipe' });
  assert.equal(git(join(work, 'c'), ['symbolic-ref', 'HEAD']), 'refs/heads/main');
  // long and unicode names work as directories
  for (const d of ['x'.repeat(300), '日本語 repo', '.hidden', 'a.b', '..', '../escape', '~']) {
    await repos.create({ owner: OWNER, d });
    assert.ok(repos.exists({ owner: OWNER, d }), d);
  }
  // nothing was made outside <root>/<npub>/
  assert.deepEqual(readdirSync(repos.root).sort(), ['.home', '.hooks', '.scratch', '.trash', npubEncode(OTHER), npubEncode(OWNER)].sort());
  assert.ok(readdirSync(join(repos.root, npubEncode(OWNER))).every((n) => n.endsWith('.git') && !n.startsWith('.')));
  assert.equal(existsSync(join(repos.root, npubEncode(OWNER), 'escape.git')), false);
});

test('refs, update (all or nothing), delete, setHead, head', async () => {
  const { repos } = await openRepos();
  const r: RepoId = { owner: OWNER, d: 'refs' };
  await repos.create(r);
  const dir = repos.dirOf(r);
  const a = commit(dir, 'a');
  const b = commit(dir, 'b', a);
  const c = commit(dir, 'c', b);

  await repos.update(r, [
    { old: ZERO_OID, new: a, ref: 'refs/heads/main' },
    { old: ZERO_OID, new: b, ref: 'refs/heads/dev' },
    { old: ZERO_OID, new: a, ref: 'refs/tags/v1' },
    { old: ZERO_OID, new: c, ref: 'refs/nostr/' + 'f'.repeat(64) },
  ]);
  // refs outside heads/tags/nostr are not listed
  git(dir, ['update-ref', 'refs/notes/x', a]);
  assert.deepEqual(
    await repos.refs(r),
    new Map([
      ['refs/heads/dev', b],
      ['refs/heads/main', a],
      ['refs/nostr/' + 'f'.repeat(64), c],
      ['refs/tags/v1', a],
    ]),
  );

  // one stale old value → nothing changes
  const before = await repos.refs(r);
  await assert.rejects(
    repos.update(r, [
      { old: a, new: c, ref: 'refs/heads/main' },
      { old: a, new: c, ref: 'refs/heads/dev' }, // stale: dev is b
      { old: ZERO_OID, new: c, ref: 'refs/heads/new' },
    ]),
    (e: unknown) => e instanceof GitError && e.stderr.length > 0,
  );
  assert.deepEqual(await repos.refs(r), before);
  // ZERO_OID old = must not exist
  await assert.rejects(repos.update(r, [{ old: ZERO_OID, new: c, ref: 'refs/heads/main' }]), GitError);
  // an object the repo does not hold → nothing changes
  await assert.rejects(
    repos.update(r, [
      { old: a, new: c, ref: 'refs/heads/main' },
      { old: ZERO_OID, new: '1'.repeat(40), ref: 'refs/heads/ghost' },
    ]),
    GitError,
  );
  assert.deepEqual(await repos.refs(r), before);
  // bad input refused before git runs
  await assert.rejects(repos.update(r, [{ old: ZERO_OID, new: 'HEAD', ref: 'refs/heads/x' }]), /bad oid/);
  await assert.rejects(repos.update(r, [{ old: ZERO_OID, new: a, ref: 'refs/heads/a\nupdate refs/heads/b' }]), /bad ref name/);
  await assert.rejects(repos.update(r, [{ old: ZERO_OID, new: a, ref: 'HEAD' }]), /bad ref name/);
  assert.deepEqual(await repos.refs(r), before);

  // a good transaction: fast-forward, force (non-fast-forward), delete, verify-absent
  await repos.update(r, [
    { old: a, new: c, ref: 'refs/heads/main' },
    { old: b, new: a, ref: 'refs/heads/dev' },
    { old: a, new: ZERO_OID, ref: 'refs/tags/v1' },
    { old: ZERO_OID, new: ZERO_OID, ref: 'refs/heads/absent' },
  ]);
  const after = await repos.refs(r);
  assert.equal(after.get('refs/heads/main'), c);
  assert.equal(after.get('refs/heads/dev'), a);
  assert.equal(after.has('refs/tags/v1'), false);
  // delete with a wrong old value fails
  await assert.rejects(repos.update(r, [{ old: b, new: ZERO_OID, ref: 'refs/heads/dev' }]), GitError);
  assert.equal((await repos.refs(r)).get('refs/heads/dev'), a);
  await repos.update(r, []); // no-op

  // HEAD
  assert.equal(await repos.head(r), 'refs/heads/main');
  await repos.setHead(r, 'refs/heads/dev');
  assert.equal(await repos.head(r), 'refs/heads/dev');
  assert.equal(git(dir, ['symbolic-ref', 'HEAD']), 'refs/heads/dev');
  await assert.rejects(repos.setHead(r, 'refs/tags/v1'), GitError);
  await assert.rejects(repos.setHead(r, '--delete'), GitError);
  await assert.rejects(repos.setHead(r, 'refs/heads/../../x'), GitError);
  assert.equal(await repos.head(r), 'refs/heads/dev');
  git(dir, ['update-ref', '--no-deref', 'HEAD', a]); // detached
  assert.equal(await repos.head(r), undefined);

  // a repo that does not exist
  await assert.rejects(repos.refs({ owner: OWNER, d: 'nope' }), /does not exist/);
});

test('missing: one batch, sha1 ids only', async () => {
  const { repos } = await openRepos();
  const r: RepoId = { owner: OWNER, d: 'objects' };
  await repos.create(r);
  const dir = repos.dirOf(r);
  const a = commit(dir, 'a');
  const blob = git(dir, ['hash-object', '-w', '--stdin'], 'a');
  const absent = 'e'.repeat(40);
  assert.deepEqual(await repos.missing(r, []), new Set());
  assert.deepEqual(await repos.missing(r, [a, blob]), new Set());
  assert.deepEqual(await repos.missing(r, [a, absent, blob, absent]), new Set([absent]));
  // revision syntax never reaches git as such
  assert.deepEqual(await repos.missing(r, ['HEAD', `${a}^{tree}`, a.toUpperCase()]), new Set(['HEAD', `${a}^{tree}`, a.toUpperCase()]));
  const empty: RepoId = { owner: OWNER, d: 'empty' };
  await repos.create(empty);
  assert.deepEqual(await repos.missing(empty, [a]), new Set([a]));
});

test('importFrom: objects copied from another local repo by id, refs untouched', async () => {
  const { repos } = await openRepos();
  const src: RepoId = { owner: OWNER, d: 'src' };
  const dst: RepoId = { owner: OTHER, d: 'src' };
  await repos.create(src);
  await repos.create(dst);
  const sdir = repos.dirOf(src);
  const a = commit(sdir, 'a');
  const b = commit(sdir, 'b', a);
  const dangling = commit(sdir, 'dangling', a); // unreachable from any ref
  await repos.update(src, [{ old: ZERO_OID, new: b, ref: 'refs/heads/main' }]);
  const absent = 'd'.repeat(40);

  const got = await repos.importFrom(src, dst, [b, dangling, absent]);
  assert.deepEqual(got, new Set([b, dangling]));
  assert.deepEqual(await repos.missing(dst, [a, b, dangling]), new Set());
  assert.deepEqual(await repos.refs(dst), new Map()); // only objects arrive
  assert.equal(git(repos.dirOf(dst), ['cat-file', '-p', `${b}:file.txt`]), 'b');
  // the imported commit can be pointed at, and an empty import is a no-op
  await repos.update(dst, [{ old: ZERO_OID, new: b, ref: 'refs/heads/main' }]);
  assert.deepEqual(await repos.importFrom(src, dst, [b]), new Set([b]));
  assert.deepEqual(await repos.importFrom(src, dst, [absent]), new Set());
  // a source outside the root is refused
  await assert.rejects(repos.importFromDir(tempDir(), dst, [a]), /outside the git root/);

  // a scratch repo borrowing dst's objects: sees them, new objects land in scratch only, then import
  const scratch = await repos.scratchFor(dst);
  assert.ok(scratch.dir.startsWith(repos.scratchDir + sep));
  assert.equal(git(scratch.dir, ['cat-file', '-t', b]), 'commit'); // through alternates
  const fresh = commit(scratch.dir, 'fresh', b);
  assert.deepEqual(await repos.missing(dst, [fresh]), new Set([fresh]));
  assert.deepEqual(await repos.importFromDir(scratch.dir, dst, [fresh]), new Set([fresh]));
  assert.deepEqual(await repos.missing(dst, [fresh]), new Set());
  await scratch.dispose();
  assert.equal(existsSync(scratch.dir), false);
  await assert.rejects(repos.scratchFor({ owner: OWNER, d: 'nope' }), /does not exist/);
});

test('withLock: FIFO per repo, independent across repos, an exception releases the lock', async () => {
  const { repos } = await openRepos();
  const r: RepoId = { owner: OWNER, d: 'lock' };
  const other: RepoId = { owner: OWNER, d: 'other' };
  const order: string[] = [];
  let active = 0;
  let maxActive = 0;
  const gates: Array<() => void> = [];
  const job = (name: string, fail = false) => async (): Promise<string> => {
    active++;
    maxActive = Math.max(maxActive, active);
    order.push(`start ${name}`);
    await new Promise<void>((res) => gates.push(res));
    order.push(`end ${name}`);
    active--;
    if (fail) throw new Error(`boom ${name}`);
    return name;
  };
  const p1 = repos.withLock(r, job('1'));
  const p2 = repos.withLock(r, job('2', true));
  const p3 = repos.withLock(r, job('3'));
  // another repo's lock is independent: it runs while r's is held
  const o = repos.withLock(other, async () => 'other');
  assert.equal(await o, 'other');
  assert.ok(repos.isLocked(r));
  const step = async (): Promise<void> => {
    // wait for the holder to reach its gate, then open it
    while (gates.length === 0) await new Promise((res) => setImmediate(res));
    gates.shift()!();
  };
  await step();
  assert.equal(await p1, '1');
  await step();
  await assert.rejects(p2, /boom 2/);
  await step();
  assert.equal(await p3, '3');
  assert.deepEqual(order, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  assert.equal(maxActive, 1);
  assert.equal(repos.isLocked(r), false);
  // still usable after all that
  assert.equal(await repos.withLock(r, async () => 42), 42);
  // many waiters keep arrival order
  const seen: number[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) => repos.withLock(r, async () => void seen.push(i))));
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
});

test('size, trash, list and sweepTrash', async () => {
  let now = 1_000_000;
  const root = join(tempDir('grasp-repos-'), 'git');
  const repos = await Repos.open({
    root,
    binary: 'git',
    log: silentLogger,
    sizeTtlMs: 1000,
    clock: { now: () => now, setTimeout: () => ({ cancel: () => {} }) },
  });
  const ids: RepoId[] = [
    { owner: OWNER, d: 'one' },
    { owner: OWNER, d: 'my repo' },
    { owner: OWNER, d: '日本' },
    { owner: OWNER, d: '~tilde' },
    { owner: OTHER, d: 'x'.repeat(300) },
    { owner: OTHER, d: '.hidden' },
  ];
  for (const r of ids) await repos.create(r);
  // stray entries the scan ignores
  mkdirSync(join(root, 'not-an-npub'));
  mkdirSync(join(root, npubEncode(OWNER), 'not.encoded.git'));
  mkdirSync(join(root, npubEncode(OTHER), '~' + 'c'.repeat(64) + '.git')); // hashed name, no description
  writeFileSync(join(root, npubEncode(OWNER), 'file.git'), '');
  const key = (r: RepoId): string => `${r.owner}/${r.d}`;
  assert.deepEqual((await repos.list()).map(key).sort(), ids.map(key).sort());

  const r = ids[0]!;
  assert.equal(await repos.size(r), 0); // an empty repo: empty directories only
  commit(repos.dirOf(r), 'first');
  now += 1000;
  const s0 = await repos.size(r);
  assert.ok(s0 > 0);
  commit(repos.dirOf(r), 'x'.repeat(10_000));
  assert.equal(await repos.size(r), s0); // cached
  now += 1000;
  const s1 = await repos.size(r);
  assert.ok(s1 > s0, `${s1} > ${s0}`);

  await repos.trash(r);
  assert.equal(repos.exists(r), false);
  await repos.trash(r); // absent: no-op
  assert.deepEqual((await repos.list()).map(key).sort(), ids.slice(1).map(key).sort());
  const trashed = readdirSync(join(root, '.trash'));
  assert.equal(trashed.length, 1);
  assert.match(trashed[0]!, /^1002000-[0-9a-f]+$/);
  assert.equal(readFileSync(join(root, '.trash', trashed[0]!, 'description'), 'utf8'), 'one');
  // re-created afresh after trash
  await repos.create(r);
  assert.deepEqual(await repos.refs(r), new Map());

  now += 5000;
  await repos.trash(ids[1]!);
  assert.equal(readdirSync(join(root, '.trash')).length, 2);
  assert.equal(await repos.sweepTrash(now, 10_000), 0);
  assert.equal(await repos.sweepTrash(now + 5000, 10_000), 1); // the first one is 10 s old
  assert.equal(readdirSync(join(root, '.trash')).length, 1);
  assert.equal(await repos.sweepTrash(now + 10_000, 10_000), 1);
  assert.deepEqual(readdirSync(join(root, '.trash')), []);
});
