// Repositories on disk (git.md §2.3): the layout under git.dataDir (the only place a disk path is
// built, from (owner, d) and never from URL text), creation, the per-repo lock, ref reads and
// all-or-nothing ref transactions, HEAD, object presence, local imports between repos, size,
// trash and the scan. Every git process goes through gitproc.ts. No method takes the repo lock
// itself: callers wrap receive-pack, alignment, imports and removal in withLock().
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { decode, npubEncode } from 'nostr-tools/nip19';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { decodeName, encodeName, HASHED_NAME_RE } from './repo-names.js';
import { runGit, type GitRuntime, type RunResult } from './gitproc.js';
import { isOid, repoKey, ZERO_OID, type Oid, type RefCommand, type Refs, type RepoId } from './types.js';

export { decodeName, encodeName, MAX_NAME_BYTES } from './repo-names.js';

export interface ReposOptions {
  root: string;
  binary: string;
  log: Logger;
  /** pack.threads for the upload-pack side of local imports (default 2) */
  packThreads?: number;
  /** for the size cache and trash timestamps (default: the system clock) */
  clock?: Clock;
  /** how long size() trusts a measurement (default 10 s) */
  sizeTtlMs?: number;
  /** longest local import (default 10 min) */
  importTimeoutMs?: number;
}

