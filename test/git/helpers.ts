// The git half under test: a relay with git enabled on loopback, the real git CLI with a clean
// environment and fixed dates (deterministic commit ids), work trees with commits, and signed
// NIP-34 events (announcement, state, PR) naming that relay.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import type { Clock } from '../../src/clock.js';
import type { GitSyncOptions } from '../../src/git/index.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import { keypair, sign, type Keypair } from '../helpers/events.js';
import { startTestRelay, tempDir, type ConfigOverrides, type TestRelay } from '../helpers/relay.js';

export { keypair, type Keypair };

export interface GitRelay extends TestRelay {
  /** http://127.0.0.1:<port> */
  http: string;
  /** the clone URL of (owner, d) */
  repoUrl(owner: Keypair | string, d: string): string;
}

export async function startGitRelay(
  overrides: ConfigOverrides = {},
  opts: { dataDir?: string; clock?: Clock; transport?: 'uws' | 'ws'; gitSync?: GitSyncOptions } = {},
): Promise<GitRelay> {
  const relay = await startTestRelay(
    {
      ...overrides,
      git: { enabled: true, syncEnabled: false, syncAllowPrivateAddresses: true, ...overrides.git },
      server: { ...(opts.transport !== undefined ? { transport: opts.transport } : {}), ...overrides.server },
    },
    {
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      ...(opts.gitSync !== undefined ? { gitSync: opts.gitSync } : {}),
    },
  );
  const http = `http://127.0.0.1:${relay.port}`;
  return Object.assign(relay, {
    http,
    repoUrl: (owner: Keypair | string, d: string) => `${http}/${npubEncode(typeof owner === 'string' ? owner : owner.pk)}/${encodeURIComponent(d)}.git`,
  });
}

export interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const FIXED_DATE = '1700000000 +0000';

/** The environment of the git CLI in tests: nothing from the caller's config, fixed identity and dates. */
export function gitTestEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_AUTHOR_DATE: FIXED_DATE,
    GIT_COMMITTER_DATE: FIXED_DATE,
    LC_ALL: 'C',
    ...extra,
  };
}

/** Run the git CLI (argv, no shell) and collect its output. */
export function git(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd ?? process.cwd(), env: gitTestEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // git may exit without reading stdin
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** git, failing the test with its stderr when it exits non-zero. */
export async function gitOk(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await git(args, opts);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A fresh work tree on branch main with `remote` as origin (when given). */
export async function workTree(remote?: string): Promise<string> {
  const dir = join(tempDir(), 'work');
  mkdirSync(dir, { recursive: true });
  await gitOk(['init', '-q', '--initial-branch=main', dir]);
  if (remote !== undefined) await gitOk(['remote', 'add', 'origin', remote], { cwd: dir });
  return dir;
}

/** Commit a file (created or replaced) on the current branch; returns the new commit id. */
export async function commitFile(dir: string, file: string, content: string | Buffer, message = `change ${file}`): Promise<string> {
  writeFileSync(join(dir, file), content);
  await gitOk(['add', file], { cwd: dir });
  await gitOk(['commit', '-q', '-m', message], { cwd: dir });
  return gitOk(['rev-parse', 'HEAD'], { cwd: dir });
}

/** `git ls-remote <url>` as a map ref → oid (HEAD included when advertised). */
export async function lsRemote(url: string): Promise<Map<string, string>> {
  const out = await gitOk(['ls-remote', url]);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [oid, ref] = line.split('\t');
    if (oid && ref) m.set(ref, oid);
  }
  return m;
}

const wsOf = (http: string): string => http.replace(/^http/, 'ws');

/** A 30617 listing the relay in clone and relays (ngit's shape). */
export function announcement(owner: Keypair, d: string, relay: GitRelay, opts: { maintainers?: string[]; created_at?: number; extraClone?: string[] } = {}): NostrEvent {
  const tags: string[][] = [
    ['d', d],
    ['name', d],
    ['description', `the ${d} repository`],
    ['clone', relay.repoUrl(owner, d), ...(opts.extraClone ?? [])],
    ['relays', wsOf(relay.http)],
    ['maintainers', owner.pk, ...(opts.maintainers ?? [])],
    ['alt', `git repository: ${d}`],
  ];
  return sign(owner, { kind: 30617, tags, ...(opts.created_at !== undefined ? { created_at: opts.created_at } : {}) });
}

/** A 30618 declaring these refs (ref name → oid) and HEAD (a branch name, e.g. 'main'). */
export function stateEvent(author: Keypair, d: string, refs: Record<string, string>, opts: { head?: string; created_at?: number } = {}): NostrEvent {
  const tags: string[][] = [['d', d]];
  for (const [ref, oid] of Object.entries(refs)) tags.push([ref, oid]);
  const head = opts.head ?? (refs['refs/heads/main'] !== undefined ? 'main' : undefined);
  if (head !== undefined) tags.push(['HEAD', `ref: refs/heads/${head}`]);
  return sign(author, { kind: 30618, tags, ...(opts.created_at !== undefined ? { created_at: opts.created_at } : {}) });
}

/** A PR (1618) for owner's repository d with tip `c`, cloneable from the relay. */
export function prEvent(author: Keypair, owner: Keypair, d: string, tip: string, relay: GitRelay, opts: { created_at?: number } = {}): NostrEvent {
  return sign(author, {
    kind: 1618,
    tags: [
      ['a', `30617:${owner.pk}:${d}`],
      ['p', owner.pk],
      ['subject', 'a pull request'],
      ['c', tip],
      ['clone', relay.repoUrl(owner, d)],
      ['branch-name', 'feature'],
    ],
    content: 'please merge',
    ...(opts.created_at !== undefined ? { created_at: opts.created_at } : {}),
  });
}

/** A random binary blob of `bytes` (incompressible). */
export function randomBlob(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE((Math.random() * 0x100000000) >>> 0, i);
  return b;
}

