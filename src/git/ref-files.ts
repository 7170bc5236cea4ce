// A repository's branches, tags and refs/nostr read straight from its files (`packed-refs` and
// the loose refs under refs/heads, refs/tags, refs/nostr), without a git process. Only for
// read-only looks where a spawn per repository dominates (git sync's hourly check of every
// hosted repository); anything the files backend does not make plain — a symbolic or malformed
// ref, a ref being written (`.lock`), a reftable repository — returns undefined and the caller
// asks git (`Repos.refs`), which stays the authority for every decision taken under a lock.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isOid, type Refs } from './types.js';

const ROOTS = ['refs/heads', 'refs/tags', 'refs/nostr'] as const;
/** A repository with more loose refs than this is left to git. */
const MAX_LOOSE = 10_000;

class Unclear extends Error {}

/** refs/heads, refs/tags and refs/nostr → oid, as `git for-each-ref` lists them; undefined when unsure. */
export async function readRefFiles(gitDir: string): Promise<Refs | undefined> {
  try {
    await readFile(join(gitDir, 'HEAD')); // not a repository (or gone): ENOENT, left to git
    if (await exists(join(gitDir, 'reftable'))) return undefined;
    const refs: Refs = new Map();
    const packed = await readFile(join(gitDir, 'packed-refs'), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    for (const line of packed.split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const oid = line.slice(0, 40);
      const ref = line.slice(41);
      if (!isOid(oid) || line[40] !== ' ') throw new Unclear();
      if (ROOTS.some((root) => ref.startsWith(root + '/'))) refs.set(ref, oid);
    }
    const budget = { left: MAX_LOOSE };
    for (const root of ROOTS) await loose(gitDir, root, refs, budget);
    return refs;
  } catch (e) {
    if (e instanceof Unclear) return undefined;
    if ((e as NodeJS.ErrnoException).code !== undefined) return undefined;
    throw e;
  }
}

async function loose(gitDir: string, rel: string, refs: Refs, budget: { left: number }): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(gitDir, rel), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) {
    const name = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      await loose(gitDir, name, refs, budget);
      continue;
    }
    if (--budget.left < 0 || !e.isFile() || e.name.endsWith('.lock')) throw new Unclear();
    const text = await readFile(join(gitDir, name), 'utf8');
    const oid = text.trimEnd();
    if (!isOid(oid)) throw new Unclear(); // symbolic or malformed: git knows what it means
    refs.set(name, oid);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await readdir(p);
    return true;
  } catch {
    return false;
  }
}