/** A git command that failed: its stderr (first 4 KiB) and exit code. */
export class GitError extends Error {
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(message: string, stderr = '', exitCode: number | null = null) {
    super(stderr.trim() === '' ? message : `${message}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'GitError';
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

const HEX64_RE = /^[0-9a-f]{64}$/;
const TRASH_RE = /^(\d+)-[0-9a-f]+$/;

export class Repos {
  readonly runtime: GitRuntime;
  readonly root: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly packThreads: number;
  private readonly sizeTtlMs: number;
  private readonly importTimeoutMs: number;
  private readonly scratch: string;
  private readonly trashDir: string;
  /** repoKey → tail of its FIFO lock chain */
  private readonly locks = new Map<string, Promise<void>>();
  private readonly sizes = new Map<string, { bytes: number; at: number }>();

  private constructor(root: string, opts: ReposOptions) {
    this.root = root;
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.packThreads = opts.packThreads ?? 2;
    this.sizeTtlMs = opts.sizeTtlMs ?? 10_000;
    this.importTimeoutMs = opts.importTimeoutMs ?? 600_000;
    this.scratch = join(root, '.scratch');
    this.trashDir = join(root, '.trash');
    this.runtime = { binary: opts.binary, home: join(root, '.home'), hooks: join(root, '.hooks') };
  }

  /** Create the root and its service directories; `.home` and `.hooks` are emptied, `.scratch` leftovers deleted. */
  static async open(opts: ReposOptions): Promise<Repos> {
    const root = resolve(opts.root);
    const repos = new Repos(root, opts);
    await mkdir(root, { recursive: true });
    for (const dir of [repos.runtime.home, repos.runtime.hooks, repos.scratch]) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
    }
    await mkdir(repos.trashDir, { recursive: true });
    return repos;
  }

  /** The directory for scratch repos (sync); emptied at open. */
  get scratchDir(): string {
    return this.scratch;
  }

  /** The ONLY place a repository path is built: `<root>/<npub of owner>/<enc(d)>.git`. */
  dirOf(r: RepoId): string {
    if (!HEX64_RE.test(r.owner)) throw new Error(`invalid repository owner ${JSON.stringify(r.owner.slice(0, 80))}`);
    const dir = join(this.root, npubEncode(r.owner), encodeName(r.d) + '.git');
    if (!this.isUnderRoot(dir)) throw new Error('repository path escapes the git root');
    return dir;
  }

  exists(r: RepoId): boolean {
    return existsSync(join(this.dirOf(r), 'HEAD'));
  }

  /**
   * Idempotent. `git init --bare --initial-branch=main` in `.scratch`, `description` = d, then one
   * rename into place: a repo is never seen half made, and concurrent creations leave one.
   */
  async create(r: RepoId): Promise<void> {
    const dir = this.dirOf(r);
    if (this.exists(r)) return;
    const tmp = join(this.scratch, `init-${randomBytes(8).toString('hex')}.git`);
    try {
      const res = await runGit(this.runtime, ['init', '--quiet', '--bare', '--initial-branch=main', tmp], { cwd: this.scratch });
      if (res.code !== 0) throw new GitError(`git init ${repoKey(r)} failed`, res.stderr, res.code);
      await writeFile(join(tmp, 'description'), r.d);
      await mkdir(join(dir, '..'), { recursive: true });
      try {
        await rename(tmp, dir);
      } catch (e) {
        // another creation won the race: its repo stands
        if (this.exists(r)) return;
        throw e;
      }
      this.log.info({ repo: repoKey(r), dir }, 'git repository created');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Run fn holding r's lock; waiters are served in arrival order; an exception releases the lock. */
  async withLock<T>(r: RepoId, fn: () => Promise<T>): Promise<T> {
    const key = repoKey(r);
    const prev = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((res) => (release = res));
    const tail = prev.then(() => mine);
    this.locks.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** True while someone holds or waits for r's lock. */
  isLocked(r: RepoId): boolean {
    return this.locks.has(repoKey(r));
  }

  /** refs/heads, refs/tags and refs/nostr → oid; an empty map for an empty repo. */
  async refs(r: RepoId): Promise<Refs> {
    const res = await this.git(r, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags', 'refs/nostr'], 'for-each-ref');
    const refs: Refs = new Map();
    for (const line of res.stdout.toString('utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) refs.set(line.slice(sp + 1), line.slice(0, sp));
    }
    return refs;
  }

  /** HEAD's symbolic target (`refs/heads/main`), undefined when HEAD is not symbolic. */
  async head(r: RepoId): Promise<string | undefined> {
    const res = await this.git(r, ['symbolic-ref', '-q', 'HEAD'], 'symbolic-ref', [0, 1]);
    const t = res.stdout.toString('utf8').trim();
    return res.code === 0 && t !== '' ? t : undefined;
  }

  /** `git symbolic-ref HEAD <ref>`; only a branch (`refs/heads/…`). */
  async setHead(r: RepoId, ref: string): Promise<void> {
    if (!ref.startsWith('refs/heads/') || !safeRefName(ref)) throw new GitError(`refusing to point HEAD at ${JSON.stringify(ref)}`);
    await this.git(r, ['symbolic-ref', 'HEAD', ref], 'symbolic-ref');
  }

  /** Which of these oids r does not hold (one `cat-file --batch-check`); anything not a sha1 hex id counts as missing. */
  async missing(r: RepoId, oids: Oid[]): Promise<Set<Oid>> {
    const out = new Set<Oid>();
    const ask = [...new Set(oids)].filter((o) => {
      if (isOid(o)) return true;
      out.add(o);
      return false;
    });
    if (ask.length === 0) return out;
    const res = await this.git(r, ['cat-file', '--batch-check=%(objectname)'], 'cat-file', [0], ask.join('\n') + '\n');
    const lines = res.stdout.toString('utf8').split('\n');
    ask.forEach((o, i) => {
      // present: "<oid>"; absent: "<oid> missing"
      if (lines[i] !== o) out.add(o);
    });
    return out;
  }

  /**
   * One `git update-ref --stdin -z` transaction (start, update/delete with old values, prepare,
   * commit): all or nothing. ZERO_OID old = the ref must not exist; ZERO_OID new = delete.
   */
  async update(r: RepoId, cmds: RefCommand[]): Promise<void> {
    if (cmds.length === 0) return;
    const parts: string[] = ['start'];
    for (const c of cmds) {
      if (!isOid(c.old) || !isOid(c.new)) throw new GitError(`bad oid in ref command for ${JSON.stringify(c.ref)}`);
      if (!c.ref.startsWith('refs/') || !safeRefName(c.ref)) throw new GitError(`bad ref name ${JSON.stringify(c.ref)}`);
      if (c.new === ZERO_OID) parts.push(c.old === ZERO_OID ? `verify ${c.ref}\0${ZERO_OID}` : `delete ${c.ref}\0${c.old}`);
      else parts.push(`update ${c.ref}\0${c.new}\0${c.old}`);
    }
    parts.push('prepare', 'commit');
    await this.git(r, ['update-ref', '--stdin', '-z'], 'update-ref', [0], parts.join('\0') + '\0');
  }

  /**
   * Import objects from another local repo: `git fetch` over the local path, protocol v2, the
   * source's upload-pack allowed any id. Only ids the source holds and dst lacks are asked for.
   * Returns the oids dst now holds. The caller holds dst's lock.
   */
  async importFrom(src: RepoId, dst: RepoId, oids: Oid[]): Promise<Set<Oid>> {
    const srcMissing = await this.missing(src, oids);
    return this.importFromDir(this.dirOf(src), dst, oids.filter((o) => !srcMissing.has(o)), oids);
  }

  /**
   * importFrom with a source directory under the root (a `.scratch` repo of sync): fetches `want`
   * (which the source must hold), returns which of `report` (default `want`) dst now holds.
   */
  async importFromDir(srcDir: string, dst: RepoId, want: Oid[], report: Oid[] = want): Promise<Set<Oid>> {
    const from = resolve(srcDir);
    if (!this.isUnderRoot(from)) throw new GitError('import source outside the git root');
    const dstMissing = await this.missing(dst, want);
    const fetch = [...dstMissing].filter(isOid);
    if (fetch.length > 0) {
      const uploadPack = `${shellQuote(this.runtime.binary)} -c uploadpack.allowAnySHA1InWant=true -c pack.threads=${this.packThreads} upload-pack`;
      const args = [
        '-c', 'protocol.file.allow=always', '-c', 'protocol.version=2', '-c', `pack.threads=${this.packThreads}`,
        'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--no-recurse-submodules',
        `--upload-pack=${uploadPack}`, '--', from, ...fetch,
      ];
      await this.git(dst, args, 'fetch (local import)', [0], undefined, this.importTimeoutMs);
      this.sizes.delete(repoKey(dst));
      this.log.debug({ repo: repoKey(dst), from, oids: fetch.length }, 'git objects imported');
    }
    const still = await this.missing(dst, report);
    return new Set(report.filter((o) => !still.has(o)));
  }

  /**
   * A scratch bare repo under `.scratch/` whose `objects/info/alternates` names r's objects (git.md
   * §3: negotiation sees r's objects, only new ones arrive there, r itself is never written).
   * `dispose` deletes it; `.scratch` is also emptied at open.
   */
  async scratchFor(r: RepoId): Promise<{ dir: string; dispose: () => Promise<void> }> {
    const objects = join(this.dirOf(r), 'objects');
    if (!this.exists(r)) throw new GitError(`scratch: repository ${repoKey(r)} does not exist`);
    const dir = join(this.scratch, `sync-${randomBytes(8).toString('hex')}.git`);
    const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
    const res = await runGit(this.runtime, ['init', '--quiet', '--bare', dir], { cwd: this.scratch });
    if (res.code !== 0) {
      await dispose();
      throw new GitError('git init (scratch) failed', res.stderr, res.code);
    }
    await writeFile(join(dir, 'objects', 'info', 'alternates'), objects + '\n');
    return { dir, dispose };
  }

  /** Bytes of r's objects directory (a walk; cached for sizeTtlMs). 0 when r does not exist. */
  async size(r: RepoId): Promise<number> {
    const key = repoKey(r);
    const now = this.clock.now();
    const hit = this.sizes.get(key);
    if (hit && now - hit.at < this.sizeTtlMs) return hit.bytes;
    const bytes = await dirBytes(join(this.dirOf(r), 'objects'));
    this.sizes.set(key, { bytes, at: now });
    return bytes;
  }

  /** Forget the cached size of r (after a push). */
  invalidateSize(r: RepoId): void {
    this.sizes.delete(repoKey(r));
  }

  /** Move r to `<root>/.trash/<timestamp>-<random>` (one rename); r no longer exists. No-op if absent. */
  async trash(r: RepoId): Promise<void> {
    const dir = this.dirOf(r);
    this.sizes.delete(repoKey(r));
    if (!existsSync(dir)) return;
    const to = join(this.trashDir, `${this.clock.now()}-${randomBytes(6).toString('hex')}`);
    await rename(dir, to);
    // where it came from, for an operator who wants it back
    await writeFile(join(to, 'grasp-relay-trashed-from'), `${npubEncode(r.owner)}/${encodeName(r.d)}.git\n`).catch(() => {});
    this.log.info({ repo: repoKey(r), to }, 'git repository moved to trash');
  }

  /** Every repo on disk: `<root>/<npub>/*.git`, names decoded (hashed names through `description`). */
  async list(): Promise<RepoId[]> {
    const out: RepoId[] = [];
    for (const top of await readdir(this.root, { withFileTypes: true })) {
      if (!top.isDirectory() || top.name.startsWith('.')) continue;
      let owner: string;
      try {
        const dec = decode(top.name);
        if (dec.type !== 'npub' || npubEncode(dec.data) !== top.name) continue;
        owner = dec.data;
      } catch {
        continue;
      }
      for (const ent of await readdir(join(this.root, top.name), { withFileTypes: true })) {
        if (!ent.isDirectory() || !ent.name.endsWith('.git')) continue;
        const name = ent.name.slice(0, -4);
        let d: string | undefined;
        if (HASHED_NAME_RE.test(name)) {
          const desc = await readFile(join(this.root, top.name, ent.name, 'description'), 'utf8').catch(() => undefined);
          if (desc !== undefined && encodeName(desc) === name) d = desc;
        } else d = decodeName(name);
        if (d === undefined) {
          this.log.warn({ dir: join(this.root, top.name, ent.name) }, 'git root: directory is not a repository name, ignored');
          continue;
        }
        out.push({ owner, d });
      }
    }
    return out;
  }

  /** Delete trash entries older than maxAgeMs (by the timestamp in their name); returns how many. */
  async sweepTrash(now: number, maxAgeMs: number): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.trashDir)) {
      const m = TRASH_RE.exec(name);
      const at = m ? Number(m[1]) : (await lstat(join(this.trashDir, name))).mtimeMs;
      if (now - at < maxAgeMs) continue;
      await rm(join(this.trashDir, name), { recursive: true, force: true });
      n++;
    }
    if (n > 0) this.log.info({ removed: n }, 'git trash swept');
    return n;
  }

  private isUnderRoot(p: string): boolean {
    const rel = relative(this.root, resolve(p));
    return rel !== '' && !isAbsolute(rel) && !rel.split(sep).includes('..');
  }

  /** Run git in r's directory (`--git-dir` explicit: never discovery); a code outside `ok` throws GitError. */
  private async git(r: RepoId, args: string[], what: string, ok: number[] = [0], input?: string, timeoutMs?: number): Promise<RunResult> {
    const dir = this.dirOf(r);
    if (!existsSync(dir)) throw new GitError(`${what}: repository ${repoKey(r)} does not exist`);
    const res = await runGit(this.runtime, [`--git-dir=${dir}`, ...args], { cwd: dir, input, timeoutMs });
    if (res.code === null || !ok.includes(res.code)) {
      throw new GitError(`git ${what} in ${repoKey(r)} failed${res.timedOut ? ' (timed out)' : ''}`, res.stderr, res.code);
    }
    return res;
  }
}

/** A ref name safe to pass in argv and in update-ref's -z stream (git checks the rest). */
function safeRefName(ref: string): boolean {
  // eslint-disable-next-line no-control-regex
  return ref.length <= 1024 && !/[\x00-\x20\x7f~^:?*[\\]/.test(ref) && !ref.includes('..') && !ref.includes('@{') && !ref.endsWith('.lock') && !ref.endsWith('/') && !ref.startsWith('-');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Bytes of the files under dir (0 when it is gone); git sync measures scratch repositories with it. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else if (e.isFile()) total += await lstat(p).then((s) => s.size, () => 0);
  }
  return total;
}
