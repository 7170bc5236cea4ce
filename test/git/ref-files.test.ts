// readRefFiles (src/git/ref-files.ts) against git's own view of the same repository: packed and
// loose refs, refs/nostr, deletions; and "ask git" (undefined) for what the files do not make
// plain — a symbolic ref, a ref being written, malformed content, a reftable repository.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRefFiles } from '../../src/git/ref-files.js';
import { commitFile, git, gitOk, workTree } from './helpers.js';
import { tempDir } from '../helpers/relay.js';

async function forEachRef(dir: string): Promise<Map<string, string>> {
  const out = await gitOk(['--git-dir', dir, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags', 'refs/nostr']);
  return new Map(out.split('\n').filter((l) => l !== '').map((l) => [l.slice(41), l.slice(0, 40)] as [string, string]));
}

test('packed and loose refs read from the files equal git for-each-ref', async () => {
  const root = tempDir('ref-files-');
  const wt = await workTree();
  const c1 = await commitFile(wt, 'a.txt', 'one');
  const c2 = await commitFile(wt, 'a.txt', 'two');
  const bare = join(root, 'r.git');
  await gitOk(['clone', '--quiet', '--bare', wt, bare]);
  await gitOk(['--git-dir', bare, 'update-ref', 'refs/heads/dev', c1]);
  await gitOk(['--git-dir', bare, 'tag', '-a', '-m', 'v1', 'v1', c1]);
  await gitOk(['--git-dir', bare, 'update-ref', `refs/nostr/${'a'.repeat(64)}`, c2]);
  await gitOk(['--git-dir', bare, 'pack-refs', '--all']);
  // after packing: one loose update over a packed ref, one deletion, one new loose ref
  await gitOk(['--git-dir', bare, 'update-ref', 'refs/heads/dev', c2]);
  await gitOk(['--git-dir', bare, 'update-ref', '-d', 'refs/tags/v1']);
  await gitOk(['--git-dir', bare, 'update-ref', 'refs/heads/feature/x', c1]);
  const mine = await readRefFiles(bare);
  assert.ok(mine !== undefined);
  assert.deepEqual([...mine.entries()].sort(), [...(await forEachRef(bare)).entries()].sort());
  assert.equal(mine.get('refs/heads/dev'), c2);
  assert.equal(mine.has('refs/tags/v1'), false);

  // what the files do not make plain is left to git
  writeFileSync(join(bare, 'refs', 'heads', 'sym'), 'ref: refs/heads/dev\n');
  assert.equal(await readRefFiles(bare), undefined, 'a symbolic ref');
  await git(['--git-dir', bare, 'symbolic-ref', '-d', 'refs/heads/sym']);
  writeFileSync(join(bare, 'refs', 'heads', 'dev.lock'), c1 + '\n');
  assert.equal(await readRefFiles(bare), undefined, 'a ref being written');
  rmSync(join(bare, 'refs', 'heads', 'dev.lock'));
  writeFileSync(join(bare, 'refs', 'heads', 'bad'), 'not an oid\n');
  assert.equal(await readRefFiles(bare), undefined, 'malformed content');
  rmSync(join(bare, 'refs', 'heads', 'bad'));
  assert.ok((await readRefFiles(bare)) !== undefined);
  mkdirSync(join(bare, 'reftable'));
  assert.equal(await readRefFiles(bare), undefined, 'a reftable repository');
});

test('an empty repository has no refs; a missing directory is left to git', async () => {
  const root = tempDir('ref-files-');
  const bare = join(root, 'e.git');
  await gitOk(['init', '--quiet', '--bare', bare]);
  assert.deepEqual(await readRefFiles(bare), new Map());
  assert.equal(await readRefFiles(join(root, 'absent.git')), undefined);
});
