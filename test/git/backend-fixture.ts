// Test fixture for GitBackend: a bare repository in a temp dir served at /repo.git through a real
// transport (ws or uws) streaming route, the real git CLI with a deterministic environment, and helpers to look at processes.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitBackend, type PushHooks } from '../../src/git/backend.js';
import { makeConfig, type GitConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../helpers/tmp.js';
import { createUwsTransport } from '../../src/relay/transport-uws.js';
import { createWsTransport } from '../../src/relay/transport-ws.js';
import { notFound, type Transport, type TransportCallbacks } from '../../src/relay/transport.js';
import { gitTestEnv } from './helpers.js';

/** git for the tests: the shared clean environment (no user config, fixed identity and dates). */
export const CLI_ENV: NodeJS.ProcessEnv = gitTestEnv();

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the git CLI (or any program) to completion. */
export function cli(args: string[], cwd: string, input?: string | Buffer, program = 'git'): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, env: { ...CLI_ENV, HOME: cwd }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

export async function ok(args: string[], cwd: string, input?: string | Buffer): Promise<string> {
  const r = await cli(args, cwd, input);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

export interface Fixture {
  dir: string;
  bare: string;
  url: string;
  port: number;
  backend: GitBackend;
  config: GitConfig;
  /** the hooks the next push uses (tests replace members) */
  hooks: PushHooks;
  /** Content-Encoding of every POST seen */
  encodings: string[];
  /** repoDir handed to the backend for /other.git (tests point it elsewhere) */
  otherDir: string;
  close(): Promise<void>;
}

export const acceptingHooks = (): PushHooks => ({
  withLock: (fn) => fn(),
  authorize: () => Promise.resolve({ ok: true }),
  afterPush: () => Promise.resolve(),
});

/** `ws` (node:http) or `uws`; X-Forwarded-For is trusted so tests can pose as several client IPs. */
export async function startFixture(git: Partial<GitConfig> = {}, transport: 'ws' | 'uws' = 'ws'): Promise<Fixture> {
  const dir = tempDir('grasp-git-backend-');
  const home = join(dir, 'home');
  const hooksDir = join(dir, 'hooks');
  mkdirSync(home);
  mkdirSync(hooksDir);
  const bare = join(dir, 'repo.git');
  await ok(['init', '-q', '--bare', '--initial-branch=main', bare], dir);
  const config = makeConfig({ git }).git;
  const backend = new GitBackend({ runtime: { binary: 'git', home, hooks: hooksDir }, config, log: silentLogger });
  const fx: Partial<Fixture> = { dir, bare, backend, config, hooks: acceptingHooks(), encodings: [], otherDir: join(dir, 'other') };
  const callbacks: TransportCallbacks = {
    admit: () => true,
    open: () => {
      throw new Error('no WebSockets in this test');
    },
    http: () => notFound(),
    stream: (req) => {
      const m = /^\/(repo|other)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(req.path);
      if (!m) return undefined;
      const repoDir = m[1] === 'repo' ? bare : fx.otherDir!;
      if (req.method === 'POST') fx.encodings!.push(req.header('content-encoding'));
      if (m[2] === 'info/refs') return (rq, rs) => backend.infoRefs(rq, rs, repoDir);
      if (m[2] === 'git-upload-pack') return (rq, rs) => backend.uploadPack(rq, rs, repoDir);
      return (rq, rs) => backend.receivePack(rq, rs, repoDir, fx.hooks!);
    },
  };
  const opts = { maxPayloadBytes: 1 << 20, maxBackpressureBytes: 1 << 20, idleTimeoutSeconds: 60, trustProxy: true };
  const server: Transport = transport === 'uws' ? createUwsTransport(opts, callbacks) : createWsTransport(opts, callbacks);
  const port = await server.listen('127.0.0.1', 0);
  fx.port = port;
  fx.url = `http://127.0.0.1:${port}/repo.git`;
  fx.close = async () => {
    await backend.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return fx as Fixture;
}

/** A work repository with one commit on main; returns its path and the commit id. */
export async function workRepo(fx: Fixture, name = 'work'): Promise<{ path: string; head: string }> {
  const path = join(fx.dir, name);
  await ok(['init', '-q', '--initial-branch=main', path], fx.dir);
  await ok(['commit', '-q', '--allow-empty', '-m', 'first'], path);
  return { path, head: await ok(['rev-parse', 'HEAD'], path) };
}

/** Pids of processes whose command line or working directory mentions `path`. */
export function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${e}/cwd`);
      } catch {
        /* not ours to read */
      }
      if (cmd.includes(path) || cwd === path) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out.filter((p) => p !== process.pid);
}
