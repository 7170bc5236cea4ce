// Spawning git: argv arrays (never a shell), a clean environment (nothing inherited but PATH),
// each child the leader of its own process group so a kill reaches the pack-objects it forks,
// and timeouts; the `-c` options every served process gets. Every git process of the relay starts
// here; what it is for is the caller's.
import { spawn, type ChildProcess } from 'node:child_process';
import type { GitConfig } from '../config/schema.js';

/** Grace between SIGTERM and SIGKILL for a process group. */
const KILL_GRACE_MS = 5000;
/** stderr kept per process (for logs and messages). */
const STDERR_KEEP = 4096;

/** Where git finds its (empty) home and hooks: both directories the relay owns. */
export interface GitRuntime {
  binary: string;
  /** an empty directory used as HOME */
  home: string;
  /** an empty directory used as core.hooksPath: no hook ever runs */
  hooks: string;
}

const PROTOCOL_RE = /^[A-Za-z0-9._:=-]{1,64}$/;

/** The environment of every git child: nothing inherited but PATH. */
export function gitEnv(rt: GitRuntime, gitProtocol?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: rt.home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    LC_ALL: 'C',
  };
  if (gitProtocol !== undefined && PROTOCOL_RE.test(gitProtocol)) env.GIT_PROTOCOL = gitProtocol;
  return env;
}

/** `-c` options every git command of the relay carries. */
export function baseConfigArgs(rt: GitRuntime): string[] {
  return ['-c', `core.hooksPath=${rt.hooks}`, '-c', 'core.askPass=/bin/false', '-c', 'credential.helper='];
}

/** The `-c` options of git.md §2.2 for a served upload-pack or receive-pack. */
export function servedConfigArgs(cfg: Pick<GitConfig, 'packThreads' | 'maxPushBytes' | 'fsckObjects'>, svc: 'upload-pack' | 'receive-pack'): string[] {
  const c = (kv: string): string[] => ['-c', kv];
  const args = [
    ...c('uploadpack.allowTipSHA1InWant=true'),
    ...c('uploadpack.allowReachableSHA1InWant=true'),
    ...c('uploadpack.allowFilter=true'),
    ...c(`pack.threads=${cfg.packThreads}`),
  ];
  if (svc === 'receive-pack') {
    args.push(
      ...c(`receive.maxInputSize=${cfg.maxPushBytes}`),
      ...c(`receive.fsckObjects=${cfg.fsckObjects}`),
      ...c('receive.fsck.zeroPaddedFilemode=warn'),
      ...c('receive.fsck.badTimezone=warn'),
      ...c('receive.fsck.missingSpaceBeforeDate=warn'),
      ...c('receive.advertisePushOptions=false'),
    );
  }
  return args;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** total lifetime; the process group is killed after it (0 = none) */
  timeoutMs?: number;
}

export interface SpawnedGit {
  readonly child: ChildProcess;
  /** resolves when the process has exited (never rejects) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>;
  /** the first STDERR_KEEP bytes of stderr */
  stderr(): string;
  /** SIGTERM to the process group, SIGKILL after a grace period if still alive */
  kill(): void;
}

export function spawnGit(rt: GitRuntime, args: string[], opts: SpawnOptions): SpawnedGit {
  const child = spawn(rt.binary, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true, // own process group: kill(-pid) reaches its children too
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (err.length < STDERR_KEEP) err += b.toString('utf8', 0, Math.min(b.length, STDERR_KEEP - err.length));
  });
  // EPIPE on stdin when git exits early is expected; the exit code tells what happened
  child.stdin!.on('error', () => {});
  let exitedFlag = false;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (exitedFlag || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    killTimer ??= setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, KILL_GRACE_MS);
    killTimer.unref();
  };
  const lifetime =
    opts.timeoutMs !== undefined && opts.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, opts.timeoutMs)
      : undefined;
  lifetime?.unref();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (exitedFlag) return;
      exitedFlag = true;
      if (lifetime) clearTimeout(lifetime);
      // the group may still hold children (pack-objects) if git itself died: make sure they go
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* none left */
        }
      }
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, timedOut });
    };
    child.on('close', done);
    child.on('error', () => done(null, null));
  });
  return { child, exited, stderr: () => err, kill };
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

/**
 * Run git to completion with optional stdin; stdout is collected up to `maxStdoutBytes` (the
 * process is killed past it). For the relay's own small commands (for-each-ref, cat-file,
 * update-ref, init); never for pack data.
 */
export async function runGit(
  rt: GitRuntime,
  args: string[],
  opts: { cwd: string; input?: string | Buffer; timeoutMs?: number; maxStdoutBytes?: number; gitProtocol?: string },
): Promise<RunResult> {
  const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
  const p = spawnGit(rt, [...baseConfigArgs(rt), ...args], { cwd: opts.cwd, env: gitEnv(rt, opts.gitProtocol), timeoutMs: opts.timeoutMs ?? 60_000 });
  const chunks: Buffer[] = [];
  let size = 0;
  p.child.stdout!.on('data', (b: Buffer) => {
    size += b.length;
    if (size > max) p.kill();
    else chunks.push(b);
  });
  if (opts.input !== undefined) p.child.stdin!.end(opts.input);
  else p.child.stdin!.end();
  const r = await p.exited;
  return { code: r.code, stdout: Buffer.concat(chunks), stderr: p.stderr(), timedOut: r.timedOut };
}

/** `git --version` → [major, minor], or an error text. */
export async function gitVersion(binary: string): Promise<{ major: number; minor: number; text: string } | { error: string }> {
  return new Promise((resolve) => {
    let out = '';
    let child: ChildProcess;
    try {
      child = spawn(binary, ['--version'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (e) {
      resolve({ error: (e as Error).message });
      return;
    }
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (e) => resolve({ error: e.message }));
    child.on('close', (code) => {
      const m = /git version (\d+)\.(\d+)/.exec(out);
      if (code !== 0 || !m) resolve({ error: `unexpected output from ${binary} --version: ${JSON.stringify(out.trim().slice(0, 100))}` });
      else resolve({ major: Number(m[1]), minor: Number(m[2]), text: out.trim() });
    });
  });
}
