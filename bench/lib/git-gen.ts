// The git bench's repositories and git CLI: a deterministic history of N commits generated with
// `git fast-import` (a tree of text files; each commit rewrites a few lines of a few files, so the
// pack deltas like a real project's), the git CLI with a clean environment, and sizes on disk.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const FIXED_DATE = 1_700_000_000;

/** The git CLI's environment in the bench: nothing from the caller's config, fixed identity. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Run git (argv, no shell); rejects with its stderr when it exits non-zero. */
export function git(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd ?? process.cwd(), env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {});
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.length < 8192 ? d : ''));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`git ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`))));
    child.stdin.end(opts.input ?? '');
  });
}

/** Total bytes of the files under `dir` (recursively). */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

export interface GenOptions {
  commits: number;
  /** files in the tree (spread over 16 directories) */
  files: number;
  /** files rewritten per commit */
  filesPerCommit: number;
  /** lines replaced in each rewritten file (the fresh bytes per commit; the pack scales with it) */
  churnLines: number;
  /** lines per file */
  linesPerFile: number;
  seed: number;
}

const WORDS = (
  'relay event commit branch merge state nostr signed pack object tree blob delta index fetch clone push ' +
  'server client socket stream buffer queue worker thread lock store query filter author kind tag repo ' +
  'patch issue review release tip head ref maintainer announcement purgatory sweep metric limit config'
).split(' ');

/** xorshift32: deterministic, seeded. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * A bare repository at `dir` with `commits` commits on refs/heads/main (and refs/heads/base at
 * main~`baseBack`, for the incremental fetch), written by `git fast-import`. Same options, same
 * commit ids.
 */
export async function generateRepo(dir: string, o: GenOptions, baseBack: number): Promise<{ head: string; base: string }> {
  await git(['init', '-q', '--bare', '--initial-branch=main', dir]);
  const child = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: dir, env: gitEnv(), stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}: ${err.slice(-2000)}`))));
  });
  const rand = rng(o.seed);
  const line = (): string => {
    const n = 6 + (rand() % 6);
    const w: string[] = [];
    for (let i = 0; i < n; i++) w.push(WORDS[rand() % WORDS.length]!);
    return `${w.join(' ')} ${(rand() >>> 0).toString(16)}\n`;
  };
  const files: string[][] = [];
  const path = (i: number): string => `src/d${i % 16}/file${i}.txt`;
  for (let i = 0; i < o.files; i++) files.push(Array.from({ length: o.linesPerFile }, line));

  const write = (s: string): Promise<void> | undefined => {
    if (child.stdin.write(s)) return undefined;
    return new Promise((resolve) => child.stdin.once('drain', resolve));
  };
  const data = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  let mark = 0;
  for (let c = 0; c < o.commits; c++) {
    const touched = new Set<number>();
    if (c === 0) for (let i = 0; i < o.files; i++) touched.add(i);
    else {
      while (touched.size < Math.min(o.filesPerCommit, o.files)) touched.add(rand() % o.files);
      for (const f of touched) {
        const lines = files[f]!;
        for (let k = 0; k < o.churnLines; k++) lines[rand() % lines.length] = line();
      }
    }
    let cmd = `commit refs/heads/main\nmark :${++mark}\ncommitter Bench <bench@example.com> ${FIXED_DATE + c * 60} +0000\n`;
    cmd += data(`commit ${c}: ${[...touched].slice(0, 3).map(path).join(', ')}${touched.size > 3 ? ', …' : ''}\n`);
    for (const f of touched) cmd += `M 100644 inline ${path(f)}\n${data(files[f]!.join(''))}`;
    cmd += '\n';
    const p = write(cmd);
    if (p) await p;
  }
  child.stdin.end('done\n');
  await done;
  const head = await git(['rev-parse', 'refs/heads/main'], { cwd: dir });
  const base = await git(['rev-parse', `refs/heads/main~${Math.min(baseBack, o.commits - 1)}`], { cwd: dir });
  await git(['update-ref', 'refs/heads/base', base], { cwd: dir });
  return { head, base };
}
