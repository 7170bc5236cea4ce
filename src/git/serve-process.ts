// One git child for one HTTP request (git.md §2.2, §5): take a process slot (or answer 503), spawn
// `git <service> --stateless-rpc` with the relay's `-c` options and a clean environment, stream
// its output to the client (status with the first byte) and the request body into it, both with
// backpressure, and end the response by how git exited. What to run, and whether, is backend.ts's.
import type { GitConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ProcessSlots } from './backend-limits.js';
import { NO_CACHE, REPORT_KEEP, type Exchange } from './exchange.js';
import { baseConfigArgs, gitEnv, servedConfigArgs, spawnGit, type GitRuntime } from './gitproc.js';

export type Service = 'upload-pack' | 'receive-pack';

/** What running a served git process needs from the backend. */
export interface ServedGit {
  rt: GitRuntime;
  cfg: GitConfig;
  log: Logger;
  slots: ProcessSlots;
}

/**
 * Take a process slot, spawn git, stream its output to the client (status with the first byte)
 * and, with feedBody, the rest of the request into it; end the response when git has exited.
 */
export async function runService(
d: ServedGit,
ex: Exchange,
  svc: Service,
  args: string[],
  repoDir: string,
  opts: {
    feedBody?: boolean;
    stdinFirst?: Buffer;
    contentType?: string;
    headers?: Record<string, string>;
    first?: (chunk: Buffer, atExit: boolean) => Buffer | undefined;
    /** after exit 0, given git's output (its first REPORT_KEEP bytes); false: the request failed */
    afterSuccess?: (out: Buffer) => Promise<boolean>;
  },
): Promise<void> {
  const wait = d.slots.acquire();
  ex.cancelWait = wait.cancel;
  const got = await wait.got;
  ex.cancelWait = () => {};
  if (ex.finished) {
    if (got) d.slots.release();
    return;
  }
  if (!got) {
    return ex.failAndDrain(503, 'too many git requests, try again later', 'busy', { 'retry-after': String(Math.min(60, d.cfg.queueWaitSeconds)) });
  }
  ex.slot = true;
  ex.touch();
  const headers = opts.headers ?? { 'content-type': opts.contentType ?? `application/x-git-${svc}-result`, ...NO_CACHE };
  const git = spawnGit(d.rt, [...baseConfigArgs(d.rt), ...servedConfigArgs(d.cfg, svc), ...args], {
    cwd: repoDir,
    env: gitEnv(d.rt, ex.req.header('git-protocol') || undefined),
  });
  ex.git = git;
  const stdout = git.child.stdout!;
  const stdin = git.child.stdin!;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const out = (chunk: Buffer): void => {
    if (opts.afterSuccess && keptBytes < REPORT_KEEP) {
      kept.push(Buffer.from(chunk.subarray(0, REPORT_KEEP - keptBytes)));
      keptBytes += chunk.length;
    }
    if (ex.finished) return;
    ex.head(200, headers);
    if (!ex.write(chunk)) stdout.pause();
  };
  ex.res.onDrain(() => stdout.resume());
  stdout.on('data', (chunk: Buffer) => {
    const c = opts.first ? opts.first(chunk, false) : chunk;
    if (c) out(c);
  });

  if (opts.stdinFirst) stdin.write(opts.stdinFirst);
  if (opts.feedBody && ex.body && !ex.bodyEnded) {
    let open = true;
    const closeIn = (): void => {
      open = false;
      ex.body?.resume(); // git stopped reading: what is left is dropped (up to the limit)
    };
    stdin.on('error', closeIn);
    stdin.on('close', closeIn);
    stdin.on('drain', () => ex.body?.resume());
    ex.sink = (chunk) => {
      if (open && !stdin.write(chunk)) ex.body!.pause();
    };
    ex.onBodyEnd = () => stdin.end();
    ex.body.resume();
  } else {
    stdin.end();
  }

  const r = await git.exited;
  if (ex.finished) return;
  if (opts.first) {
    const rest = opts.first(Buffer.alloc(0), true);
    if (rest && rest.length > 0) out(rest);
  }
  if (r.code !== 0 && !ex.headSent && opts.feedBody && ex.body && !ex.bodyEnded) {
    // git may have died of a body that is still being decoded (corrupt gzip): let that answer (400) win
    const body = ex.body;
    await new Promise<void>((resolve) => {
      body.once('end', resolve);
      body.once('error', resolve);
      body.once('close', resolve);
    });
    if (ex.finished) return;
  }
  if (r.code !== 0) {
    d.log.warn({ repoDir, svc, code: r.code, signal: r.signal, stderr: git.stderr().slice(0, 1000) }, 'git exited with an error');
    if (!ex.headSent) return ex.fail(500, `git ${svc} failed`, 'git_error');
    ex.res.end();
    return ex.finish('git_error');
  }
  ex.head(200, headers);
  let outcome = 'ok';
  if (opts.afterSuccess) {
    try {
      if (!(await opts.afterSuccess(Buffer.concat(kept)))) outcome = 'unpack_failed';
    } catch (e) {
      d.log.error({ err: e, repoDir }, 'after-push work failed');
    }
    if (ex.finished) return;
  }
  ex.res.end();
  ex.finish(outcome);
}
